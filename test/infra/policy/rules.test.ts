// Table-driven tests of every policy rule as a plain function.
import { describe, expect, it } from "vitest";

import { checkAnyscaleConnectionPlacement } from "../../../infra/policy/rules/anyscale.js";
import {
  checkHelmValues,
  checkMwaaConfigurationOptions,
  checkPlainConfig,
} from "../../../infra/policy/rules/config.js";
import { checkIamPolicyDocument, checkIamResource } from "../../../infra/policy/rules/iam.js";
import { checkS3Buckets } from "../../../infra/policy/rules/s3.js";
import type { RuleResource } from "../../../infra/policy/rules/types.js";

const res = (
  type: string,
  name: string,
  props: Record<string, unknown>,
  deps?: Record<string, string[]>,
): RuleResource => ({
  urn: `urn:${name}`,
  type,
  name,
  props,
  ...(deps ? { propertyDependencies: deps } : {}),
});

const bucket = res("aws:s3/bucket:Bucket", "dags", { bucket: "dags-bucket" });
const versioning = res("aws:s3/bucketVersioning:BucketVersioning", "dags-versioning", {
  bucket: "dags-bucket",
  versioningConfiguration: { status: "Enabled" },
});
const sse = res(
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "dags-sse",
  { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] },
  { bucket: ["urn:dags"] }, // linked by dependency: the bucket name is unknown during preview
);
const pab = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "dags-pab", {
  bucket: "dags-bucket",
  blockPublicAcls: true,
  blockPublicPolicy: true,
  ignorePublicAcls: true,
  restrictPublicBuckets: true,
});
const tlsPolicy = res("aws:s3/bucketPolicy:BucketPolicy", "dags-tls", {
  bucket: "dags-bucket",
  policy: JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: ["arn:aws:s3:::dags-bucket", "arn:aws:s3:::dags-bucket/*"],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  }),
});

describe("checkS3Buckets", () => {
  const complete = [bucket, versioning, sse, pab, tlsPolicy];
  it.each<[string, RuleResource[], string[]]>([
    ["fully hardened bucket", complete, []],
    ["no versioning", complete.filter((r) => r !== versioning), ["versioning"]],
    [
      "versioning suspended",
      complete.map((r) =>
        r === versioning
          ? { ...r, props: { ...r.props, versioningConfiguration: { status: "Suspended" } } }
          : r,
      ),
      ["versioning"],
    ],
    ["no encryption", complete.filter((r) => r !== sse), ["default encryption"]],
    [
      "public access partly allowed",
      complete.map((r) => (r === pab ? { ...r, props: { ...r.props, restrictPublicBuckets: false } } : r)),
      ["BucketPublicAccessBlock"],
    ],
    ["no TLS-only policy", complete.filter((r) => r !== tlsPolicy), ["aws:SecureTransport"]],
    [
      "companions of another bucket do not count",
      [
        bucket,
        ...[versioning, pab, tlsPolicy].map((r) => ({ ...r, props: { ...r.props, bucket: "other" } })),
        sse,
      ],
      ["versioning", "BucketPublicAccessBlock", "aws:SecureTransport"],
    ],
    [
      "bare bucket",
      [bucket],
      ["versioning", "default encryption", "BucketPublicAccessBlock", "aws:SecureTransport"],
    ],
  ])("%s", (_label, given, wantFragments) => {
    const got = checkS3Buckets(given);
    expect(got).toHaveLength(wantFragments.length);
    wantFragments.forEach((fragment, i) => expect(got[i]?.message).toContain(fragment));
    for (const v of got) expect(v.urn).toBe("urn:dags");
  });
});

const doc = (...Statement: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const SM_OK = "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/connections/*";

describe("checkIamPolicyDocument", () => {
  it.each<[string, unknown, string[]]>([
    [
      "the MWAA execution role's documented wildcards",
      doc(
        {
          Effect: "Allow",
          Action: ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
          Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        },
        {
          Effect: "Allow",
          Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          NotResource: "arn:aws:kms:*:123456789012:key/*",
        },
        { Effect: "Allow", Action: ["logs:DescribeLogGroups", "cloudwatch:PutMetricData"], Resource: "*" },
      ),
      [],
    ],
    ["action *", doc({ Effect: "Allow", Action: "*", Resource: "*" }), ['wildcard action "*"']],
    [
      "service wildcard",
      doc({ Sid: "S3All", Effect: "Allow", Action: "s3:*", Resource: "*" }),
      ['statement S3All: wildcard action "s3:*"'],
    ],
    [
      "undocumented wildcard",
      doc({ Effect: "Allow", Action: "s3:Put*", Resource: "*" }),
      ['wildcard action "s3:Put*"'],
    ],
    ["NotAction allow", doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" }), ["NotAction"]],
    ["deny with wildcard is fine", doc({ Effect: "Deny", Action: "*", Resource: "*" }), []],
    [
      "secrets scoped to connections",
      doc({
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: SM_OK,
      }),
      [],
    ],
    [
      "secrets on every secret",
      doc({ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "*" }),
      ['secretsmanager access to "*"'],
    ],
    [
      "secrets on variables prefix",
      doc({
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: SM_OK.replace("connections", "variables"),
      }),
      ["only airflow/connections/*"],
    ],
    [
      "secretsmanager:*",
      doc({ Effect: "Allow", Action: "secretsmanager:*", Resource: SM_OK }),
      ['wildcard action "secretsmanager:*"'],
    ],
    [
      "a single statement object (not a list)",
      JSON.stringify({ Statement: { Effect: "Allow", Action: "ec2:*", Resource: "*" } }),
      ["ec2:*"],
    ],
    ["unknown during preview", undefined, []],
  ])("%s", (_label, given, wantFragments) => {
    const got = checkIamPolicyDocument(given);
    expect(got).toHaveLength(wantFragments.length);
    wantFragments.forEach((fragment, i) => expect(got[i]).toContain(fragment));
  });

  it("reads inline policies of roles and ignores the trust policy", () => {
    const role = res("aws:iam/role:Role", "exec", {
      assumeRolePolicy: doc({
        Effect: "Allow",
        Principal: { Service: "airflow.amazonaws.com" },
        Action: "sts:AssumeRole",
      }),
      inlinePolicies: [{ name: "p", policy: doc({ Effect: "Allow", Action: "sqs:*", Resource: "*" }) }],
    });
    expect(checkIamResource(role)).toEqual(['statement #0: wildcard action "sqs:*" is not allowed']);
    expect(
      checkIamResource(
        res("aws:iam/rolePolicy:RolePolicy", "rp", {
          policy: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
        }),
      ),
    ).toEqual([]);
  });
});

describe("checkMwaaConfigurationOptions", () => {
  it.each<[string, unknown, number]>([
    [
      "secrets backend config",
      {
        "secrets.backend": "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        "secrets.backend_kwargs": JSON.stringify({
          connections_prefix: "airflow/connections",
          variables_prefix: null,
        }),
        "core.dag_file_processor_timeout": "150",
      },
      0,
    ],
    ["fernet key literal", { "core.fernet_key": "abc" }, 1],
    ["connection with password in a value", { "custom.conn": "postgresql://u:p@h/db" }, 1],
    ["slack webhook in a value", { "alerts.url": "https://hooks.slack.com/services/T1/B2/c3d4" }, 1],
    ["absent", undefined, 0],
  ])("%s", (_label, given, wantCount) => {
    expect(checkMwaaConfigurationOptions(given)).toHaveLength(wantCount);
  });
});

describe("checkHelmValues", () => {
  it.each<[string, unknown, string[]]>([
    [
      "secrets by reference",
      {
        jwtSecretName: "k",
        data: { metadataSecretName: "m" },
        secret: [{ envName: "AIRFLOW_CONN_A", secretName: "c", secretKey: "AIRFLOW_CONN_A" }],
      },
      [],
    ],
    ["literal api secret key", { apiSecretKey: "abc" }, ["values.apiSecretKey"]],
    [
      "literal DB password",
      { data: { metadataConnection: { user: "u", pass: "p" } } },
      ["values.data.metadataConnection.pass"],
    ],
    [
      "connection as plain env",
      { env: [{ name: "AIRFLOW_CONN_ANYSCALE_CONN", value: '{"conn_type":"anyscale","password":"t"}' }] },
      ["values.env[0].value"],
    ],
    ["extraSecrets", { extraSecrets: { "x-secret": { stringData: "A: b" } } }, ["extraSecrets"]],
  ])("%s", (_label, given, wantFragments) => {
    const got = checkHelmValues(given).join("\n");
    if (wantFragments.length === 0) expect(got).toBe("");
    for (const fragment of wantFragments) expect(got).toContain(fragment);
  });

  it("is applied to Helm releases and charts, not to other types", () => {
    const values = { apiSecretKey: "abc" };
    expect(checkPlainConfig(res("kubernetes:helm.sh/v3:Release", "r", { values }))).toHaveLength(1);
    expect(checkPlainConfig(res("kubernetes:helm.sh/v4:Chart", "c", { values }))).toHaveLength(1);
    expect(checkPlainConfig(res("kubernetes:core/v1:ConfigMap", "cm", { values }))).toEqual([]);
  });
});

describe("checkAnyscaleConnectionPlacement", () => {
  const conn = '{"conn_type": "anyscale", "password": "secret-token"}';
  it.each<[string, RuleResource, number]>([
    [
      "Secrets Manager secret version",
      res("aws:secretsmanager/secretVersion:SecretVersion", "sv", { secretString: conn }),
      0,
    ],
    [
      "Kubernetes Secret",
      res("kubernetes:core/v1:Secret", "s", { stringData: { AIRFLOW_CONN_ANYSCALE_CONN: conn } }),
      0,
    ],
    [
      "ConfigMap",
      res("kubernetes:core/v1:ConfigMap", "cm", { data: { AIRFLOW_CONN_ANYSCALE_CONN: conn } }),
      1,
    ],
    ["SSM parameter", res("aws:ssm/parameter:Parameter", "p", { value: "anyscale://:tok@" }), 1],
    [
      "MWAA options",
      res("aws:mwaa/environment:Environment", "env", {
        airflowConfigurationOptions: { "anyscale.cli_token": "aph0_0123456789abcdefXYZ" },
      }),
      1,
    ],
    [
      "Helm env literal",
      res("kubernetes:helm.sh/v3:Release", "r", {
        values: { env: [{ name: "ANYSCALE_CLI_TOKEN", value: "x" }] },
      }),
      1,
    ],
    [
      "DAG file naming the conn id only",
      res("aws:s3/bucketObjectv2:BucketObjectv2", "dag", {
        content: 'SubmitAnyscaleJob(conn_id="anyscale_conn")',
      }),
      0,
    ],
    [
      "Helm secret reference",
      res("kubernetes:helm.sh/v3:Release", "r2", {
        values: {
          secret: [
            {
              envName: "AIRFLOW_CONN_ANYSCALE_CONN",
              secretName: "c",
              secretKey: "AIRFLOW_CONN_ANYSCALE_CONN",
            },
          ],
        },
      }),
      0,
    ],
  ])("%s", (_label, given, wantCount) => {
    const got = checkAnyscaleConnectionPlacement(given);
    expect(got).toHaveLength(wantCount);
    expect(got.join()).not.toContain("secret-token");
  });
});
