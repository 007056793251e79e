/**
 * The pipeline definition (one Airflow DAG), its schema and the semantic checks zod alone cannot express
 * (ids, graph, branches, templates, secrets). `PipelineSchema.parse` runs all of them.
 */
import { z } from "zod";
import { cronProblem } from "./cron.js";
import { AssetUri, count, Seconds } from "./limits.js";
import { PARAM_NAME_PATTERN, SLACK_CHANNEL_PATTERN } from "./names.js";
import { paramDefaultProblem, ParamSpecSchema } from "./params.js";
import { PlainString } from "./refs.js";
import { ConnectionId, DagId, TaskOrGroupSchema } from "./tasks.js";
import { checkPipelineSemantics } from "./semantics.js";

/** `schedule=None`: runs only when triggered (UI, API, another pipeline). */
export const ManualScheduleSchema = z.strictObject({ kind: z.literal("manual") });

/** `schedule="<cron>"`; Airflow 3 turns it into a CronTriggerTimetable (runs at the tick). */
export const CronScheduleSchema = z.strictObject({
  kind: z.literal("cron"),
  cron: z
    .string()
    .superRefine((v, ctx) => {
      const problem = cronProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .describe("Five-field cron expression or an Airflow preset (@daily, ...)."),
});

/**
 * `schedule=[Asset(uri), ...]`: runs when another pipeline emits the asset(s) (all of them when several).
 * Each URI must be emitted by an `emitAsset` task of one of the loaded pipelines.
 */
export const AssetScheduleSchema = z.strictObject({
  kind: z.literal("asset"),
  assets: z.array(AssetUri).min(1).describe("Asset URIs emitted by other pipelines."),
});

export const ScheduleSchema = z.discriminatedUnion("kind", [
  ManualScheduleSchema,
  CronScheduleSchema,
  AssetScheduleSchema,
]);
export type Schedule = z.infer<typeof ScheduleSchema>;

/** DAG `default_args`. Retries ≥ 2 (Astronomer's DAG tests and our standard require it). */
export const DefaultArgsSchema = z.strictObject({
  retries: count(2, "retries must be at least 2").describe("Task retries (≥ 2)."),
  retryDelaySeconds: Seconds.describe("retry_delay."),
  retryExponentialBackoff: z.boolean().default(true).describe("retry_exponential_backoff."),
  maxRetryDelaySeconds: Seconds.optional().describe("max_retry_delay."),
  executionTimeoutSeconds: Seconds.describe("execution_timeout for every task unless overridden."),
});

const PipelineObject = z.strictObject({
  dagId: DagId,
  displayName: PlainString.min(1).describe("dag_display_name shown in the Airflow UI."),
  description: PlainString.min(1).max(300).describe("One-line description (DAG description)."),
  doc: PlainString.min(1).describe("Markdown shown on the DAG page in the Airflow UI (doc_md)."),
  owner: z
    .string()
    .regex(/^[A-Za-z0-9_.@-]+$/)
    .describe("default_args.owner."),
  tags: z
    .array(z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/))
    .min(1)
    .describe("DAG tags (at least one)."),
  schedule: ScheduleSchema,
  startDate: z.iso
    .date()
    .refine((d) => !d.startsWith("0000"), {
      message: "year 0 does not exist in Python's datetime (years 0001-9999)",
    })
    .default("2026-01-01")
    .describe("Static start_date (UTC, `YYYY-MM-DD`); catchup is always off."),
  params: z
    .record(
      z.string().regex(PARAM_NAME_PATTERN, { message: "param names must be Python identifiers" }),
      ParamSpecSchema,
    )
    .default({})
    .describe("Typed DAG params (airflow.sdk.Param)."),
  defaultArgs: DefaultArgsSchema,
  maxActiveRuns: count(1).describe("max_active_runs."),
  maxActiveTasks: count(1).optional().describe("max_active_tasks."),
  dagrunTimeoutSeconds: Seconds.optional().describe("dagrun_timeout."),
  tasks: z.array(TaskOrGroupSchema).min(1),
  failureAlert: z
    .strictObject({
      connection: ConnectionId.describe("Slack API connection id."),
      channel: z
        .string()
        .regex(SLACK_CHANNEL_PATTERN, { message: "must be a Slack channel id (C0123ABC) or #name" })
        .describe("Channel the alert goes to."),
    })
    .optional()
    .describe(
      "A Slack message naming the failed step, posted when a task fails for good (after its last retry): " +
        "every task's on_failure_callback.",
    ),
});

export type PipelineShape = z.infer<typeof PipelineObject>;

export const PipelineSchema = PipelineObject.superRefine((p, ctx) => {
  for (const [name, spec] of Object.entries(p.params)) {
    const problem = paramDefaultProblem(spec);
    if (problem) ctx.addIssue({ code: "custom", path: ["params", name, "default"], message: problem });
  }
  for (const issue of checkPipelineSemantics(p)) ctx.addIssue({ code: "custom", ...issue });
}).describe("An Airflow 3 pipeline (one DAG) rendered from a typed definition.");

export type Pipeline = z.infer<typeof PipelineSchema>;
export type PipelineInput = z.input<typeof PipelineSchema>;

/** Identity helper so definition modules get types and editor completion. */
export function definePipeline(p: PipelineInput): PipelineInput {
  return p;
}
