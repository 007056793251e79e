/**
 * Golden files. Table-driven cases (given definitions + options → want files under test/golden/cases/<case>/),
 * plus the three real pipelines (test/golden/render/ is exactly what `npm run render-dags -- --out
 * test/golden/render` writes). Expected graphs (from the MODEL) sit beside them; test/python/rendered/ loads the
 * golden DAGs into a real Airflow DagBag and compares Airflow's view with those graphs.
 *
 * Update after an intended change: `npx vitest run -u test/pipelines/render/golden.test.ts`.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkOutput,
  expectedGraphs,
  renderAll,
  type LoadedDefinition,
  type RenderOptions,
} from "../../../pipelines/src/render/index.js";
import {
  assetScheduledInput,
  everyKindInput,
  hostileInput,
  minimalInput,
  parsePipeline,
} from "./fixtures.js";
import type { PipelineInput } from "../../../pipelines/src/model/pipeline.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const GOLDEN = join(ROOT, "test/golden");

interface Case {
  given: Record<string, PipelineInput>;
  options?: RenderOptions;
}

const CASES: [name: string, Case][] = [
  ["minimal", { given: { "test/cases/minimal.ts": minimalInput } }],
  [
    "every-kind",
    { given: { "test/cases/every-kind.ts": everyKindInput, "test/cases/minimal.ts": minimalInput } },
  ],
  [
    "asset-scheduled",
    { given: { "test/cases/asset.ts": assetScheduledInput, "test/cases/minimal.ts": minimalInput } },
  ],
  ["hostile-strings", { given: { "test/cases/hostile.ts": hostileInput } }],
  [
    "pr-preview",
    {
      given: { "test/cases/every-kind.ts": everyKindInput, "test/cases/asset.ts": assetScheduledInput },
      options: { dagIdPrefix: "pr_123__", computeConfigs: { "llm-finetune-gpu": "llm-finetune-gpu:7" } },
    },
  ],
];

function defsOf(c: Case): LoadedDefinition[] {
  return Object.entries(c.given).map(([file, input]) => ({ file, pipeline: parsePipeline(input) }));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

describe("golden cases (given definition → want files)", () => {
  it.each(CASES)("%s", async (name, c) => {
    const defs = defsOf(c);
    const files = await renderAll(defs, c.options);
    const dir = join(GOLDEN, "cases", name);
    for (const f of files) await expect(f.content).toMatchFileSnapshot(join(dir, f.path));
    await expect(JSON.stringify(expectedGraphs(defs, c.options), null, 2) + "\n").toMatchFileSnapshot(
      join(dir, "expected-graph.json"),
    );
    // No stale golden files for outputs the renderer no longer produces.
    const want = new Set([...files.map((f) => f.path), "expected-graph.json"]);
    const stale = listFiles(dir)
      .map((p) => relative(dir, p))
      .filter((p) => !want.has(p));
    expect(stale).toEqual([]);
  });

  it("renders byte-identical output on every run", async () => {
    const c = CASES.find(([n]) => n === "every-kind")![1];
    const a = await renderAll(defsOf(c), c.options);
    const b = await renderAll(defsOf(c).reverse(), c.options);
    expect(b).toEqual(a);
  });
});

const LOADER = join(ROOT, "pipelines/src/definitions-loader.ts");
const DEFINITIONS = join(ROOT, "pipelines/definitions");
const haveDefinitions =
  existsSync(LOADER) && existsSync(DEFINITIONS) && readdirSync(DEFINITIONS).some((f) => f.endsWith(".ts"));

describe.skipIf(!haveDefinitions)("golden render of pipelines/definitions", () => {
  it("test/golden/render is up to date and its expected graphs match the model", async () => {
    const { loadDefinitions } = (await import(LOADER)) as {
      loadDefinitions: (dir?: string) => Promise<LoadedDefinition[]>;
    };
    const defs = await loadDefinitions();
    expect(defs.length).toBeGreaterThan(0);
    const files = await renderAll(defs);
    // Written with --update like the cases, so one command refreshes DAGs, YAML and graphs together.
    for (const f of files) await expect(f.content).toMatchFileSnapshot(join(GOLDEN, "render", f.path));
    expect(await checkOutput(join(GOLDEN, "render"), files)).toEqual([]);
    await expect(JSON.stringify(expectedGraphs(defs), null, 2) + "\n").toMatchFileSnapshot(
      join(GOLDEN, "render-graphs.json"),
    );
  });
});
