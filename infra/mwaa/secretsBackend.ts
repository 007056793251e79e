// MWAA `airflowConfigurationOptions`: the Secrets Manager backend that delivers the connections, plus the
// caller's extra options. These values are shown by GetEnvironment and in the console, so they name where
// secrets live, never a secret itself.
import { describeFindings, findSecretLikeValues } from "../policy/rules/secretPatterns.js";
import { fail } from "./errors.js";

/** Airflow's Secrets Manager backend (apache-airflow-providers-amazon). */
export const SECRETS_MANAGER_BACKEND =
  "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend";

/** Every connection prefix starts here; the policy pack only allows secret reads below it. */
export const CONNECTIONS_PREFIX_ROOT = "airflow/connections/";

/** Keys MWAA accepts in `airflowConfigurationOptions` (CreateEnvironment API). */
export const MWAA_CONFIG_KEY = /^[a-z]+([a-z0-9._]*[a-z0-9_]+)?$/;
const MWAA_CONFIG_KEY_MAX = 64;
const MWAA_CONFIG_VALUE_MAX = 65536;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** The option keys the backend occupies; callers may not override them. */
export const SECRETS_BACKEND_KEYS = [
  "secrets.backend",
  "secrets.backend_kwargs",
  "workers.secrets_backend",
  "workers.secrets_backend_kwargs",
] as const;

/** Escape a string for use as a literal inside a regular expression. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `^(a|b)$` over the sorted, escaped connection ids: only these ids are looked up in Secrets Manager. */
export function connectionsLookupPattern(connIds: readonly string[]): string {
  const ids = [...new Set(connIds)].sort().map(escapeRegex);
  return `^(${ids.join("|")})$`;
}

/**
 * The backend options. `variables_prefix`/`config_prefix` are null so Variable and config lookups never
 * call Secrets Manager (each call is billed and adds latency to DAG parsing), and the lookup pattern sends
 * only our connection ids there (`aws_default` and the like fall through to the environment). Airflow 3
 * workers (the Task SDK) resolve connections with their own `[workers] secrets_backend` setting, so the
 * same two values are set there too; MWAA's own defaults for both are replaced by ours.
 */
export function secretsBackendOptions(prefix: string, connIds: readonly string[]): Record<string, string> {
  const kwargs = JSON.stringify({
    connections_prefix: prefix,
    variables_prefix: null,
    config_prefix: null,
    connections_lookup_pattern: connectionsLookupPattern(connIds),
  });
  return {
    "secrets.backend": SECRETS_MANAGER_BACKEND,
    "secrets.backend_kwargs": kwargs,
    "workers.secrets_backend": SECRETS_MANAGER_BACKEND,
    "workers.secrets_backend_kwargs": kwargs,
  };
}

/**
 * The backend options merged with `extra` (sorted by key). Each extra key must match MWAA's key pattern
 * and not override the backend; values must be printable ASCII and not look like secrets. Throws a
 * `MwaaArgsError` naming `extraAirflowConfigurationOptions.<key>`.
 */
export function airflowConfigurationOptions(
  prefix: string,
  connIds: readonly string[],
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const field = "extraAirflowConfigurationOptions";
  for (const [key, value] of Object.entries(extra)) {
    if (!MWAA_CONFIG_KEY.test(key) || key.length > MWAA_CONFIG_KEY_MAX) {
      fail(
        `\`${field}\` key ${JSON.stringify(key)} must look like "core.dag_file_processor_timeout" (lowercase section.option, ≤ ${MWAA_CONFIG_KEY_MAX} chars)`,
      );
    }
    if ((SECRETS_BACKEND_KEYS as readonly string[]).includes(key)) {
      fail(`\`${field}.${key}\` is set by the component (the connections' secrets backend); remove it`);
    }
    if (typeof value !== "string" || !PRINTABLE_ASCII.test(value) || value.length > MWAA_CONFIG_VALUE_MAX) {
      fail(`\`${field}.${key}\` must be printable ASCII of at most ${MWAA_CONFIG_VALUE_MAX} characters`);
    }
  }
  const findings = findSecretLikeValues(extra, field);
  if (findings.length > 0) {
    fail(
      `secret-looking values in \`${field}\` (${describeFindings(findings)}): MWAA shows these options in its console and API; pass secrets as connections (Secrets Manager)`,
    );
  }
  const merged: Record<string, string> = { ...extra, ...secretsBackendOptions(prefix, connIds) };
  return Object.fromEntries(
    Object.keys(merged)
      .sort()
      .map((k) => [k, merged[k]!]),
  );
}
