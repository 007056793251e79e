// parseStackConfig: table-driven given/want over bad and good configurations. Every error names its key.
import { describe, expect, it } from "vitest";

import { classifyStack, parseStackConfig, StackConfigError } from "../../../infra/config/load.js";

const P = "llm-platform";
const spec = { cloud: "c", head_node: { instance_type: "m5.xlarge" } };
const base = (): Record<string, string> => ({
  "aws:region": "us-east-1",
  [`${P}:target`]: "mwaa",
  [`${P}:anyscaleApiToken`]: "sentinel-token",
  [`${P}:computeConfigs`]: JSON.stringify({ "llm-finetune-gpu": { spec } }),
});
const SECRETS = new Set([`${P}:anyscaleApiToken`]);

function problems(
  raw: Record<string, string>,
  secrets: ReadonlySet<string> = SECRETS,
  stack = "dev",
): string[] {
  try {
    parseStackConfig(raw, secrets, stack);
  } catch (e) {
    if (e instanceof StackConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

describe("parseStackConfig rejects bad configuration, naming the key", () => {
  const cases: Array<{
    name: string;
    edit: (r: Record<string, string>) => void;
    secrets?: Set<string>;
    want: RegExp;
  }> = [
    {
      name: "missing target",
      edit: (r) => delete r[`${P}:target`],
      want: /^llm-platform:target is required/,
    },
    {
      name: "unknown target",
      edit: (r) => (r[`${P}:target`] = "ecs"),
      want: /^llm-platform:target: must be "mwaa" or "kubernetes"/,
    },
    {
      name: "missing computeConfigs",
      edit: (r) => delete r[`${P}:computeConfigs`],
      want: /^llm-platform:computeConfigs is required/,
    },
    {
      name: "wrong type inside a structured key",
      edit: (r) => (r[`${P}:mwaa`] = JSON.stringify({ maxWorkers: "ten" })),
      want: /^llm-platform:mwaa\.maxWorkers: /,
    },
    {
      name: "unknown environment class",
      edit: (r) => (r[`${P}:mwaa`] = JSON.stringify({ environmentClass: "mw1.huge" })),
      want: /^llm-platform:mwaa\.environmentClass: /,
    },
    {
      name: "unknown nested key (typo)",
      edit: (r) => (r[`${P}:mwaa`] = JSON.stringify({ maxWorker: 3 })),
      want: /^llm-platform:mwaa: .*maxWorker/,
    },
    {
      name: "unknown top-level key",
      edit: (r) => (r[`${P}:targte`] = "mwaa"),
      want: /^llm-platform:targte is not a known configuration key/,
    },
    {
      name: "secret given in plain text",
      edit: () => undefined,
      secrets: new Set(),
      want: /^llm-platform:anyscaleApiToken is a secret but is stored in plain text/,
    },
    {
      name: "missing Anyscale token",
      edit: (r) => delete r[`${P}:anyscaleApiToken`],
      want: /^llm-platform:anyscaleApiToken is required/,
    },
    {
      name: "missing aws:region for mwaa",
      edit: (r) => delete r["aws:region"],
      want: /^aws:region is required/,
    },
    {
      name: "bad compute config spec",
      edit: (r) => (r[`${P}:computeConfigs`] = JSON.stringify({ gpu: { spec: { cloud: "c" } } })),
      want: /^llm-platform:computeConfigs\.gpu\.spec\.head_node: /,
    },
    {
      name: "bad airflow version",
      edit: (r) => (r[`${P}:airflowVersion`] = "2.10.3"),
      want: /^llm-platform:airflowVersion: must be an Airflow 3 version/,
    },
    {
      name: "secret-looking value in plain config",
      edit: (r) => (r[`${P}:tags`] = JSON.stringify({ owner: "AKIAIOSFODNN7EXAMPLE" })),
      want: /^llm-platform:tags\.owner: looks like a secret/,
    },
    {
      name: "settings for the other target",
      edit: (r) => (r[`${P}:kubernetes`] = JSON.stringify({ executor: "LocalExecutor" })),
      want: /^llm-platform:kubernetes is set but llm-platform:target is "mwaa"/,
    },
    {
      name: "existing network with one subnet",
      edit: (r) =>
        (r[`${P}:mwaa`] = JSON.stringify({
          network: { vpcId: "vpc-0123456789abcdef0", privateSubnetIds: ["subnet-0123456789abcdef0"] },
        })),
      want: /^llm-platform:mwaa\.network/,
    },
    {
      name: "max workers below min workers",
      edit: (r) => (r[`${P}:mwaa`] = JSON.stringify({ minWorkers: 4, maxWorkers: 2 })),
      want: /^llm-platform:mwaa\.maxWorkers: must be ≥ mwaa\.minWorkers/,
    },
    {
      name: "unparseable structured value",
      edit: (r) => (r[`${P}:mwaa`] = "{not json"),
      want: /^llm-platform:mwaa: expected structured YAML/,
    },
    {
      name: "airflowConnections not a map",
      edit: (r) => (r[`${P}:airflowConnections`] = "[1]"),
      secrets: new Set([`${P}:anyscaleApiToken`, `${P}:airflowConnections`]),
      want: /^llm-platform:airflowConnections: expected a map/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const raw = base();
      c.edit(raw);
      const found = problems(raw, c.secrets ?? SECRETS);
      expect(
        found.some((p) => c.want.test(p)),
        `problems: ${JSON.stringify(found)}`,
      ).toBe(true);
    });
  }

  it("never echoes a secret value in its errors", () => {
    const raw = { ...base(), [`${P}:airflowConnections`]: "not-json-sentinel-token" };
    const found = problems(raw, new Set([`${P}:anyscaleApiToken`, `${P}:airflowConnections`]));
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).not.toContain("sentinel-token");
    const plain = problems(base(), new Set());
    expect(plain.join("\n")).not.toContain("sentinel-token");
  });

  it("reports every problem at once", () => {
    const raw = base();
    raw[`${P}:target`] = "ecs";
    raw[`${P}:airflowVersion`] = "2";
    expect(problems(raw).length).toBeGreaterThanOrEqual(2);
  });
});

describe("parseStackConfig derives settings from the stack name", () => {
  it("dev: a full environment with stack-scoped compute config names", () => {
    const c = parseStackConfig(base(), SECRETS, "dev");
    expect(c.stackKind).toEqual({ kind: "environment" });
    expect(c.dagIdPrefix).toBe("");
    expect(c.computeConfigs["llm-finetune-gpu"]!.name).toBe("dev-llm-finetune-gpu");
    expect(c.airflowVersion).toBe("3.3.1");
    expect(c.kubernetes.namespace).toBe("airflow-dev");
  });
  it("pr-123: a preview with prefixed ids, hosted by the previews stack (not dev), no token needed on mwaa", () => {
    const raw = base();
    delete raw[`${P}:anyscaleApiToken`];
    const c = parseStackConfig(raw, new Set(), "pr-123");
    expect(c.stackKind).toEqual({ kind: "preview", prNumber: 123 });
    expect(c.dagIdPrefix).toBe("pr_123__");
    expect(c.previewBaseStack).toBe("previews");
    expect(c.previewHost).toBeUndefined();
    expect(c.computeConfigs["llm-finetune-gpu"]!.name).toBe("pr-123-llm-finetune-gpu");
  });
  it("a kubernetes preview still needs the token (it runs its own Airflow)", () => {
    const raw = base();
    raw[`${P}:target`] = "kubernetes";
    delete raw[`${P}:anyscaleApiToken`];
    delete raw["aws:region"];
    expect(
      problems(raw, new Set(), "pr-7").some((p) => p.startsWith("llm-platform:anyscaleApiToken is required")),
    ).toBe(true);
  });
  it.each([
    ["pr-0", /pr-<pull request number>/],
    ["pr-abc", /pr-<pull request number>/],
    ["Prod", /lowercase/],
  ])("refuses the stack name %s", (stack, want) => {
    expect(() => classifyStack(stack)).toThrow(want);
  });
});
