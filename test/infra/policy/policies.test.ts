// The CrossGuard policy objects, driven with fake validation args (the pack itself is never constructed:
// `new PolicyPack` starts the analyzer gRPC server).
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
} from "@pulumi/policy";
import { describe, expect, it } from "vitest";

import {
  anyscaleConnectionInSecretStores,
  iamLeastPrivilege,
  noSecretsInPlainConfig,
  policies,
  s3BucketsHardened,
} from "../../../infra/policy/policies.js";

function resourceArgs(type: string, props: Record<string, unknown>): ResourceValidationArgs {
  return {
    type,
    props,
    urn: `urn:pulumi:dev::llm-platform::${type}::r`,
    name: "r",
    opts: {} as ResourceValidationArgs["opts"],
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T>() => ({}) as T,
    notApplicable: () => undefined as never,
  } as ResourceValidationArgs;
}

async function runResource(
  policy: ResourceValidationPolicy,
  args: ResourceValidationArgs,
): Promise<string[]> {
  const messages: string[] = [];
  const validations = policy.validateResource;
  for (const validate of Array.isArray(validations) ? validations : validations ? [validations] : []) {
    await validate(args, (m) => messages.push(m));
  }
  return messages;
}

describe("policy pack", () => {
  it("has valid, unique, mandatory policies", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of policies) {
      expect(p.name).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(p.enforcementLevel).toBe("mandatory");
    }
  });

  it("reports IAM, Helm and Anyscale violations through reportViolation", async () => {
    expect(
      await runResource(
        iamLeastPrivilege,
        resourceArgs("aws:iam/policy:Policy", {
          policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
        }),
      ),
    ).toHaveLength(1);
    expect(
      await runResource(
        noSecretsInPlainConfig,
        resourceArgs("kubernetes:helm.sh/v3:Release", { values: { jwtSecret: "x" } }),
      ),
    ).toHaveLength(1);
    expect(
      await runResource(
        anyscaleConnectionInSecretStores,
        resourceArgs("kubernetes:core/v1:ConfigMap", {
          data: { AIRFLOW_CONN_ANYSCALE_CONN: '{"conn_type":"anyscale","password":"p"}' },
        }),
      ),
    ).toHaveLength(1);
    expect(
      await runResource(
        noSecretsInPlainConfig,
        resourceArgs("kubernetes:helm.sh/v3:Release", { values: {} }),
      ),
    ).toEqual([]);
  });

  it("links S3 companions to buckets through propertyDependencies", async () => {
    const bucket = {
      type: "aws:s3/bucket:Bucket",
      urn: "urn:b",
      name: "b",
      props: {},
      propertyDependencies: {},
    };
    const dependent = (type: string, props: Record<string, unknown>) => ({
      type,
      urn: `urn:${type}`,
      name: type,
      props,
      propertyDependencies: { bucket: [bucket] },
    });
    const resources = [
      bucket,
      dependent("aws:s3/bucketVersioning:BucketVersioning", {
        versioningConfiguration: { status: "Enabled" },
      }),
      dependent("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      }),
      dependent("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
    ] as unknown as PolicyResource[];
    const violations: Array<[string, string | undefined]> = [];
    await s3BucketsHardened.validateStack(
      { resources, stackTags: new Map() } as unknown as StackValidationArgs,
      (m, urn) => violations.push([m, urn]),
    );
    expect(violations).toEqual([
      ['S3 bucket "b" lacks a BucketPolicy denying s3:* when aws:SecureTransport is false', "urn:b"],
    ]);
  });
});
