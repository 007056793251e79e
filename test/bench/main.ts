/**
 * `npm run bench`: renderer and DAG-parse figures, each beside a minimal one-task DAG as the baseline.
 *
 * 1. Render time for 1, 10, 100 and 1,000 synthetic pipelines (renderAll: DAG files formatted by ruff + YAML),
 *    total and per DAG, with the per-DAG ratio 1,000 vs 10 (≈1 means linear growth).
 * 2. Parse cost per rendered DAG file as the real `airflow dag-processor` records it (`last_parse_duration`,
 *    one parsing process, median of repeated runs), beside three one-task baseline DAGs in the same runs, over
 *    a DAGs folder laid out as infra delivers it (DAG files, the `llm_workloads` package, `.airflowignore`).
 *
 * 3. Validate and render time of ONE pipeline of 1,000 and 10,000 tasks, chained (each task reads the previous
 *    one's XCom) and fanned out (all read one upstream XCom), with the per-task ratio 10,000 vs 1,000.
 *
 * 4. The dataset build (test/bench/dataset_build.py): wall time and peak RSS of the streamed build at 10^3, 10^4,
 *    10^5 and 10^6 synthetic source rows, each size in its own process.
 *
 * Environment: BENCH_PARSE_REPEATS (default 5), BENCH_MAX_PIPELINES (default 1000), BENCH_MAX_TASKS (default
 * 10000), BENCH_ONLY_TASKS=1 (only part 3), BENCH_ONLY_PARSE=1 (only part 2), BENCH_DATASET_SIZES (default "1000 10000 100000 1000000"; "0" skips
 * part 4).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { dagBundle, readWorkloadPackage } from "../../infra/delivery/bundle.js";
import { flattenTasks } from "../../pipelines/src/graph/tasks.js";
import { loadDefinitions } from "../../pipelines/src/definitions-loader.js";
import { PipelineSchema, type PipelineInput } from "../../pipelines/src/model/pipeline.js";
import { renderAllSync, type LoadedDefinition } from "../../pipelines/src/render/index.js";
import { everyKindInput, minimalInput } from "../pipelines/render/fixtures.js";
import { parsePipeline } from "../../pipelines/src/model/validate.js";
import { scalePipeline } from "../pipelines/fixtures/scale.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const PYTHON = join(ROOT, ".venv/bin/python");
const REPEATS = Number(process.env.BENCH_PARSE_REPEATS ?? 5);
const MAX = Number(process.env.BENCH_MAX_PIPELINES ?? 1000);

/** The every-kind fixture with unique ids and Anyscale names, so N copies render to N distinct DAGs. */
function synthetic(i: number): LoadedDefinition {
  const input = JSON.parse(JSON.stringify(everyKindInput)) as PipelineInput;
  input.dagId = `synthetic_${i}`;
  const rename = (t: Record<string, unknown>): void => {
    if (t.kind === "anyscaleJob") t.name = `job-${i}`;
    if (t.kind === "anyscaleService") t.name = `svc-${i}`;
    if (t.kind === "serviceTeardown") t.service = `svc-${i}`;
    if (t.kind === "triggerPipeline") t.dagId = `minimal_${i}`;
    if (t.kind === "group") (t.tasks as Record<string, unknown>[]).forEach(rename);
  };
  (input.tasks as unknown as Record<string, unknown>[]).forEach(rename);
  return { file: `bench/synthetic_${i}.ts`, pipeline: PipelineSchema.parse(input) };
}

function minimal(i: number): LoadedDefinition {
  return {
    file: `bench/minimal_${i}.ts`,
    pipeline: PipelineSchema.parse({ ...minimalInput, dagId: `minimal_${i}` }),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timeRender(defs: LoadedDefinition[]): number {
  const reps = defs.length <= 10 ? 5 : defs.length <= 100 ? 3 : 1;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    renderAllSync(defs);
    times.push(performance.now() - t);
  }
  return median(times);
}

function fmt(ms: number, width = 9): string {
  return ms.toFixed(ms < 10 ? 2 : 1).padStart(width);
}

function renderBench(): void {
  const sizes = [1, 10, 100, 1000].filter((n) => n <= MAX);
  const synth = Array.from({ length: Math.max(...sizes) }, (_, i) => synthetic(i));
  const mins = Array.from({ length: Math.max(...sizes) }, (_, i) => minimal(i));
  renderAllSync(synth.slice(0, 3)); // warm up ruff's WebAssembly module and the JIT
  renderAllSync(mins.slice(0, 3));
  console.log("Render time (renderAll: DAG file formatted by ruff + Anyscale YAML), median of repeats");
  console.log("  pipelines | synthetic total ms | per DAG ms | minimal total ms | per DAG ms");
  const perDag: Record<number, number> = {};
  for (const n of sizes) {
    const s = timeRender(synth.slice(0, n));
    const m = timeRender(mins.slice(0, n));
    perDag[n] = s / n;
    console.log(
      `  ${String(n).padStart(9)} | ${fmt(s, 18)} | ${fmt(s / n, 10)} | ${fmt(m, 16)} | ${fmt(m / n, 10)}`,
    );
  }
  const lo = sizes.find((n) => n >= 10) ?? sizes[0]!;
  const hi = sizes[sizes.length - 1]!;
  console.log(
    `  growth: per-DAG cost at ${hi} / at ${lo} = ${(perDag[hi]! / perDag[lo]!).toFixed(2)} (1.00 = linear; >1 = superlinear)`,
  );
}

interface DagProcessorResult {
  runs: Record<string, number>[];
  import_errors: Record<string, string>;
  airflow: string;
}

function runDagProcessor(dagsDir: string, repeats: number): Promise<DagProcessorResult> {
  return new Promise((resolve, reject) => {
    const script = join(ROOT, "test/bench/dag_processor_parse.py");
    const child = spawn(PYTHON, [script, dagsDir, String(repeats)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{"))
        reject(new Error(`dag-processor bench failed (${code}): ${err.slice(-3000)}`));
      else resolve(JSON.parse(line) as DagProcessorResult);
    });
  });
}

const BASELINES = 3;

/**
 * The one-task baseline: a plain Airflow 3 DAG as its documentation writes it (`airflow.sdk` DAG and `@task`), not
 * a file of our renderer, so that what the renderer does for parse cost shows against it instead of inside it.
 */
function baselineDag(i: number): string {
  return [
    "import pendulum",
    "from airflow.sdk import DAG, task",
    "",
    `with DAG(dag_id="baseline_${i}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):`,
    "",
    "    @task",
    "    def only() -> None:",
    "        return None",
    "",
    "    only()",
    "",
  ].join("\n");
}

/**
 * Parse cost of each rendered DAG as Airflow's DAG processor records it (`dag.last_parse_duration`), beside
 * one-task baseline DAGs parsed in the same runs, over a DAGs folder laid out as infra delivers it.
 */
async function parseBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "render-bench-"));
  try {
    const real = await loadDefinitions();
    const baselines = Array.from({ length: BASELINES }, (_, i) => `baseline_${i}`);
    const defs = [synthetic(0), ...real];
    const bundle: Record<string, string> = {
      ...dagBundle(
        renderAllSync(defs),
        await readWorkloadPackage(join(ROOT, "pipelines/workloads/llm_workloads")),
      ),
      ...Object.fromEntries(baselines.map((id, i) => [`${id}.py`, baselineDag(i)])),
    };
    const dags = join(dir, "dags");
    for (const [rel, content] of Object.entries(bundle)) {
      mkdirSync(dirname(join(dags, rel)), { recursive: true });
      writeFileSync(join(dags, rel), content);
    }
    const result = await runDagProcessor(dags, REPEATS);
    if (Object.keys(result.import_errors).length > 0)
      throw new Error(`import errors: ${JSON.stringify(result.import_errors).slice(0, 2000)}`);
    const med = (id: string): number => median(result.runs.map((r) => (r[id] ?? NaN) * 1000));
    const baseline = median(baselines.map((id) => med(id)));
    console.log(
      `\nParse cost per DAG file, real \`airflow dag-processor\` (${result.airflow}, one parsing process), ` +
        `Airflow's last_parse_duration, median of ${REPEATS} runs`,
    );
    console.log("  DAG file                          | tasks | parse ms | vs baseline");
    const row = (label: string, id: string, tasks: number): void =>
      console.log(
        `  ${label.padEnd(33)} | ${String(tasks).padStart(5)} | ${fmt(med(id), 8)} | ${(med(id) / baseline).toFixed(2).padStart(10)}x`,
      );
    for (const id of baselines) row(`${id} (one-task baseline)`, id, 1);
    row("synthetic every-kind DAG", "synthetic_0", flatCount(synthetic(0)));
    for (const d of real) row(d.pipeline.dagId, d.pipeline.dagId, flatCount(d));
    const product = real.reduce((sum, d) => sum + med(d.pipeline.dagId), 0);
    console.log(
      `  the ${real.length} product DAGs together: ${product.toFixed(0)} ms = ` +
        `${(product / (baseline * real.length)).toFixed(2)}x ${real.length} baselines ` +
        `(targets: each <= 2.00x, together <= 2.50x)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function flatCount(d: LoadedDefinition): number {
  return flattenTasks(d.pipeline).tasks.length;
}

/** Part 3: validation (zod + semantic checks) and render of one large pipeline, by size and shape. */
function taskScaleBench(): void {
  const maxTasks = Number(process.env.BENCH_MAX_TASKS ?? 10000);
  const sizes = [1000, 10000].filter((n) => n <= maxTasks);
  parsePipeline(scalePipeline(100, "fan"), "bench/warmup.ts"); // JIT warm-up
  console.log("\nOne large pipeline: validate (parsePipeline) and render (renderAllSync) time, one run each");
  console.log("  tasks  | shape             | validate ms | per task ms | render ms | per task ms");
  for (const shape of ["chain", "fan"] as const) {
    const perTask: number[] = [];
    for (const n of sizes) {
      const input = scalePipeline(n, shape);
      let t = performance.now();
      const pipeline = parsePipeline(input, `bench/${shape}_${n}.ts`);
      const validateMs = performance.now() - t;
      t = performance.now();
      renderAllSync([{ file: `bench/${shape}_${n}.ts`, pipeline }]);
      const renderMs = performance.now() - t;
      perTask.push(validateMs / n);
      const label = shape === "chain" ? "chain (xcom prev)" : "fan-out (xcom t0)";
      console.log(
        `  ${String(n).padStart(6)} | ${label.padEnd(17)} | ${fmt(validateMs, 11)} | ${(validateMs / n).toFixed(4).padStart(11)} | ${fmt(renderMs, 9)} | ${(renderMs / n).toFixed(4).padStart(11)}`,
      );
    }
    if (perTask.length === 2)
      console.log(
        `  ${shape}: validate per-task cost at ${sizes[1]} / at ${sizes[0]} = ${(perTask[1]! / perTask[0]!).toFixed(2)} (1.00 = linear)`,
      );
  }
}

function datasetBench(): Promise<void> {
  const sizes = (process.env.BENCH_DATASET_SIZES ?? "1000 10000 100000 1000000").split(/\s+/).filter(Boolean);
  if (sizes.join("") === "0") return Promise.resolve();
  console.log("");
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(ROOT, "test/bench/dataset_build.py"), ...sizes], { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`dataset bench exited ${code}`))));
  });
}

const started = performance.now();
const onlyParse = process.env.BENCH_ONLY_PARSE === "1";
if (process.env.BENCH_ONLY_TASKS !== "1" && !onlyParse) renderBench();
if (!onlyParse) taskScaleBench();
if (process.env.BENCH_ONLY_TASKS !== "1") await parseBench();
if (process.env.BENCH_ONLY_TASKS !== "1" && !onlyParse) await datasetBench();
console.log(`\nbench finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
