// Plain configuration that must carry no secrets: MWAA `airflowConfigurationOptions` and Helm values.
import { describeFindings, findSecretLikeValues } from "./secretPatterns.js";
import type { RuleResource } from "./types.js";

export const MWAA_ENVIRONMENT_TYPE = "aws:mwaa/environment:Environment";
export const HELM_TYPES = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"];

/**
 * MWAA shows configuration options in GetEnvironment and the console, so secrets belong in Secrets
 * Manager (the secrets backend), never here.
 */
export function checkMwaaConfigurationOptions(options: unknown): string[] {
  const findings = findSecretLikeValues(options ?? {}, "airflowConfigurationOptions");
  return findings.length > 0
    ? [`MWAA airflowConfigurationOptions contain secret-looking values: ${describeFindings(findings)}`]
    : [];
}

/**
 * Helm values are stored in the Helm release Secret and in Pulumi state; secrets must come from
 * Kubernetes Secrets referenced by name (`*SecretName`, `secret:`), and the chart's own
 * `extraSecrets` (values-embedded secrets) are not allowed.
 */
export function checkHelmValues(values: unknown): string[] {
  const problems: string[] = [];
  const findings = findSecretLikeValues(values ?? {}, "values");
  if (findings.length > 0)
    problems.push(`Helm values contain secret-looking values: ${describeFindings(findings)}`);
  const extraSecrets = (values as Record<string, unknown> | undefined)?.["extraSecrets"];
  if (extraSecrets !== undefined && extraSecrets !== null && Object.keys(extraSecrets).length > 0) {
    problems.push(
      "Helm values use `extraSecrets`; create Kubernetes Secrets outside the chart and reference them",
    );
  }
  return problems;
}

/** Dispatch by type: the MWAA and Helm rules for one resource. */
export function checkPlainConfig(resource: RuleResource): string[] {
  if (resource.type === MWAA_ENVIRONMENT_TYPE) {
    return checkMwaaConfigurationOptions(resource.props["airflowConfigurationOptions"]);
  }
  if (HELM_TYPES.includes(resource.type)) return checkHelmValues(resource.props["values"]);
  return [];
}
