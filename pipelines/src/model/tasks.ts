/**
 * Task kinds (discriminated on `kind`) and task groups.
 *
 * Ids: a task's `id` is local; inside a group its full Airflow task id is `<group>.<id>`. Everything that refers
 * to a task (dependsOn, branch targets, xcom refs, teardown setups) uses the FULL id. `dependsOn` may also name a
 * group (meaning: after the group's leaves; a group's own `dependsOn` applies to the group's roots), exactly as
 * Airflow's `upstream >> group` / `group >> downstream`.
 */
import { z } from "zod";
import {
  ANYSCALE_NAME_MAX,
  ANYSCALE_NAME_PATTERN,
  CALLABLE_PATTERN,
  COMPUTE_CONFIG_PATTERN,
  CONNECTION_ID_PATTERN,
  ENV_NAME_PATTERN,
  IMPORT_PATH_PATTERN,
  LOCAL_TASK_ID_PATTERN,
  SLACK_CHANNEL_PATTERN,
  AIRFLOW_KEY_MAX,
  AIRFLOW_KEY_PATTERN,
  TASK_REF_PATTERN,
  dagIdFileProblem,
  keywordInImportPath,
} from "./names.js";
import { AssetUri, count, Seconds } from "./limits.js";
import {
  ConcatSchema,
  EnvValue,
  JsonTemplated,
  ParamRefSchema,
  PlainString,
  RefSchema,
  TemplatedString,
  XcomRefSchema,
} from "./refs.js";

export const LocalTaskId = z
  .string()
  .regex(LOCAL_TASK_ID_PATTERN, {
    message: "must match ^[A-Za-z0-9_-]+$ (Airflow key characters; '.' is reserved for group prefixes)",
  })
  .max(AIRFLOW_KEY_MAX)
  .describe("Task id, local to its group.");

export const TaskRef = z
  .string()
  .regex(TASK_REF_PATTERN, { message: "must be a full task or group id: `task` or `group.task`" })
  .describe("Full id of a task or group (`group.task` for a task inside a group).");

export const DagId = z
  .string()
  .regex(AIRFLOW_KEY_PATTERN, { message: "must match ^[A-Za-z0-9_.-]+$ (Airflow dag_id rule)" })
  .max(AIRFLOW_KEY_MAX)
  .superRefine((v, ctx) => {
    const problem = dagIdFileProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe("Airflow dag_id.");

/** Refuses Python keywords in an import path (`from llm_workloads.class import ...` is a syntax error). */
function noKeywords(v: string, ctx: z.core.$RefinementCtx<string>): void {
  const kw = keywordInImportPath(v);
  if (kw !== undefined)
    ctx.addIssue({
      code: "custom",
      message: `"${kw}" is a Python keyword, so it cannot be a module or function name (rename it)`,
    });
}

export const AnyscaleName = z
  .string()
  .max(ANYSCALE_NAME_MAX, { message: `must be at most ${ANYSCALE_NAME_MAX} characters (Anyscale limit)` })
  .regex(ANYSCALE_NAME_PATTERN, {
    message:
      "must be lowercase letters, digits and single dashes, start with a letter and end with a letter or digit",
  });

export const ComputeConfigRef = z
  .string()
  .regex(COMPUTE_CONFIG_PATTERN, { message: "must be a compute config `name` or `name:version`" })
  .describe(
    "Logical compute config key = Anyscale compute config name, optionally pinned `name:version`. " +
      "Rendered as-is unless RenderOptions.computeConfigs overrides it.",
  );

export const ConnectionId = z
  .string()
  .regex(CONNECTION_ID_PATTERN, { message: "must be an Airflow connection id ([A-Za-z_][A-Za-z0-9_]*)" });

export const TRIGGER_RULES = [
  "all_success",
  "all_failed",
  "all_done",
  "all_done_min_one_success",
  "all_done_setup_success",
  "one_success",
  "one_failed",
  "one_done",
  "none_failed",
  "none_failed_min_one_success",
  "none_skipped",
  "all_skipped",
  "always",
] as const;
export const TriggerRule = z.enum(TRIGGER_RULES).describe("Airflow trigger rule (default all_success).");
export type TriggerRule = z.infer<typeof TriggerRule>;

/** Trigger rules that let a task run when some of its upstream tasks were skipped by a branch. */
export const JOIN_TRIGGER_RULES: readonly TriggerRule[] = [
  "none_failed_min_one_success",
  "none_failed",
  "one_success",
  "one_done",
  "all_done",
  "all_done_min_one_success",
  "always",
];

/** Fields every task kind accepts. */
const taskBase = {
  id: LocalTaskId,
  displayName: PlainString.optional().describe("task_display_name shown in the Airflow UI."),
  doc: PlainString.optional().describe("Markdown shown in the task's details (doc_md)."),
  dependsOn: z.array(TaskRef).default([]).describe("Full ids of upstream tasks or groups."),
  triggerRule: TriggerRule.optional(),
  retries: count(0).optional().describe("Overrides defaultArgs.retries for this task."),
  retryDelaySeconds: Seconds.optional().describe("Overrides defaultArgs.retryDelaySeconds."),
  executionTimeoutSeconds: Seconds.optional().describe(
    "Overrides defaultArgs.executionTimeoutSeconds (Airflow execution_timeout).",
  ),
};

/** Fields shared by Anyscale jobs and services (the workload part of JobConfig/ServiceConfig). */
const anyscaleWorkload = {
  imageUri: PlainString.optional().describe("Container image URI (exclusive with containerfile)."),
  containerfile: PlainString.optional().describe(
    "Path (repo-relative) of a Containerfile Anyscale builds (exclusive with imageUri).",
  ),
  computeConfig: ComputeConfigRef,
  workingDir: PlainString.optional().describe(
    "Repo-relative directory uploaded as the working dir (e.g. `pipelines/workloads`) or a remote .zip URI.",
  ),
  excludes: z.array(PlainString).optional().describe("Globs excluded from the working dir upload."),
  requirements: z
    .array(PlainString)
    .optional()
    .describe("pip requirement specifiers installed on top of the image."),
  env: z
    .record(
      z.string().regex(ENV_NAME_PATTERN, { message: "env var names must match ^[A-Za-z_][A-Za-z0-9_]*$" }),
      EnvValue,
    )
    .default({})
    .describe("Environment variables; secrets only as { secret: { connection } } references."),
  cloud: PlainString.optional().describe("Anyscale cloud name (default: the organisation's default cloud)."),
  project: PlainString.optional().describe("Anyscale project name."),
  tags: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), PlainString)
    .optional()
    .describe("Anyscale tags."),
  pollIntervalSeconds: Seconds.default(30).describe("How often the operator polls Anyscale."),
};

/**
 * An Anyscale job (rendered as the runtime's deferrable `AnyscaleJob` + `anyscale/jobs/<name>.yaml`).
 * `entrypoint` is an argv list; renderers must shell-quote every element AFTER template rendering (Anyscale
 * entrypoints are shell strings), e.g. via a `shquote` user-defined filter, never by string concatenation.
 */
export const AnyscaleJobTaskSchema = z.strictObject({
  kind: z.literal("anyscaleJob"),
  ...taskBase,
  name: AnyscaleName.describe("Anyscale job name (unique across all pipelines: one YAML file per name)."),
  entrypoint: z
    .array(TemplatedString)
    .min(1, { message: "entrypoint needs at least one argument" })
    .describe(
      "Argument list, e.g. ['python', '-m', 'llm_workloads.finetune', '--epochs', { param: 'epochs' }].",
    ),
  ...anyscaleWorkload,
  maxRetries: count(0).describe("Anyscale-side retries of the job run (JobConfig.max_retries)."),
  timeoutSeconds: Seconds.describe(
    "Job run timeout: JobConfig.timeout_s and the operator's job_timeout_seconds.",
  ),
});

/** A Ray Serve application in an Anyscale service. */
export const ServiceApplicationSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .describe("Serve application name."),
  importPath: z
    .string()
    .regex(IMPORT_PATH_PATTERN, { message: "must be a Ray Serve import path `module.sub:attr`" })
    .superRefine(noKeywords)
    .describe("Ray Serve import path, e.g. `ray.serve.llm:build_openai_app`."),
  routePrefix: z
    .string()
    .regex(/^\/[A-Za-z0-9_/-]*$/)
    .optional()
    .describe("HTTP route prefix (default `/`)."),
  args: z
    .record(z.string(), JsonTemplated)
    .optional()
    .describe("Arguments passed to the application builder."),
});

/**
 * An Anyscale service rollout (rendered as the runtime's deferrable, canary-aware `AnyscaleServiceRollout` + `anyscale/services/<name>.yaml`).
 * `canaryPercent` is REQUIRED: when absent the Anyscale CLI shifts traffic to 100 %, which would make a "silent"
 * rollout loud. `inPlace: true` upgrades without a new cluster; Anyscale refuses a canary with it, so it requires
 * `canaryPercent: 100` (renderers then pass canary_percent=None) and no `maxSurgePercent`.
 * All tasks that roll out the same service name must carry the same service spec (one YAML file per name).
 */
export const AnyscaleServiceTaskSchema = z.strictObject({
  kind: z.literal("anyscaleService"),
  ...taskBase,
  name: AnyscaleName.describe("Anyscale service name."),
  applications: z.array(ServiceApplicationSchema).min(1).describe("Ray Serve applications."),
  ...anyscaleWorkload,
  canaryPercent: z
    .int()
    .min(0)
    .max(100)
    .describe("Traffic share for the new version: 0 = silent canary, 100 = promote. Required."),
  maxSurgePercent: z
    .int()
    .min(0)
    .max(100)
    .optional()
    .describe("Extra capacity during the rollout (Anyscale default 100)."),
  inPlace: z.boolean().default(false).describe("Upgrade in place (no canary; requires canaryPercent 100)."),
  queryAuthTokenEnabled: z.boolean().default(true).describe("Require the service's bearer token on queries."),
  rolloutTimeoutSeconds: Seconds.default(1800).describe(
    "How long the deferred rollout wait may take; then the rollout is rolled back.",
  ),
});

/**
 * Undo what a rollout left behind. Rendered as an Airflow teardown task (`as_teardown(setups=[...])`): it runs
 * after its setups' scope even when a step failed, and does not change the run's final state.
 * - `rollbackCanary`: if a rollout of the service is still in progress with a canary that does not receive 100 %
 *   of the traffic (i.e. it was not promoted), roll it back (`anyscale.service.rollback`); no-op when the service
 *   is absent, no rollout is in progress, or the canary was promoted.
 * - `terminate`: terminate the service (no-op when absent).
 */
export const ServiceTeardownTaskSchema = z.strictObject({
  kind: z.literal("serviceTeardown"),
  ...taskBase,
  service: AnyscaleName.describe("Name of the Anyscale service to clean up."),
  action: z.enum(["rollbackCanary", "terminate"]),
  setups: z
    .array(TaskRef)
    .min(1)
    .describe("Full ids of the setup tasks (the rollouts) whose scope this teardown closes."),
});

/**
 * A Python callable from the workload package run on the Airflow worker (PythonOperator). The renderer imports
 * the module INSIDE the task body (no parse-time cost). Keyword arguments may hold references; the return value
 * (small JSON) becomes the `return_value` XCom.
 */
export const PythonTaskSchema = z.strictObject({
  kind: z.literal("python"),
  ...taskBase,
  callable: z
    .string()
    .regex(CALLABLE_PATTERN, { message: "must be `llm_workloads.<module>:<function>`" })
    .superRefine(noKeywords)
    .describe("`<module>:<function>` in the llm_workloads package."),
  args: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), JsonTemplated)
    .default({})
    .describe("Keyword arguments."),
});

const BranchValue = z.union([PlainString, z.number(), z.boolean(), ParamRefSchema]);

/**
 * Branch on a run-time value (rendered as `@task.branch`). Cases are tried in order; the first match's `goTo`
 * tasks run, the other direct downstream tasks are skipped. With no match, `otherwise` runs (empty: skip all).
 * Every target must be a task (not a group) that lists this branch in its `dependsOn`.
 */
export const BranchTaskSchema = z.strictObject({
  kind: z.literal("branch"),
  ...taskBase,
  on: z.union([XcomRefSchema, ParamRefSchema]).describe("The value compared."),
  cases: z
    .array(
      z.strictObject({
        op: z.enum(["eq", "ne", "gt", "gte", "lt", "lte"]),
        value: BranchValue.describe("Right-hand side (literal or param)."),
        goTo: z.array(TaskRef).min(1).describe("Full ids of the tasks to run when the case matches."),
      }),
    )
    .min(1),
  otherwise: z.array(TaskRef).default([]).describe("Tasks to run when no case matches."),
});

/** Post a Slack message with the Slack provider's hook (the runtime's `SlackPost`; the token lives in the connection). */
export const SlackTaskSchema = z.strictObject({
  kind: z.literal("slack"),
  ...taskBase,
  connection: z
    .union([ConnectionId, ParamRefSchema])
    .describe("Slack API connection id (or a param holding it)."),
  channel: z
    .union([
      z.string().regex(SLACK_CHANNEL_PATTERN, { message: "must be a Slack channel id (C0123ABC) or #name" }),
      ParamRefSchema,
    ])
    .describe("Channel id or #name."),
  text: TemplatedString.describe("Message text (mrkdwn)."),
});

/** Emit an asset event (task with `outlets=[Asset(uri)]`); pipelines scheduled on the URI then run. */
export const EmitAssetTaskSchema = z.strictObject({
  kind: z.literal("emitAsset"),
  ...taskBase,
  asset: AssetUri.describe("Asset URI."),
  extra: z.record(z.string(), JsonTemplated).optional().describe("Metadata attached to the asset event."),
});

/** Trigger another pipeline's DAG (the runtime's `TriggerPipeline`, which runs TriggerDagRunOperator). The target must be one of the loaded pipelines. */
export const TriggerPipelineTaskSchema = z.strictObject({
  kind: z.literal("triggerPipeline"),
  ...taskBase,
  dagId: DagId.describe("dag_id of the pipeline to trigger."),
  conf: z
    .record(z.string(), JsonTemplated)
    .default({})
    .describe("dag_run.conf for the triggered run (params)."),
  waitForCompletion: z.boolean().default(false),
});

export const TaskSchema = z.discriminatedUnion("kind", [
  AnyscaleJobTaskSchema,
  AnyscaleServiceTaskSchema,
  ServiceTeardownTaskSchema,
  PythonTaskSchema,
  BranchTaskSchema,
  SlackTaskSchema,
  EmitAssetTaskSchema,
  TriggerPipelineTaskSchema,
]);
export type Task = z.infer<typeof TaskSchema>;
export type TaskInput = z.input<typeof TaskSchema>;
export type TaskKind = Task["kind"];

/** A TaskGroup (one level; groups do not nest). */
export const TaskGroupSchema = z.strictObject({
  kind: z.literal("group"),
  id: LocalTaskId.describe("Group id, prefix of its tasks' ids."),
  tooltip: PlainString.optional(),
  dependsOn: z.array(TaskRef).default([]).describe("Upstream of the group's root tasks."),
  tasks: z.array(TaskSchema).min(1),
});
export type TaskGroup = z.infer<typeof TaskGroupSchema>;

export const TaskOrGroupSchema = z.discriminatedUnion("kind", [
  AnyscaleJobTaskSchema,
  AnyscaleServiceTaskSchema,
  ServiceTeardownTaskSchema,
  PythonTaskSchema,
  BranchTaskSchema,
  SlackTaskSchema,
  EmitAssetTaskSchema,
  TriggerPipelineTaskSchema,
  TaskGroupSchema,
]);
export type TaskOrGroup = z.infer<typeof TaskOrGroupSchema>;

export type AnyscaleJobTask = z.infer<typeof AnyscaleJobTaskSchema>;
export type AnyscaleServiceTask = z.infer<typeof AnyscaleServiceTaskSchema>;
export type ServiceTeardownTask = z.infer<typeof ServiceTeardownTaskSchema>;
export type PythonTask = z.infer<typeof PythonTaskSchema>;
export type BranchTask = z.infer<typeof BranchTaskSchema>;
export type SlackTask = z.infer<typeof SlackTaskSchema>;
export type EmitAssetTask = z.infer<typeof EmitAssetTaskSchema>;
export type TriggerPipelineTask = z.infer<typeof TriggerPipelineTaskSchema>;
export type ServiceApplication = z.infer<typeof ServiceApplicationSchema>;

// Re-exported so renderers can test value shapes without importing refs.ts directly.
export { ConcatSchema, RefSchema };
