/**
 * Issue 14, the contract as a property: for generated definitions over the whole schema (names, params,
 * schedules, dates, durations, task kinds and graphs, render options; valid and invalid values alike):
 * - `validate` either accepts, or refuses with issues that each name a field (never an exception);
 * - whatever it accepts renders (never an exception);
 * - the accepted ones, rendered, import into the pinned Airflow with zero import errors, every string param
 *   reaches its task exactly as written, and every Anyscale YAML loads in the SDK's models.
 * Reproduce with CONTRACT_SEED=<seed> (printed in the test name); CONTRACT_CASES sets the sample size.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DefinitionError, parsePipeline, type Pipeline } from "../../../pipelines/src/model/index.js";
import { renderAllSync, type RenderedFile } from "../../../pipelines/src/render/index.js";
import { importIntoAirflow } from "./airflow.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- generated shapes are untyped on purpose */

const SEED = Number(process.env.CONTRACT_SEED ?? Date.now() % 2 ** 31);
const CASES = Number(process.env.CONTRACT_CASES ?? 600);

const pick = <T>(...xs: T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
/** Mostly `valid`, sometimes one of the edge or invalid values (so most samples pass and reach Airflow). */
const mostly = <T>(valid: fc.Arbitrary<T>, ...odd: T[]): fc.Arbitrary<T> =>
  fc.oneof({ weight: 25, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom(...odd) });

const ident = fc.oneof(
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/),
  pick("items", "get", "keys", "values", "class", "def", "__class__", "_x", "None", "dag", "params"),
);
const text = mostly(
  fc.oneof(
    fc
      .string({ minLength: 1, maxLength: 20 })
      .map((x) => x.replace(/\{(?=[{%#])/g, "{ ").replace(/\{$/, "{ ")),
    pick("plain text", "a {b} c", "x\ny", "100% #1", "\u2028\ufeff", " lead", "ends.md"),
  ),
  "{{ 7*7 }}",
  "{% raw %}",
);
const dagId = mostly(
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,30}$/),
  "a..b",
  ".hidden",
  "x".repeat(245),
  "with space",
);
const cron = mostly(
  fc
    .tuple(
      mostly(pick("0", "*/5", "59", "1-5", "*"), "60"),
      mostly(pick("6", "*", "0-23"), "24"),
      mostly(pick("*", "1", "31"), "0"),
      mostly(pick("*", "JAN", "12"), "13"),
      mostly(pick("*", "MON", "1-5", "7"), "8"),
    )
    .map((f) => f.join(" ")),
  "@daily",
  "@hourly",
  "@every",
  "0 6 * * *\ufeff",
  "0\u00a06 * * *",
  "0 6 * *",
);
const seconds = mostly(
  fc.integer({ min: 1, max: 100_000 }),
  0,
  -1,
  86_399_999_999_999,
  86_400_000_000_000,
  2 ** 53,
  1.5,
);
const date = mostly(
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 28 }),
    )
    .map(
      ([y, m, d]) =>
        `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`,
    ),
  "2026-02-30",
  "2026-13-01",
  "26-01-01",
  "0000-06-01",
);
const pattern = mostly(
  pick(undefined, undefined, "^[^\\n]*$", "[\\s\\S]*"),
  "^[a-z]+$",
  "\\p{L}",
  "(?<n>a)",
  "(",
);
const param = fc.oneof(
  fc
    .record({
      def: fc.oneof(fc.stringMatching(/^[a-z]{0,8}$/), text),
      pattern,
      maxLength: mostly(pick(undefined, 40), 3),
    })
    .map(({ def, pattern: pt, maxLength }) => ({
      type: "string",
      default: def,
      ...(pt === undefined ? {} : { pattern: pt }),
      ...(maxLength === undefined ? {} : { maxLength }),
    })),
  fc.record({ def: mostly(fc.integer(), 2 ** 60, 1.5), min: pick(undefined, 0, 10) }).map(({ def, min }) => ({
    type: "integer",
    default: def,
    ...(min === undefined ? {} : { minimum: min }),
  })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => ({ type: "number", default: d })),
  fc.boolean().map((b) => ({ type: "boolean", default: b })),
  fc.array(fc.stringMatching(/^[a-z]{1,4}$/), { maxLength: 3 }).map((a) => ({
    type: "array",
    items: { type: "string" },
    default: a,
  })),
);

interface TaskSketch {
  kind: "python" | "slack" | "anyscaleJob" | "emitAsset";
  deps: number[];
  param: number;
  literal: string;
  timeout: number | undefined;
  extra: string;
}

const taskSketch: fc.Arbitrary<TaskSketch> = fc.record({
  kind: pick("python", "slack", "anyscaleJob", "emitAsset"),
  deps: fc.array(fc.nat(6), { maxLength: 2 }),
  param: fc.nat(5),
  literal: fc.oneof(fc.stringMatching(/^[a-z ]{0,10}$/), text),
  timeout: fc.option(seconds, { nil: undefined }),
  extra: mostly(
    pick("llm_workloads.airflow_tasks.decision:read_decision", "peft==0.13.2", "s3://bucket/a"),
    "llm_workloads.class:run",
    "peft==0.13.2",
    "--index-url https://x",
    "s3://bucket/a",
    "s3://bucket/" + "k".repeat(1490),
  ),
});

const definitionArb = fc.record({
  dagId,
  displayName: text,
  description: text,
  doc: text,
  owner: mostly(pick("ml-platform", "a@b"), "bad owner"),
  tags: fc.array(mostly(pick("llm", "test", "a:b"), "bad tag"), { minLength: 1, maxLength: 3 }),
  schedule: fc.oneof(
    fc.constant({ kind: "manual" }),
    cron.map((c) => ({ kind: "cron", cron: c })),
  ),
  startDate: date,
  params: fc.dictionary(ident, param, { maxKeys: 4 }),
  retries: mostly(pick(2, 3, 2 ** 31 - 1), 1, 2 ** 31),
  retryDelay: seconds,
  execTimeout: seconds,
  dagrunTimeout: fc.option(seconds, { nil: undefined }),
  maxActiveRuns: mostly(pick(1, 16), 0, 2 ** 31),
  tasks: fc.array(taskSketch, { minLength: 1, maxLength: 6 }),
  prefix: pick("", "pr_7__"),
});

type Sketch = typeof definitionArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Sketch, i: number): any {
  const paramNames = Object.keys(s.params);
  const stringParams = paramNames.filter((n) => (s.params[n] as any).type === "string");
  const tasks = s.tasks.map((t, k) => {
    const id = `t${k}`;
    const dependsOn = [...new Set(t.deps.filter((d) => d < k).map((d) => `t${d}`))];
    const ref = stringParams.length > 0 ? { param: stringParams[t.param % stringParams.length]! } : undefined;
    const value = ref === undefined ? t.literal : { concat: [t.literal, ref] };
    const common = {
      id,
      dependsOn,
      ...(t.timeout === undefined ? {} : { executionTimeoutSeconds: t.timeout }),
    };
    switch (t.kind) {
      case "python":
        return {
          kind: "python",
          ...common,
          callable: t.extra.startsWith("llm_workloads")
            ? t.extra
            : "llm_workloads.airflow_tasks.decision:read_decision",
          args: { value, ...(dependsOn[0] ? { up: { xcom: { task: dependsOn[0] } } } : {}) },
        };
      case "slack":
        return { kind: "slack", ...common, connection: "slack_default", channel: "#ai-team", text: value };
      case "anyscaleJob":
        return {
          kind: "anyscaleJob",
          ...common,
          name: `job-${i}-${k}`,
          entrypoint: ["python", "-m", "llm_workloads.x", value],
          imageUri: "anyscale/ray:2.44.1",
          computeConfig: "cpu",
          requirements: t.extra.startsWith("s3://") || t.extra.startsWith("llm_") ? [] : [t.extra],
          env: { VALUE: value },
          maxRetries: 0,
          timeoutSeconds: t.timeout ?? 600,
        };
      case "emitAsset":
        return {
          kind: "emitAsset",
          ...common,
          asset: t.extra.startsWith("s3://") ? t.extra : `s3://bucket/asset-${i}-${k}`,
        };
    }
  });
  return {
    dagId: s.dagId,
    displayName: s.displayName,
    description: s.description,
    doc: s.doc,
    owner: s.owner,
    tags: s.tags,
    schedule: s.schedule,
    startDate: s.startDate,
    params: s.params,
    defaultArgs: {
      retries: s.retries,
      retryDelaySeconds: s.retryDelay,
      executionTimeoutSeconds: s.execTimeout,
    },
    ...(s.dagrunTimeout === undefined ? {} : { dagrunTimeoutSeconds: s.dagrunTimeout }),
    maxActiveRuns: s.maxActiveRuns,
    tasks,
  };
}

describe(`property: validate-accepted definitions render and import into real Airflow (seed ${SEED})`, () => {
  it(`${CASES} generated definitions`, { timeout: 120_000 }, () => {
    const started = performance.now();
    const sketches = fc.sample(definitionArb, { numRuns: CASES, seed: SEED });
    const files: RenderedFile[] = [];
    const expected: { dagId: string; task: string; field: string; want: unknown }[] = [];
    const broken: { index: number; stage: string; error: string }[] = [];
    let refused = 0;
    const reasons = new Map<string, number>();
    sketches.forEach((s, i) => {
      const file = `defs/contract_${i}.ts`;
      // Dag ids made unique across the batch (one Airflow folder) without changing their shape.
      const input = build({ ...s, dagId: `${s.dagId.slice(0, 240)}_${i}` }, i);
      let pipeline: Pipeline;
      try {
        pipeline = parsePipeline(input, file);
      } catch (e) {
        if (!(e instanceof DefinitionError)) broken.push({ index: i, stage: "validate", error: String(e) });
        else if (e.issues.some((x) => x.file !== file || x.message === ""))
          broken.push({ index: i, stage: "validate", error: e.message });
        refused++;
        if (process.env.CONTRACT_TIMING && e instanceof DefinitionError)
          for (const x of e.issues)
            reasons.set(x.message.slice(0, 50), (reasons.get(x.message.slice(0, 50)) ?? 0) + 1);
        return;
      }
      let rendered: RenderedFile[];
      try {
        rendered = renderAllSync([{ file, pipeline }], s.prefix ? { dagIdPrefix: s.prefix } : {});
      } catch (e) {
        // Options may still refuse (a prefix pushing a name past a limit): allowed only as a RenderError.
        if (!(e instanceof Error) || e.name !== "RenderError")
          broken.push({ index: i, stage: "render", error: String(e) });
        refused++;
        return;
      }
      files.push(...rendered);
      const dagId = `${s.prefix}${pipeline.dagId}`;
      for (const t of pipeline.tasks)
        if (t.kind === "slack" && typeof t.text === "object" && "concat" in t.text) {
          const [lit, ref] = t.text.concat as [string, { param: string }];
          const spec = pipeline.params[ref.param]!;
          expected.push({ dagId, task: t.id, field: "text", want: `${lit}${String(spec.default)}` });
        }
    });
    expect({ seed: SEED, broken: broken.slice(0, 5) }).toEqual({ seed: SEED, broken: [] });
    const accepted = sketches.length - refused;
    if (process.env.CONTRACT_TIMING) console.log([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 15));
    expect(accepted, `seed ${SEED}: too few accepted to test the contract`).toBeGreaterThan(CASES / 10);

    const view = importIntoAirflow(files);
    expect({ seed: SEED, import_errors: view.import_errors }).toEqual({ seed: SEED, import_errors: {} });
    expect({ seed: SEED, yaml_errors: view.yaml_errors }).toEqual({ seed: SEED, yaml_errors: {} });
    const dagFiles = files.filter((f) => f.path.startsWith("dags/")).map((f) => f.path.slice(5, -3));
    // Every accepted definition is a DAG in Airflow (none silently skipped).
    expect({ seed: SEED, missing: dagFiles.filter((d) => !Object.hasOwn(view.dags, d)) }).toEqual({
      seed: SEED,
      missing: [],
    });
    expect(dagFiles).toHaveLength(accepted);
    const got = expected.map((e) => ({ ...e, want: view.dags[e.dagId]?.tasks[e.task]?.[e.field] }));
    expect({ seed: SEED, values: got }).toEqual({ seed: SEED, values: expected });
    if (process.env.CONTRACT_TIMING)
      console.log(
        `seed ${SEED}: ${accepted}/${CASES} accepted, ${(performance.now() - started).toFixed(0)} ms`,
      );
  });
});
