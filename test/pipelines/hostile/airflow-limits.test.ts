/**
 * Issue 14, values Airflow refuses at import: a cron string with U+FEFF, an asset URI over 1,500 characters, a
 * start date in year 0, durations past Python's timedelta.max. Want: validation refuses each, naming the field
 * and the allowed range; the same values written into a DAG anyway fail the import in real Airflow (so the limits
 * are Airflow's, not ours); and the boundary values validation accepts import with zero errors.
 */
import { describe, expect, it } from "vitest";
import type { DefinitionError } from "../../../pipelines/src/model/index.js";
import {
  INT32_MAX,
  parsePipeline,
  TIMEDELTA_MAX_SECONDS,
  type Pipeline,
  type PipelineInput,
} from "../../../pipelines/src/model/index.js";
import { renderAllSync, RenderError } from "../../../pipelines/src/render/index.js";
import { validPipeline } from "../fixtures/pipelines.js";
import { importIntoAirflow } from "./airflow.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- cases poke at untyped shapes on purpose */
type Loose = any;

const uri = (n: number): string => `s3://bucket/${"k".repeat(n - "s3://bucket/".length)}`;

/** A pipeline with one emitAsset task (plus the fixture's tasks). */
function base(dagId: string): Loose {
  const p = validPipeline(dagId) as Loose;
  p.tasks.push({ kind: "emitAsset", id: "emit", dependsOn: ["big"], asset: "s3://bucket/ok" });
  return p;
}

interface Case {
  readonly name: string;
  readonly given: (p: Loose) => void;
  readonly want: { path: string; message: RegExp };
  /** Whether real Airflow fails the import when the value is rendered anyway (false: it fails later). */
  readonly airflowRefuses: boolean;
  /**
   * For values the renderer itself refuses: render `with` instead and put the value into the DAG text by
   * replacing `[with's text, value's text]`.
   */
  readonly forceText?: { readonly with: (p: Loose) => void; readonly replace: readonly [string, string] };
}

const cases: Case[] = [
  {
    name: "cron with U+FEFF",
    given: (p) => (p.schedule = { kind: "cron", cron: "0 6 * * *\ufeff" }),
    want: { path: "schedule.cron", message: /contains U\+FEFF \(not printable ASCII\)/ },
    airflowRefuses: true,
  },
  {
    name: "cron with a no-break space",
    given: (p) => (p.schedule = { kind: "cron", cron: "0\u00a06 * * *" }),
    want: { path: "schedule.cron", message: /contains U\+00A0/ },
    airflowRefuses: true,
  },
  {
    name: "emitted asset URI of 1,501 characters",
    given: (p) => (p.tasks[p.tasks.length - 1].asset = uri(1501)),
    want: { path: "tasks.7.asset", message: /at most 1500 characters \(Airflow's limit/ },
    airflowRefuses: true,
    forceText: {
      with: (p) => (p.tasks[p.tasks.length - 1].asset = uri(1500)),
      replace: [uri(1500).slice(12), uri(1501).slice(12)],
    },
  },
  {
    name: "start date in year 0",
    given: (p) => (p.startDate = "0000-01-01"),
    want: { path: "startDate", message: /year 0 does not exist/ },
    airflowRefuses: true,
  },
  {
    name: "dagrun timeout past timedelta.max",
    given: (p) => (p.dagrunTimeoutSeconds = TIMEDELTA_MAX_SECONDS + 1),
    want: {
      path: "dagrunTimeoutSeconds",
      message: /at most 86399999999999 seconds \(Python's timedelta\.max/,
    },
    airflowRefuses: true,
  },
  {
    name: "execution timeout past timedelta.max",
    given: (p) => (p.defaultArgs.executionTimeoutSeconds = 2 ** 52),
    want: { path: "defaultArgs.executionTimeoutSeconds", message: /timedelta\.max/ },
    airflowRefuses: true,
  },
  {
    name: "task retry delay past timedelta.max",
    given: (p) => (p.tasks[0].retryDelaySeconds = TIMEDELTA_MAX_SECONDS + 1),
    want: { path: "tasks.0.retryDelaySeconds", message: /timedelta\.max/ },
    airflowRefuses: true,
  },
  {
    name: "max_active_runs past a 32-bit integer",
    given: (p) => (p.maxActiveRuns = INT32_MAX + 1),
    want: { path: "maxActiveRuns", message: /at most 2147483647 \(a 32-bit integer in Airflow\)/ },
    airflowRefuses: false, // stored in an INTEGER column: fails when the DAG is written to the database
  },
];

function issuesOf(p: unknown): { path: string; message: string }[] {
  try {
    parsePipeline(p, "defs/limits.ts");
    return [];
  } catch (e) {
    return (e as DefinitionError).issues.map((i) => ({ path: i.path, message: i.message }));
  }
}

/** The case's value forced into an otherwise valid parsed pipeline (what validation used to let through). */
function forced(c: Case, dagId: string): Pipeline {
  const parsed = parsePipeline(base(dagId), "defs/forced.ts") as Loose;
  (c.forceText?.with ?? c.given)(parsed);
  return parsed as Pipeline;
}

describe("values Airflow refuses at import", () => {
  it.each(cases)("$name is refused at validate", (c) => {
    const p = base("limits");
    c.given(p);
    const issues = issuesOf(p);
    expect(issues.map((i) => i.path)).toEqual([c.want.path]);
    expect(issues[0]!.message).toMatch(c.want.message);
  });

  it("rendered anyway, the same values fail the import in real Airflow", { timeout: 120_000 }, () => {
    const defs = cases.map((c, i) => ({ file: `defs/forced_${i}.ts`, pipeline: forced(c, `forced_${i}`) }));
    const files = renderAllSync(defs).map((f) => {
      const i = cases.findIndex((c, k) => c.forceText && f.path === `dags/forced_${k}.py`);
      const patch = cases[i]?.forceText?.replace;
      if (patch) expect(f.content).toContain(patch[0]);
      return patch ? { ...f, content: f.content.replace(patch[0], patch[1]) } : f;
    });
    const view = importIntoAirflow(files);
    const failed = cases.map((_, i) =>
      Object.keys(view.import_errors).some((f) => f.endsWith(`/forced_${i}.py`)),
    );
    expect(failed).toEqual(cases.map((c) => c.airflowRefuses));
  });

  it("the boundary values validation accepts import with zero errors", { timeout: 120_000 }, () => {
    const producer = base("limits_producer");
    producer.tasks[producer.tasks.length - 1].asset = uri(1500);
    producer.schedule = { kind: "cron", cron: "0 6 * * 1-5" };
    producer.startDate = "0001-01-01";
    producer.dagrunTimeoutSeconds = TIMEDELTA_MAX_SECONDS;
    producer.defaultArgs.executionTimeoutSeconds = TIMEDELTA_MAX_SECONDS;
    producer.defaultArgs.retryDelaySeconds = TIMEDELTA_MAX_SECONDS;
    producer.tasks[0].retryDelaySeconds = TIMEDELTA_MAX_SECONDS;
    producer.maxActiveRuns = INT32_MAX;
    const consumer = validPipeline("limits_consumer") as Loose;
    consumer.schedule = { kind: "asset", assets: [uri(1500)] };
    const defs = [producer, consumer].map((p: PipelineInput, i) => ({
      file: `defs/ok_${i}.ts`,
      pipeline: parsePipeline(p, `defs/ok_${i}.ts`),
    }));
    const view = importIntoAirflow(renderAllSync(defs));
    expect(view.import_errors).toEqual({});
    expect(Object.keys(view.dags).sort()).toEqual(["limits_consumer", "limits_producer"]);
  });

  it("a prefix that pushes an asset URI past 1,500 characters is refused at render", () => {
    const p = base("prefixed");
    p.tasks[p.tasks.length - 1].asset = uri(1494);
    const defs = [{ file: "defs/prefixed.ts", pipeline: parsePipeline(p, "defs/prefixed.ts") }];
    expect(renderAllSync(defs, { dagIdPrefix: "pr_1__" }).length).toBeGreaterThan(0);
    expect(() => renderAllSync(defs, { dagIdPrefix: "pr_12__" })).toThrow(RenderError);
    expect(() => renderAllSync(defs, { dagIdPrefix: "pr_12__" })).toThrow(
      /tasks\.7\.asset: asset URI with prefix "pr_12__" is 1501 characters, over Airflow's 1500/,
    );
  });
});
