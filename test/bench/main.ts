/**
 * `npm run bench`: renderer and DAG-parse figures, each beside a minimal one-task DAG as the baseline.
 *
 * 1. Render time for 1, 10, 100 and 1,000 synthetic pipelines (renderAll: DAG files formatted by ruff + YAML),
 *    total and per DAG, with the per-DAG ratio 1,000 vs 10 (≈1 means linear growth).
 * 2. Airflow parse time per rendered DAG file: median over repeated imports, each in a FRESH interpreter
 *    (airflow itself is imported before the clock starts, as in Airflow's DAG processor; the file's own imports,
 *    e.g. the Anyscale provider and SDK, are part of the figure).
 *
 * Environment: BENCH_PARSE_REPEATS (default 5), BENCH_MAX_PIPELINES (default 1000).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDefinitions } from "../../pipelines/src/definitions-loader.js";
import { PipelineSchema, type PipelineInput } from "../../pipelines/src/model/pipeline.js";
import { renderAllSync, writeOutputAtomic, type LoadedDefinition } from "../../pipelines/src/render/index.js";
import { everyKindInput, minimalInput } from "../pipelines/render/fixtures.js";

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

interface ParseResult {
  airflow_import_ms: number;
  parse_ms: number;
  tasks: number;
  errors: number;
}

const PARSE_SCRIPT = String.raw`
import atexit, json, os, shutil, sys, tempfile, time
_home = tempfile.mkdtemp(prefix="airflow-bench-")
atexit.register(shutil.rmtree, _home, True)
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
t0 = time.perf_counter()
import airflow.sdk  # noqa: F401  (the DAG processor has this loaded already)
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"airflow_import_ms": (t1 - t0) * 1000, "parse_ms": (t2 - t1) * 1000,
                  "tasks": sum(len(d.tasks) for d in bag.dags.values()), "errors": len(bag.import_errors)}))
`;

function parseOnce(file: string): Promise<ParseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-c", PARSE_SCRIPT, file], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{"))
        reject(new Error(`parse of ${file} failed (${code}): ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as ParseResult);
    });
  });
}

/** Runs `jobs` with at most `limit` at a time (the machine has 2 cores). */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

async function parseBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "render-bench-"));
  try {
    const real = await loadDefinitions();
    const defs = [minimal(0), synthetic(0), ...real];
    await writeOutputAtomic(dir, renderAllSync(defs));
    const files = [
      ["minimal one-task DAG (baseline)", "minimal_0"],
      ["synthetic every-kind DAG", "synthetic_0"],
      ...real.map((d) => [d.pipeline.dagId, d.pipeline.dagId]),
    ] as [string, string][];
    const jobs = files.flatMap(([, id]) =>
      Array.from({ length: REPEATS }, () => () => parseOnce(join(dir, "dags", `${id}.py`))),
    );
    const results = await pool(jobs, 2);
    console.log(
      `\nAirflow parse time per rendered DAG file: median of ${REPEATS} fresh interpreters (2 in parallel)`,
    );
    console.log(
      "  DAG file                          | tasks | parse ms | vs baseline | airflow import ms (excluded)",
    );
    let baseline = 0;
    files.forEach(([label], k) => {
      const rs = results.slice(k * REPEATS, (k + 1) * REPEATS);
      if (rs.some((r) => r.errors > 0)) throw new Error(`${label}: import errors in DagBag`);
      const parse = median(rs.map((r) => r.parse_ms));
      if (k === 0) baseline = parse;
      console.log(
        `  ${label.padEnd(33)} | ${String(rs[0]!.tasks).padStart(5)} | ${fmt(parse, 8)} | ${(parse / baseline).toFixed(2).padStart(10)}x | ${fmt(median(rs.map((r) => r.airflow_import_ms)), 9)}`,
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = performance.now();
renderBench();
await parseBench();
console.log(`\nbench finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
