// The whole program under Pulumi mocks, for every committed stack file and both targets: which resources each
// stack declares and their key inputs, DAG delivery wired to the compute configs' versions, and the policy
// rules holding over the result.
import { describe, expect, it } from "vitest";

import { checkAnyscaleConnectionPlacement } from "../../../infra/policy/rules/anyscale.js";
import { checkPlainConfig } from "../../../infra/policy/rules/config.js";
import { checkIamResource } from "../../../infra/policy/rules/iam.js";
import { checkS3Buckets } from "../../../infra/policy/rules/s3.js";
import { revealed } from "../../../infra/plan/format.js";
import { mockVersionId } from "../../../infra/plan/mocks.js";
import { readWorkloadPackage } from "../../../infra/delivery/bundle.js";
import { PREVIEW_KEY_PATTERNS } from "../../../infra/preview/deployerRole.js";
import { ARTIFACT_ROOT } from "../../../pipelines/definitions/shared/platform.js";
import { loadDefinitions } from "../../../pipelines/src/definitions-loader.js";
import { renderAllSync } from "../../../pipelines/src/render/index.js";
import path from "node:path";
import { readdir } from "node:fs/promises";
import {
  attempt,
  P,
  planFile,
  planWith,
  REPO_ROOT,
  ruleResources,
  stackFileConfig,
  type Planned,
} from "./helpers.js";

const T = {
  env: "aws:mwaa/environment:Environment",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  bucket: "aws:s3/bucket:Bucket",
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  compute: "pulumi-nodejs:dynamic/anyscale:ComputeConfig",
  stackRef: "pulumi:pulumi:StackReference",
  release: "kubernetes:helm.sh/v3:Release",
  configMap: "kubernetes:core/v1:ConfigMap",
  namespace: "kubernetes:core/v1:Namespace",
};
const TIMEOUT = 120_000;

/** key → content of the S3 objects a plan uploads. */
function objects(plan: Planned): Record<string, string> {
  return Object.fromEntries(
    plan.byType(T.object).map((o) => [String(o.inputs["key"]), String(revealed(o.inputs["content"]))]),
  );
}

/** What the DAG files must be: the same renderer, with the versions the mocks assign (`<name>:1`). */
async function expectedDags(
  stack: string,
  prefix = "",
  artifactBucket?: string,
): Promise<Record<string, string>> {
  const defs = await loadDefinitions();
  const keys = ["llm-batch-cpu", "llm-finetune-gpu", "llm-serve-gpu"];
  const computeConfigs = Object.fromEntries(keys.map((k) => [k, `${stack}-${k}:1`]));
  const storageRoot =
    artifactBucket !== undefined ? { from: ARTIFACT_ROOT, to: `s3://${artifactBucket}` } : undefined;
  return Object.fromEntries(
    renderAllSync(defs, { computeConfigs, dagIdPrefix: prefix, ...(storageRoot ? { storageRoot } : {}) })
      .filter((f) => f.path.startsWith("dags/"))
      .map((f) => [f.path, f.content]),
  );
}

function policyViolations(plan: Planned): string[] {
  const rr = ruleResources(plan.resources);
  return [
    ...checkS3Buckets(rr).map((v) => v.message),
    ...rr.flatMap(checkIamResource),
    ...rr.flatMap(checkPlainConfig),
    ...rr.flatMap(checkAnyscaleConnectionPlacement),
  ];
}

describe("stack dev (Pulumi.dev.yaml, target mwaa)", () => {
  it(
    "creates the network, bucket, environment and uploads the rendered DAGs with the workload package",
    async () => {
      const plan = await planFile("dev");
      const env = plan.one(T.env).inputs;
      const file = stackFileConfig("dev")[`${P}:mwaa`] as Record<string, unknown>;
      expect(env["name"]).toBe("llm-platform-dev");
      expect(env["airflowVersion"]).toBe("3.3.1");
      expect(env["environmentClass"]).toBe(file["environmentClass"]);
      expect(env["maxWorkers"]).toBe(file["maxWorkers"]);
      expect(env["webserverAccessMode"]).toBe("PUBLIC_ONLY");
      expect(env["dagS3Path"]).toBe("dags/");
      expect(env["requirementsS3Path"]).toBe("requirements.txt");
      // The version of the uploaded requirements.txt object (content-derived in the mocks), nothing else.
      const req = plan.byType(T.object).find((o) => o.inputs["key"] === "requirements.txt")!;
      expect(env["requirementsS3ObjectVersion"]).toBe(mockVersionId(revealed(req.inputs["content"])));
      expect(plan.byType(T.vpc)).toHaveLength(1);
      expect(plan.byType(T.subnet)).toHaveLength(4);

      const uploaded = objects(plan);
      const requirements = uploaded["requirements.txt"]!;
      expect(requirements).toContain(
        '--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"',
      );
      expect(requirements).toMatch(/^astro-provider-anyscale==1\.3\.0$/m);

      // Every DAG equals the renderer's output for dev's compute-config versions.
      const dags = await expectedDags("dev");
      expect(Object.keys(dags).length).toBe(3);
      for (const [p, content] of Object.entries(dags)) expect(uploaded[p], p).toBe(content);
      expect(uploaded["dags/llm_finetune_deploy.py"]).toContain('"dev-llm-finetune-gpu:1"');
      // The workload package and the ignore file ride along; YAML reference copies sit outside dags/.
      const pkg = await readWorkloadPackage(path.join(REPO_ROOT, "pipelines/workloads/llm_workloads"));
      for (const [p, content] of Object.entries(pkg)) expect(uploaded[`dags/${p}`], p).toBe(content);
      expect(uploaded["dags/.airflowignore"]).toContain("llm_workloads/");
      // One YAML per job name in the goldens (the renderer's output for the definitions).
      const jobNames = (await readdir(path.join(REPO_ROOT, "test/golden/render/anyscale/jobs"))).sort();
      expect(jobNames.length).toBeGreaterThan(0);
      expect(
        Object.keys(uploaded)
          .filter((k) => k.startsWith("anyscale/jobs/"))
          .map((k) => k.slice("anyscale/jobs/".length))
          .sort(),
      ).toEqual(jobNames);

      // Compute configs: one per declared key, named per stack, with the spec from the file.
      const ccs = plan.byType(T.compute);
      expect(ccs.map((c) => c.inputs["name"]).sort()).toEqual([
        "dev-llm-batch-cpu",
        "dev-llm-finetune-gpu",
        "dev-llm-serve-gpu",
      ]);
      expect(plan.outputs["computeConfigs"]).toEqual({
        "llm-batch-cpu": "dev-llm-batch-cpu:1",
        "llm-finetune-gpu": "dev-llm-finetune-gpu:1",
        "llm-serve-gpu": "dev-llm-serve-gpu:1",
      });
      expect(plan.outputs["dagsBucketName"]).toBe(plan.one(T.bucket).id);
      expect(policyViolations(plan)).toEqual([]);

      // Every IAM statement of the execution role, as deployed for dev.
      const policy = JSON.parse(String(plan.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])) as {
        Statement: Array<{ Sid: string; Resource?: string | string[] }>;
      };
      const bySid = Object.fromEntries(policy.Statement.map((st) => [st.Sid, st]));
      expect(Object.keys(bySid).sort()).toEqual(
        [
          "AccountWideReadsAndMetrics",
          "ArtifactBucketList",
          "ArtifactObjects",
          "CeleryQueue",
          "CeleryQueueAwsOwnedKey",
          "DenyListAllMyBuckets",
          "PublishMetrics",
          "ReadConnectionSecrets",
          "ReadSourceBucket",
          "WriteEnvironmentLogs",
        ].sort(),
      );
      const resources = (sid: string) => [bySid[sid]!.Resource].flat();
      expect(resources("ReadConnectionSecrets")).toEqual([
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/connections/llm-platform-dev/*",
      ]);
      expect(resources("ArtifactObjects")).toEqual(["arn:aws:s3:::llm-platform-artifacts/*"]);
      expect(resources("WriteEnvironmentLogs")).toEqual([
        "arn:aws:logs:us-east-1:123456789012:log-group:airflow-llm-platform-dev-*",
      ]);
      expect(resources("PublishMetrics")).toEqual([
        "arn:aws:airflow:us-east-1:123456789012:environment/llm-platform-dev",
      ]);
    },
    TIMEOUT,
  );

  it(
    "stores each connection as a Secrets Manager secret under airflow/connections/<env>/",
    async () => {
      const plan = await planWith("dev", (raw, secrets) => {
        raw[`${P}:anyscaleApiToken`] = "tok";
        raw[`${P}:slackApiToken`] = "xoxb-1";
        raw[`${P}:airflowConnections`] = JSON.stringify({
          zendesk_default: { conn_type: "zendesk", password: "z" },
        });
        for (const k of ["anyscaleApiToken", "slackApiToken", "airflowConnections"]) secrets.add(`${P}:${k}`);
      });
      expect(
        plan
          .byType(T.secret)
          .map((s) => s.inputs["name"])
          .sort(),
      ).toEqual([
        "airflow/connections/llm-platform-dev/anyscale_conn",
        "airflow/connections/llm-platform-dev/slack_api_default",
        "airflow/connections/llm-platform-dev/zendesk_default",
      ]);
      const values = plan
        .byType(T.secretVersion)
        .map((v) => JSON.parse(String(revealed(v.inputs["secretString"]))) as Record<string, unknown>);
      expect(values).toContainEqual({ conn_type: "anyscale", password: "tok" });
      expect(values).toContainEqual({ conn_type: "zendesk", password: "z" });
      const options = revealed(plan.one(T.env).inputs["airflowConfigurationOptions"]) as Record<
        string,
        string
      >;
      expect(options["secrets.backend"]).toBe(
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
      );
      expect(JSON.parse(options["secrets.backend_kwargs"]!)).toMatchObject({
        connections_prefix: "airflow/connections/llm-platform-dev",
      });
    },
    TIMEOUT,
  );
});

describe("stack prod (Pulumi.prod.yaml, target mwaa)", () => {
  it(
    "uses the existing VPC and subnets, a private UI and the production sizing",
    async () => {
      const plan = await planFile("prod");
      const file = stackFileConfig("prod")[`${P}:mwaa`] as { network: { privateSubnetIds: string[] } };
      const env = plan.one(T.env).inputs;
      expect(plan.byType(T.vpc)).toHaveLength(0);
      expect((env["networkConfiguration"] as { subnetIds: string[] }).subnetIds).toEqual(
        file.network.privateSubnetIds,
      );
      expect(env["environmentClass"]).toBe("mw1.medium");
      expect(env["webserverAccessMode"]).toBe("PRIVATE_ONLY");
      expect(env["weeklyMaintenanceWindowStart"]).toBe("SUN:03:00");
      // prod's artefacts live in its own bucket: the DAGs are rendered against it and the role may use only it.
      const dags = Object.entries(objects(plan)).filter(([k]) => /^dags\/[^/]+\.py$/.test(k));
      expect(dags.length).toBe(3);
      for (const [k, content] of dags) {
        expect(content, k).not.toMatch(/s3:\/\/llm-platform-artifacts(?!-prod)/);
      }
      expect(dags.some(([, c]) => c.includes("s3://llm-platform-artifacts-prod/"))).toBe(true);
      const policy = String(plan.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"]);
      expect(policy).toContain("arn:aws:s3:::llm-platform-artifacts-prod/*");
      expect(policy).not.toMatch(/llm-platform-artifacts(?!-prod)/);
      expect(plan.byType(T.compute).every((c) => String(c.inputs["name"]).startsWith("prod-"))).toBe(true);
      expect(policyViolations(plan)).toEqual([]);
    },
    TIMEOUT,
  );
});

describe("stack k8s-dev (Pulumi.k8s-dev.yaml, target kubernetes)", () => {
  it(
    "installs the chart into its namespace with the rendered DAGs as a flat ConfigMap and no AWS resources",
    async () => {
      const plan = await planFile("k8s-dev");
      expect(plan.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
      expect((plan.one(T.namespace).inputs["metadata"] as { name: string }).name).toBe("airflow-k8s-dev");
      const release = plan.one(T.release).inputs;
      expect(release["version"]).toBe("1.22.0");
      const values = revealed(release["values"]) as {
        executor: string;
        images: { airflow: { repository: string; tag: string } };
        volumes: Array<{ name: string; secret?: { secretName: string } }>;
      };
      // Image and executor from Pulumi.k8s-dev.yaml; the connections only by Secret reference (a volume).
      expect(values.images.airflow).toMatchObject({
        repository: "ghcr.io/acme/llm-platform-airflow",
        tag: "3.3.1-llm1",
      });
      expect(values.executor).toBe("LocalExecutor");
      expect(values.volumes).toContainEqual({
        name: "connections",
        secret: { secretName: "airflow-pulumi-connections" },
      });
      const data = revealed(plan.one(T.configMap).inputs["data"]) as Record<string, string>;
      const dags = await expectedDags("k8s-dev");
      for (const [p, content] of Object.entries(dags)) expect(data[p.slice("dags/".length)], p).toBe(content);
      // Only the DAGs folder's flat files: llm_workloads is in the image (infra/kubernetes/image/Dockerfile).
      expect(Object.keys(data).sort()).toEqual(
        [".airflowignore", ...Object.keys(dags).map((p) => p.slice("dags/".length))].sort(),
      );
      expect(policyViolations(plan)).toEqual([]);
    },
    TIMEOUT,
  );
});

describe("stack previews (Pulumi.previews.yaml, the preview host)", () => {
  it(
    "runs no DAGs of its own and creates a deployer role that reaches only preview keys of its own bucket",
    async () => {
      const plan = await planFile("previews");
      const uploaded = Object.keys(objects(plan));
      expect(uploaded.filter((k) => k.startsWith("dags/") && !k.startsWith("dags/llm_workloads/"))).toEqual([
        "dags/.airflowignore",
      ]);
      expect(plan.outputs["dagIds"]).toEqual([]);
      const roles = plan.byType("aws:iam/role:Role");
      const deployer = roles.find((r) => r.name === "preview-deployer");
      expect(deployer).toBeDefined();
      const trust = JSON.parse(String(deployer!.inputs["assumeRolePolicy"])) as {
        Statement: { Condition: Record<string, Record<string, string>> }[];
      };
      expect(trust.Statement[0]!.Condition["StringEquals"]).toEqual({
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:acme/llm-platform:environment:preview",
      });
      const policy = plan.byType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "preview-deployer");
      const doc = JSON.parse(String(policy!.inputs["policy"])) as {
        Statement: { Effect: string; Resource: string | string[] }[];
      };
      const hostBucket = `arn:aws:s3:::${String(plan.outputs["dagsBucketName"])}`;
      const resources = doc.Statement.flatMap((st) => [st.Resource].flat());
      expect(doc.Statement.every((st) => st.Effect === "Allow")).toBe(true);
      // Only the host bucket and, inside it, only preview-prefixed keys: nothing of dev's.
      expect(resources.sort()).toEqual(
        [hostBucket, ...PREVIEW_KEY_PATTERNS.map((k) => `${hostBucket}/${k}`)].sort(),
      );
      expect(policyViolations(plan)).toEqual([]);
    },
    TIMEOUT,
  );
});

describe("preview stack pr-123", () => {
  it(
    "mwaa: DAG-only preview into the preview host's bucket (never dev's); prefixed, paused DAGs; nothing billed by the hour",
    async () => {
      const plan = await planFile("pr-123");
      for (const t of [
        T.env,
        T.bucket,
        T.vpc,
        T.secret,
        "aws:ec2/natGateway:NatGateway",
        "aws:iam/role:Role",
      ]) {
        expect(plan.byType(t), t).toEqual([]);
      }
      expect(plan.one(T.stackRef).inputs["name"]).toBe("plan-org/llm-platform/previews");
      const uploaded = objects(plan);
      const buckets = new Set(plan.byType(T.object).map((o) => o.inputs["bucket"]));
      expect([...buckets]).toEqual(["llm-platform-previews-dags-0000000"]);
      // Every key is one the preview deployer role may write, and the artefacts go to the previews' bucket.
      const patterns = PREVIEW_KEY_PATTERNS.map((g) => new RegExp(`^${g.replace("*", ".*")}$`));
      for (const k of Object.keys(uploaded))
        expect(
          patterns.some((re) => re.test(k)),
          k,
        ).toBe(true);
      const allContent = Object.values(uploaded).join("\n");
      expect(allContent).toContain("s3://llm-platform-artifacts-previews/");
      expect(allContent).not.toMatch(/s3:\/\/llm-platform-artifacts\//);
      const dags = await expectedDags("pr-123", "pr_123__", "llm-platform-artifacts-previews");
      expect(
        Object.keys(uploaded)
          .filter((k) => k.startsWith("dags/"))
          .sort(),
      ).toEqual(Object.keys(dags).sort());
      for (const [p, content] of Object.entries(dags)) {
        expect(uploaded[p], p).toBe(content);
        expect(content).toContain("is_paused_upon_creation=True");
      }
      expect(uploaded["dags/pr_123__llm_finetune_deploy.py"]).toContain('"pr-123-llm-finetune-gpu:1"');
      expect(
        Object.keys(uploaded).every((k) => k.startsWith("dags/pr_123__") || k.startsWith("anyscale/")),
      ).toBe(true);
      expect(plan.outputs["dagIds"]).toEqual(
        Object.keys(dags)
          .map((p) => p.slice(5, -3))
          .sort(),
      );
    },
    TIMEOUT,
  );

  it(
    "kubernetes: a namespace per PR with preview settings",
    async () => {
      const plan = await planWith("pr-123", (raw, secrets) => {
        raw[`${P}:target`] = "kubernetes";
        delete raw[`${P}:mwaa`];
        raw[`${P}:anyscaleApiToken`] = "tok";
        secrets.add(`${P}:anyscaleApiToken`);
      });
      expect((plan.one(T.namespace).inputs["metadata"] as { name: string }).name).toBe("airflow-pr-123");
      const values = revealed(plan.one(T.release).inputs["values"]) as Record<string, unknown>;
      expect(values["executor"]).toBe("LocalExecutor");
      const data = revealed(plan.one(T.configMap).inputs["data"]) as Record<string, string>;
      expect(Object.keys(data)).toContain("pr_123__llm_data_update.py");
    },
    TIMEOUT,
  );
});

describe("the program fails before declaring anything", () => {
  it.each([
    [
      "an unknown target",
      (raw: Record<string, string>) => (raw[`${P}:target`] = "ecs"),
      /llm-platform:target: must be "mwaa" or "kubernetes"/,
    ],
    [
      "a compute config the pipelines reference but the stack does not declare",
      (raw: Record<string, string>) => {
        const cc = JSON.parse(raw[`${P}:computeConfigs`]!) as Record<string, unknown>;
        delete cc["llm-serve-gpu"];
        raw[`${P}:computeConfigs`] = JSON.stringify(cc);
      },
      /llm-platform:computeConfigs\.llm-serve-gpu is missing: pipelines\/definitions\/llm_finetune_deploy\.ts/,
    ],
    [
      "the Anyscale token in plain text",
      (raw: Record<string, string>) => (raw[`${P}:slackApiToken`] = "xoxb-plain"),
      /llm-platform:slackApiToken is a secret but is stored in plain text/,
    ],
  ])(
    "on %s",
    async (_name, edit, want) => {
      const { error, registered } = await attempt("dev", (raw) => edit(raw));
      expect(error?.message).toMatch(want);
      expect(registered).toEqual([]);
    },
    TIMEOUT,
  );
});

describe("DAG delivery granularity", () => {
  it("a change reaches only the files it affects; the environment's inputs stay the same", async () => {
    const before = await planFile("dev");
    const after = await planWith("dev", (raw) => {
      const cc = JSON.parse(raw[`${P}:computeConfigs`]!) as Record<string, { name?: string }>;
      cc["llm-serve-gpu"]!.name = "dev-llm-serve-gpu-v2";
      raw[`${P}:computeConfigs`] = JSON.stringify(cc);
    });
    const a = objects(before);
    const b = objects(after);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    const changed = Object.keys(a)
      .filter((k) => a[k] !== b[k])
      .sort();
    // Exactly the files that mention the serving compute config: the DAGs that roll out the service and its YAML.
    const mentions = Object.keys(a)
      .filter((k) => a[k]!.includes("dev-llm-serve-gpu:1"))
      .sort();
    expect(changed).toEqual(mentions);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.length).toBeLessThan(Object.keys(a).length / 4);
    expect(JSON.stringify(after.one(T.env).inputs)).toBe(JSON.stringify(before.one(T.env).inputs));
  }, 180_000);
});
