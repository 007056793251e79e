/** `schema` (committed JSON Schema is up to date, usable by a JSON Schema validator) and `graph` (Mermaid). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { mermaidGraph } from "../../../pipelines/src/graph/mermaid.js";
import { parsePipeline, type PipelineInput } from "../../../pipelines/src/model/index.js";
import { validPipeline } from "../fixtures/pipelines.js";
import { run, tempDir, writeDefinitions } from "./harness.js";

const REPO = path.resolve(import.meta.dirname, "../../..");

describe("schema", () => {
  it("pipelines/pipeline.schema.json is what `schema` prints (regenerate: npm run pipelines -- schema --out pipelines/pipeline.schema.json)", async () => {
    const r = await run(["schema"], REPO);
    expect(r).toMatchObject({ code: 0, err: "" });
    const committed = await readFile(path.join(REPO, "pipelines", "pipeline.schema.json"), "utf8");
    expect(r.out).toBe(committed);
  });

  it("--out writes the same text to a file", async () => {
    const dir = await tempDir();
    const r = await run(["schema", "--out", "s.json"], dir);
    expect(r.code).toBe(0);
    expect(await readFile(path.join(dir, "s.json"), "utf8")).toBe((await run(["schema"], dir)).out);
  });

  it("documents fields and requires canaryPercent for service rollouts", async () => {
    const schema = JSON.parse((await run(["schema"], REPO)).out) as Record<string, unknown>;
    // Round trip through zod's JSON Schema reader: the fixture validates, a service without canaryPercent does not.
    const reread = z.fromJSONSchema(schema);
    expect(reread.safeParse(validPipeline()).success).toBe(true);
    const noCanary = structuredClone(validPipeline()) as PipelineInput & { tasks: Record<string, unknown>[] };
    delete noCanary.tasks[1]!.canaryPercent;
    expect(reread.safeParse(noCanary).success).toBe(false);
    const text = JSON.stringify(schema);
    expect(text).toContain("0 = silent canary, 100 = promote");
  });
});

describe("graph", () => {
  it("draws a small pipeline exactly", () => {
    const p = parsePipeline(
      {
        ...validPipeline("tiny"),
        tasks: [
          {
            kind: "python",
            id: "count",
            callable: "llm_workloads.airflow_tasks.data_update:normalise_join_dedupe",
          },
          {
            kind: "branch",
            id: "gate",
            dependsOn: ["count"],
            on: { xcom: { task: "count", field: "count" } },
            cases: [{ op: "gte", value: 10, goTo: ["go.kick"] }],
          },
          {
            kind: "group",
            id: "go",
            tasks: [{ kind: "triggerPipeline", id: "kick", dependsOn: ["gate"], dagId: "other" }],
          },
        ],
      },
      "tiny.ts",
    );
    expect(mermaidGraph(p)).toBe(
      [
        "flowchart TD",
        "  %% tiny (manual)",
        '  t0["count<br/><i>python</i>"]',
        '  t1{"gate<br/><i>branch</i>"}',
        '  subgraph g0["go"]',
        '    t2>"kick<br/><i>trigger other</i>"]',
        "  end",
        "  t0 --> t1",
        '  t1 -- "gte 10" --> t2',
        "",
      ].join("\n"),
    );
  });

  it("prints a fenced Mermaid block per pipeline, teardown edges dotted", async () => {
    const dir = await tempDir();
    await writeDefinitions(dir, { a: validPipeline("a_dag"), b: validPipeline("b_dag") });
    const r = await run(["graph", "--definitions", "defs"], dir);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out.match(/```mermaid\nflowchart TD\n/g)).toHaveLength(2);
    expect(r.out).toContain("### a_dag\n");
    // rollout (t1) is the setup of the teardown end.cleanup (t7): a dotted edge.
    expect(r.out).toContain("  t1 -.-> t7\n");
    expect(r.out).toContain('  t3 -- "gte params.threshold" --> t4\n');
    expect(r.out).toContain('  t3 -- "otherwise" --> t5\n');
    const only = await run(["graph", "--definitions", "defs", "--only", "b_dag"], dir);
    expect(only.out).not.toContain("a_dag");
  });
});
