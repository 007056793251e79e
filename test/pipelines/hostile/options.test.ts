/**
 * Issue 14, options applied after validation: `--dag-id-prefix`, `--storage-root` and `--compute-config` change
 * what is rendered after the definitions were validated. Want: what is rendered with the options is validated
 * too; each given command line fails with one `error:` line naming the problem, and nothing is written.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PipelineInput } from "../../../pipelines/src/model/index.js";
import { validPipeline } from "../fixtures/pipelines.js";
import { run, tempDir, writeDefinitions } from "../cli/harness.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- cases poke at untyped shapes on purpose */

function definition(): PipelineInput {
  const p = validPipeline("good") as any;
  p.params.out = { type: "string", default: "s3://bkt/out", maxLength: 12 };
  p.params.where = { type: "string", default: "s3://bkt/x", pattern: "^s3://[a-z-]+/" };
  return p as PipelineInput;
}

const FILE = "defs/d.ts";

const cases: { name: string; args: string[]; want: string | RegExp; given?: (p: any) => void }[] = [
  {
    name: "a prefix that pushes the dag id past 250 characters",
    args: ["--dag-id-prefix", "p".repeat(247)],
    want: new RegExp(
      `^error: ${FILE}: dagId: dag id "p{247}good" \\(with prefix "p{247}"\\) is longer than Airflow's 250 characters; use a shorter prefix$`,
    ),
  },
  {
    name: "a storage root that pushes a default past its maxLength",
    args: ["--storage-root", "s3://bkt=s3://other-bucket"],
    want: `error: ${FILE}: params.out.default: with storage root s3://bkt -> s3://other-bucket: default is longer than maxLength 12`,
  },
  {
    name: "a storage root that moves a default off its pattern",
    given: (p) => (p.params.out.maxLength = 40),
    args: ["--storage-root", "s3://bkt=s3://bkt2", "--only", "good"],
    want: `error: ${FILE}: params.where.default: with storage root s3://bkt -> s3://bkt2: default "s3://bkt2/x" does not match pattern ^s3://[a-z-]+/`,
  },
  {
    name: "a compute config override with two colons",
    args: ["--compute-config", "fixture-gpu=a:1:2"],
    want: `error: --compute-config fixture-gpu=a:1:2: "a:1:2" must be an Anyscale compute config name or name:version (version >= 1)`,
  },
  {
    name: "a compute config override with version 0",
    args: ["--compute-config", "fixture-gpu=gpu:0"],
    want: `error: --compute-config fixture-gpu=gpu:0: "gpu:0" must be an Anyscale compute config name or name:version (version >= 1)`,
  },
  {
    name: "a compute config override for a key no definition uses",
    args: ["--compute-config", "fixture-gpux=gpu:3"],
    want: `error: --compute-config fixture-gpux=gpu:3: unknown compute config key "fixture-gpux" (the definitions use: fixture-gpu)`,
  },
  {
    name: "the same compute config key twice",
    args: ["--compute-config", "fixture-gpu=gpu:1", "--compute-config", "fixture-gpu=gpu:2"],
    want: `error: --compute-config fixture-gpu=gpu:2: key "fixture-gpu" is given twice`,
  },
];

describe("render options are validated with what they render", () => {
  it.each(cases)("$name", async ({ args, want, given }) => {
    const dir = await tempDir();
    const p = definition();
    given?.(p);
    await writeDefinitions(dir, { d: p });
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out", ...args], dir);
    const lines = r.err.split("\n").filter((l) => l !== "");
    expect(lines, r.err).toHaveLength(1);
    const line = lines[0]!.replace(path.join(dir, "defs") + "/", "defs/");
    if (typeof want === "string") expect(line).toBe(want);
    else expect(line).toMatch(want);
    expect(r.code).toBe(1);
    expect(existsSync(path.join(dir, "out"))).toBe(false);
  });

  it("a known override and a storage root that fits still render", async () => {
    const dir = await tempDir();
    const p = definition() as any;
    p.params.out.maxLength = 40;
    p.params.where.pattern = "^s3://";
    await writeDefinitions(dir, { d: p });
    const r = await run(
      [
        ...["render-dags", "--definitions", "defs", "--out", "out", "--dag-id-prefix", "pr_1__"],
        ...["--compute-config", "fixture-gpu=gpu-prod:7", "--storage-root", "s3://bkt=s3://other-bucket"],
      ],
      dir,
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const dag = await readFile(path.join(dir, "out/dags/pr_1__good.py"), "utf8");
    expect(dag).toContain('"s3://other-bucket/out"');
    expect(dag).toContain('compute_config="gpu-prod:7"');
  });

  it("a prefix that makes the dag id exactly 250 characters renders", async () => {
    const dir = await tempDir();
    const p = definition() as any;
    p.tasks = [
      { kind: "python", id: "only", callable: "llm_workloads.airflow_tasks.decision:read_decision" },
    ];
    await writeDefinitions(dir, { d: p });
    const prefix = "p".repeat(246);
    const r = await run(
      ["render-dags", "--definitions", "defs", "--out", "out", "--dag-id-prefix", prefix],
      dir,
    );
    expect(r.err).toBe("");
    expect(existsSync(path.join(dir, "out/dags", `${prefix}good.py`))).toBe(true);
  });
});
