// CrossGuard policies built from the plain rule functions in ./rules (which the tests call directly).
// Kept apart from index.ts because `new PolicyPack(...)` starts the policy gRPC server immediately.
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";

import { checkAnyscaleConnectionPlacement } from "./rules/anyscale.js";
import { checkPlainConfig } from "./rules/config.js";
import { checkIamResource } from "./rules/iam.js";
import { checkS3Buckets } from "./rules/s3.js";
import type { RuleResource } from "./rules/types.js";

/** CrossGuard's stack resource → the rules' view (property dependencies as URNs). */
export function toRuleResource(resource: PolicyResource): RuleResource {
  const propertyDependencies: Record<string, string[]> = {};
  for (const [prop, deps] of Object.entries(resource.propertyDependencies ?? {})) {
    propertyDependencies[prop] = deps.map((d) => d.urn);
  }
  return {
    urn: resource.urn,
    type: resource.type,
    name: resource.name,
    props: resource.props,
    propertyDependencies,
  };
}

function fromArgs(args: ResourceValidationArgs): RuleResource {
  return { urn: args.urn, type: args.type, name: args.name, props: args.props };
}

export const s3BucketsHardened: StackValidationPolicy = {
  name: "s3-buckets-versioned-encrypted-private-tls",
  description: "S3 buckets are versioned, encrypted by default, public-access-blocked and TLS-only.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const v of checkS3Buckets(args.resources.map(toRuleResource))) reportViolation(v.message, v.urn);
  },
};

export const iamLeastPrivilege: ResourceValidationPolicy = {
  name: "iam-no-wildcards-secrets-scoped",
  description:
    "IAM statements use no wildcard actions beyond MWAA's documented ones; Secrets Manager only on airflow/connections/*.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const problem of checkIamResource(fromArgs(args))) reportViolation(problem);
  },
};

export const noSecretsInPlainConfig: ResourceValidationPolicy = {
  name: "no-secrets-in-mwaa-config-or-helm-values",
  description:
    "MWAA airflowConfigurationOptions and Helm values hold no secret-looking values; secrets come from Secrets Manager or Kubernetes Secrets.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const problem of checkPlainConfig(fromArgs(args))) reportViolation(problem);
  },
};

export const anyscaleConnectionInSecretStores: ResourceValidationPolicy = {
  name: "anyscale-connection-only-in-secret-stores",
  description:
    "The Anyscale connection/token appears only in Secrets Manager secret versions or Kubernetes Secrets.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const problem of checkAnyscaleConnectionPlacement(fromArgs(args))) reportViolation(problem);
  },
};

/** Every policy of the pack, in a stable order. */
export const policies = [
  s3BucketsHardened,
  iamLeastPrivilege,
  noSecretsInPlainConfig,
  anyscaleConnectionInSecretStores,
];
