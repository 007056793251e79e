/**
 * Renderer behaviour beyond the goldens: refusals (file + field in the message), options, lint cleanliness of the
 * output with the repository's own rule set, and the atomic writer / checker.
 */
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lintPython } from "../../../pipelines/src/render/format-python.js";
import {
  checkOutput,
  referencedComputeConfigs,
  renderAll,
  RenderError,
  writeOutputAtomic,
  type LoadedDefinition,
} from "../../../pipelines/src/render/index.js";
import type { PipelineInput } from "../../../pipelines/src/model/pipeline.js";
import {
  assetScheduledInput,
  everyKindInput,
  hostileInput,
  minimalInput,
  parsePipeline,
} from "./fixtures.js";

function def(file: string, input: PipelineInput): LoadedDefinition {
  return { file, pipeline: parsePipeline(input) };
}

function withTasks(
  base: PipelineInput,
  tasks: PipelineInput["tasks"],
  extra: Partial<PipelineInput> = {},
): PipelineInput {
  return { ...base, ...extra, tasks };
}

const serviceTask: PipelineInput["tasks"][number] & { kind: "anyscaleService" } = {
  kind: "anyscaleService",
  id: "svc",
  name: "svc",
  applications: [{ importPath: "app.main:app" }],
  imageUri: "anyscale/image/x:1",
  computeConfig: "cpu",
  canaryPercent: 0,
};

describe("renderAll refuses what it cannot render faithfully", () => {
  it.each<[string, () => Promise<unknown>, RegExp]>([
    [
      "a dagIdPrefix outside the safe alphabet",
      () => renderAll([def("d/min.ts", minimalInput)], { dagIdPrefix: "PR 1/" }),
      /dagIdPrefix "PR 1\/" must match/,
    ],
    [
      "an Anyscale name made too long by the prefix",
      () =>
        renderAll([def("d/svc.ts", withTasks(minimalInput, [{ ...serviceTask, name: "s".repeat(50) }]))], {
          dagIdPrefix: "pr_123456__",
        }),
      /^d\/svc\.ts: tasks\.0\.name: Anyscale name "pr_123456__s+" .* longer than 57/,
    ],
    [
      "two pipelines rolling out one service with different specs",
      () =>
        renderAll([
          def("d/a.ts", withTasks(minimalInput, [serviceTask])),
          def(
            "d/b.ts",
            withTasks(minimalInput, [{ ...serviceTask, imageUri: "anyscale/image/x:2" }], { dagId: "other" }),
          ),
        ]),
      /^d\/b\.ts: tasks\.0: Anyscale service "svc" is rolled out with a different spec than in d\/a\.ts/,
    ],
    [
      "a non-string param in a Jinja-rendered conf",
      () =>
        renderAll([
          def(
            "d/trig.ts",
            withTasks(
              minimalInput,
              [{ kind: "triggerPipeline", id: "t", dagId: "minimal", conf: { n: { param: "n" } } }],
              { params: { n: { type: "integer", default: 1 } } },
            ),
          ),
        ]),
      /^d\/trig\.ts: tasks\.0\.conf\.n: param "n" is a integer, but this field is rendered by Jinja as text/,
    ],
    [
      "two definitions with the same dag_id",
      () => renderAll([def("d/a.ts", minimalInput), def("d/b.ts", minimalInput)]),
      /^d\/b\.ts: dagId: dag_id "minimal" renders to dags\/minimal\.py, which d\/a\.ts already renders/,
    ],
    [
      "a definition path that cannot be written in a header",
      () => renderAll([def("d/evil\n.ts", minimalInput)]),
      /cannot be written in a header comment/,
    ],
  ])("%s", async (_name, run, message) => {
    await expect(run()).rejects.toThrow(message);
  });

  it("reports RenderError with the file and field path", async () => {
    const err = await renderAll([def("d/a.ts", minimalInput), def("d/b.ts", minimalInput)]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RenderError);
    expect((err as RenderError).file).toBe("d/b.ts");
    expect((err as RenderError).path).toEqual(["dagId"]);
  });
});

describe("options", () => {
  it("prefixes dag ids, Anyscale names, asset URIs and trigger targets; overrides compute configs", async () => {
    const files = await renderAll(
      [def("d/every.ts", everyKindInput), def("d/asset.ts", assetScheduledInput)],
      {
        dagIdPrefix: "pr_7__",
        computeConfigs: { "llm-finetune-gpu": "llm-finetune-gpu:12" },
      },
    );
    const paths = files.map((f) => f.path);
    expect(paths).toEqual([
      "anyscale/jobs/pr_7__llm-finetune.yaml",
      "anyscale/services/pr_7__inplace-svc.yaml",
      "anyscale/services/pr_7__llm-serve.yaml",
      "dags/pr_7__asset_consumer.py",
      "dags/pr_7__every_kind.py",
    ]);
    const every = files.find((f) => f.path === "dags/pr_7__every_kind.py")!.content;
    expect(every).toContain('dag_id="pr_7__every_kind"');
    expect(every).toContain('create_asset(bucket="pr_7__bucket", key="models/champion")');
    expect(every).toContain('trigger_dag_id="pr_7__minimal"');
    expect(every).toContain('compute_config="llm-finetune-gpu:12"');
    expect(every).toContain('service_name="pr_7__llm-serve"');
    const consumer = files.find((f) => f.path === "dags/pr_7__asset_consumer.py")!.content;
    expect(consumer).toContain('schedule=[create_asset(bucket="pr_7__bucket", key="models/champion")]');
    const job = files.find((f) => f.path === "anyscale/jobs/pr_7__llm-finetune.yaml")!.content;
    expect(job).toContain('name: "pr_7__llm-finetune"');
    expect(job).toContain('compute_config: "llm-finetune-gpu:12"');
  });

  it("lists the compute configs the definitions reference, sorted and unique", () => {
    expect(
      referencedComputeConfigs([def("d/every.ts", everyKindInput), def("d/asset.ts", assetScheduledInput)]),
    ).toEqual(["cpu-small", "llm-finetune-gpu", "llm-serve-gpu:3"]);
  });

  it("never lets Airflow read a DAG doc ending in .md as a file path", async () => {
    const files = await renderAll([def("d/min.ts", { ...minimalInput, doc: "See /etc/hosts.md" })]);
    expect(files[0]!.content).toContain('doc_md="See /etc/hosts.md\\n"');
  });

  it("keeps secrets out of rendered files: only connection references", async () => {
    const files = await renderAll([def("d/every.ts", everyKindInput)]);
    const job = files.find((f) => f.path.startsWith("anyscale/jobs/"))!.content;
    expect(job).toContain('HF_TOKEN: "{{ conn.hf_default.password }}"');
  });
});

describe("rendered Python passes the repository's ruff rules (except line length)", () => {
  it.each([
    ["every kind", everyKindInput],
    ["asset scheduled", assetScheduledInput],
    ["hostile strings", hostileInput],
    ["minimal", minimalInput],
  ])("%s", async (_name, input) => {
    const files = await renderAll([def("d/x.ts", input)]);
    for (const f of files.filter((x) => x.path.endsWith(".py")))
      expect(
        lintPython(f.content, ["F", "W", "I", "B", "UP", "AIR", "E"]).filter((d) => d.code !== "E501"),
      ).toEqual([]);
  });
});

describe("writeOutputAtomic / checkOutput", () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), "render-out-"));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const v1 = [
    { path: "dags/a.py", content: "a = 1\n" },
    { path: "anyscale/jobs/j.yaml", content: "name: j\n" },
  ];

  it("writes, then reports no differences", async () => {
    await writeOutputAtomic(out, v1);
    expect(readFileSync(join(out, "dags/a.py"), "utf8")).toBe("a = 1\n");
    expect(await checkOutput(out, v1)).toEqual([]);
  });

  it("replaces owned directories, removes stale files and keeps unrelated ones", async () => {
    mkdirSync(join(out, "other"));
    writeFileSync(join(out, "other/keep.txt"), "mine");
    await writeOutputAtomic(out, v1);
    const v2 = [{ path: "dags/b.py", content: "b = 2\n" }];
    expect(await checkOutput(out, v2)).toEqual(["anyscale/jobs/j.yaml", "dags/a.py", "dags/b.py"]);
    await writeOutputAtomic(out, v2);
    expect(readdirSync(join(out, "dags"))).toEqual(["b.py"]);
    expect(readdirSync(join(out, "anyscale"))).toEqual([]);
    expect(readFileSync(join(out, "other/keep.txt"), "utf8")).toBe("mine");
    expect(readdirSync(out).filter((n) => n.startsWith(".render-"))).toEqual([]);
  });

  it("reports changed content and missing files", async () => {
    await writeOutputAtomic(out, v1);
    writeFileSync(join(out, "dags/a.py"), "a = 2\n");
    rmSync(join(out, "anyscale/jobs/j.yaml"));
    expect(await checkOutput(out, v1)).toEqual(["anyscale/jobs/j.yaml", "dags/a.py"]);
  });

  it.each([
    ["a path outside the owned directories", [{ path: "../x.py", content: "" }]],
    ["a path not normalised", [{ path: "dags/../x.py", content: "" }]],
    ["an unowned top-level directory", [{ path: "other/x.py", content: "" }]],
    ["duplicate paths", [v1[0]!, v1[0]!]],
    ["a lone surrogate in content", [{ path: "dags/a.py", content: "x = '\ud800'\n" }]],
  ])("refuses %s and leaves the previous output untouched", async (_name, bad) => {
    await writeOutputAtomic(out, v1);
    await expect(writeOutputAtomic(out, bad)).rejects.toThrow();
    expect(await checkOutput(out, v1)).toEqual([]);
    expect(existsSync(join(out, "x.py"))).toBe(false);
  });
});
