// Pulumi mocks for `npm run plan` and the program tests: every registration is recorded, and each resource
// gets the provider-computed outputs the program reads (ARNs, version ids, compute-config `name:version`,
// the preview base stack's outputs), with fixed, obviously fake values so the output is deterministic.
import { createHash } from "node:crypto";

import * as pulumi from "@pulumi/pulumi";

import { mapSecrets } from "./format.js";

/** Account, region and zones the mocks report (documentation values, not a real account). */
export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_REGION = "us-east-1";
export const MOCK_ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"];

/** A registered resource as the engine saw it (inputs still carry Pulumi's secret markers). */
export interface PlannedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** The id the mock gave it (a bucket's id is its name, as in AWS). */
  readonly id: string;
}

/** Everything the program asked the engine for. */
export interface MockRecord {
  readonly created: PlannedResource[];
  /** Invokes as `token` → inputs, in call order. */
  readonly invoked: Array<{ readonly token: string; readonly inputs: Record<string, unknown> }>;
}

/** What the mocked base stack of a preview exports. */
export function previewBaseOutputs(stackName: string): Record<string, unknown> {
  const short = stackName.split("/").pop() ?? stackName;
  return { dagsBucketName: `llm-platform-${short}-dags-0000000`, target: "mwaa" };
}

/** The version id the mock gives an S3 object: derived from its content, as a new upload gets a new id. */
export function mockVersionId(content: unknown): string {
  return `v-${createHash("sha256")
    .update(JSON.stringify(content ?? null))
    .digest("hex")
    .slice(0, 12)}`;
}

/** Provider-computed outputs and the id of one registration. */
function computed(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): { id: string; state: Record<string, unknown> } {
  // Auto-named resources get the logical name plus a fixed suffix (Pulumi adds a random one).
  const named = (k: string): string => (typeof inputs[k] === "string" ? inputs[k] : `${name}-0000000`);
  const account = MOCK_ACCOUNT_ID;
  const region = MOCK_REGION;
  const id = `${name}-id`;
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = named("bucket");
      return { id: bucket, state: { bucket, arn: `arn:aws:s3:::${bucket}` } };
    }
    case "aws:s3/bucketObjectv2:BucketObjectv2":
      // Only the content matters: the same content keeps its version, new content gets a new one.
      return { id, state: { versionId: mockVersionId(mapSecrets(inputs["content"], (x) => x)) } };
    case "aws:iam/role:Role":
      return {
        id: named("name"),
        state: { name: named("name"), arn: `arn:aws:iam::${account}:role/${named("name")}` },
      };
    case "aws:secretsmanager/secret:Secret":
      return {
        id,
        state: { arn: `arn:aws:secretsmanager:${region}:${account}:secret:${named("name")}-AbCdEf` },
      };
    case "aws:mwaa/environment:Environment":
      return {
        id,
        state: {
          arn: `arn:aws:airflow:${region}:${account}:environment/${named("name")}`,
          webserverUrl: `${named("name")}.mock.${region}.airflow.amazonaws.com`,
        },
      };
    case "pulumi-nodejs:dynamic/anyscale:ComputeConfig":
      // AnyscaleComputeConfig: the first version of each name.
      return {
        id,
        state: {
          nameVersion: `${named("name")}:1`,
          version: 1,
          computeConfigId: `cpt_mock_${name}`,
          cloudId: "cld_mock",
        },
      };
    case "pulumi:pulumi:StackReference":
      return {
        id,
        state: { name: named("name"), outputs: previewBaseOutputs(named("name")), secretOutputNames: [] },
      };
    case "random:index/randomPassword:RandomPassword":
      return { id, state: { result: `generated-${name}` } };
    case "random:index/randomBytes:RandomBytes":
      return { id, state: { base64: "q+/r7w==AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } };
    case "kubernetes:core/v1:Secret":
    case "kubernetes:core/v1:ConfigMap": {
      // Like the API server, a new resourceVersion whenever the content changes: a value derived from it
      // anywhere (e.g. a pod annotation) then shows up as a change.
      const content = JSON.stringify(mapSecrets(inputs["stringData"] ?? inputs["data"] ?? {}, (x) => x));
      const rv = `rv-${createHash("sha256").update(content).digest("hex").slice(0, 8)}`;
      return { id, state: { metadata: { ...(inputs["metadata"] as object), resourceVersion: rv } } };
    }
    case "kubernetes:helm.sh/v3:Release":
      return { id, state: { status: { status: "deployed" } } };
    default:
      return { id, state: {} };
  }
}

function invoke(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "aws:index/getRegion:getRegion":
      return { name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: MOCK_ACCOUNT_ID,
        arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/mock`,
        userId: "MOCK",
        id: MOCK_ACCOUNT_ID,
      };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: MOCK_ZONES, zoneIds: ["use1-az1", "use1-az2", "use1-az4"], id: MOCK_REGION };
    default:
      return inputs;
  }
}

/** Installs recording mocks for `project`/`stack` (organization `plan-org`). */
export async function installRecordingMocks(project: string, stack: string): Promise<MockRecord> {
  const record: MockRecord = { created: [], invoked: [] };
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const inputs = args.inputs as Record<string, unknown>;
        const { id, state } = computed(args.type, args.name, inputs);
        record.created.push({ type: args.type, name: args.name, inputs, id });
        return { id, state: { ...inputs, ...state } };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        const inputs = args.inputs as Record<string, unknown>;
        record.invoked.push({ token: args.token, inputs });
        return invoke(args.token, inputs);
      },
    },
    project,
    stack,
    false,
    "plan-org",
  );
  return record;
}

/** Installs the mocks and returns the list registrations are appended to. */
export async function installPlanMocks(project: string, stack: string): Promise<PlannedResource[]> {
  return (await installRecordingMocks(project, stack)).created;
}

/** Waits until every pending registration has reached the mock monitor. */
export async function settle(): Promise<void> {
  const wait = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
  if (typeof wait !== "function") throw new Error("this @pulumi/pulumi has no runtime.waitForRPCs");
  // Outputs resolved by one registration can trigger further ones; loop until the queue stays empty.
  for (let i = 0; i < 5; i++) {
    await wait();
    await new Promise((r) => setImmediate(r));
  }
  await wait();
}
