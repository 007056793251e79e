/**
 * Small definitions for renderer tests: one covering every task kind, and a minimal one. Parsed through the
 * model's own schema, so tests render exactly what validation accepts.
 */
import { PipelineSchema, type Pipeline, type PipelineInput } from "../../../pipelines/src/model/pipeline.js";

export function parsePipeline(input: PipelineInput): Pipeline {
  return PipelineSchema.parse(input);
}

export const minimalInput: PipelineInput = {
  dagId: "minimal",
  displayName: "Minimal",
  description: "One task.",
  doc: "A minimal pipeline.",
  owner: "ml-platform",
  tags: ["test"],
  schedule: { kind: "manual" },
  defaultArgs: { retries: 2, retryDelaySeconds: 60, executionTimeoutSeconds: 600 },
  maxActiveRuns: 1,
  tasks: [
    { kind: "python", id: "hello", callable: "llm_workloads.airflow_tasks.decision:read_decision", args: {} },
  ],
};

export const everyKindInput: PipelineInput = {
  dagId: "every_kind",
  displayName: "Every kind",
  description: "Covers every task kind.",
  doc: "# Every kind\n\nUsed by renderer tests.",
  owner: "ml-platform",
  tags: ["test", "llm"],
  schedule: { kind: "cron", cron: "0 6 * * 1" },
  params: {
    epochs: { type: "integer", default: 3, minimum: 1, maximum: 20, description: "Training epochs." },
    note: { type: "string", default: "hello; rm -rf /", title: "Note" },
    margin: { type: "number", default: 0.02, minimum: 0 },
    dry_run: { type: "boolean", default: false },
    langs: { type: "array", items: { type: "string" }, default: ["en", "de"] },
  },
  defaultArgs: { retries: 2, retryDelaySeconds: 300, executionTimeoutSeconds: 3600 },
  maxActiveRuns: 1,
  tasks: [
    {
      kind: "group",
      id: "data",
      tooltip: "Data refresh",
      tasks: [
        {
          kind: "python",
          id: "prepare",
          callable: "llm_workloads.airflow_tasks.data_update:normalise_join_dedupe",
          args: {
            input_uris: [
              "s3://bucket/raw/a.jsonl",
              { concat: ["s3://bucket/raw/", { macro: "run_stamp" }, ".jsonl"] },
            ],
            dataset_root_uri: "s3://bucket/datasets",
            version: { macro: "run_stamp" },
          },
        },
      ],
    },
    {
      kind: "anyscaleJob",
      id: "finetune",
      dependsOn: ["data"],
      name: "llm-finetune",
      entrypoint: [
        "python",
        "-m",
        "llm_workloads.finetune",
        "--epochs",
        { param: "epochs" },
        "--note",
        { param: "note" },
        "--train-uri",
        { xcom: { task: "data.prepare", field: "train_uri" } },
        "--adapter-name",
        { concat: ["challenger-", { macro: "run_stamp" }] },
        "--literal",
        "it's {a} $HOME",
      ],
      imageUri: "anyscale/image/llm-forge:1",
      computeConfig: "llm-finetune-gpu",
      workingDir: "pipelines/workloads",
      requirements: ["peft==0.13.2"],
      env: { HF_TOKEN: { secret: { connection: "hf_default" } }, MODE: "train", RUN: { macro: "run_id" } },
      maxRetries: 1,
      timeoutSeconds: 7200,
      tags: { team: "ml" },
    },
    {
      kind: "anyscaleService",
      id: "deploy_canary",
      dependsOn: ["finetune"],
      name: "llm-serve",
      applications: [
        {
          name: "llm",
          importPath: "ray.serve.llm:build_openai_app",
          routePrefix: "/",
          args: {
            model: "mistralai/Mistral-7B-Instruct-v0.1",
            adapter: { concat: ["challenger-", { macro: "run_stamp" }] },
          },
        },
      ],
      imageUri: "anyscale/image/llm-forge:1",
      computeConfig: "llm-serve-gpu:3",
      canaryPercent: 0,
      maxSurgePercent: 100,
    },
    {
      kind: "python",
      id: "read_decision",
      dependsOn: ["deploy_canary"],
      callable: "llm_workloads.airflow_tasks.decision:read_decision",
      args: { decision_uri: "s3://bucket/decision.json", class: "x" },
    },
    {
      kind: "branch",
      id: "decide",
      dependsOn: ["read_decision"],
      on: { xcom: { task: "read_decision", field: "decision" } },
      cases: [{ op: "eq", value: "promote", goTo: ["promote"] }],
      otherwise: ["alert"],
    },
    {
      kind: "anyscaleService",
      id: "promote",
      dependsOn: ["decide"],
      name: "llm-serve",
      applications: [
        {
          name: "llm",
          importPath: "ray.serve.llm:build_openai_app",
          routePrefix: "/",
          args: {
            model: "mistralai/Mistral-7B-Instruct-v0.1",
            adapter: { concat: ["challenger-", { macro: "run_stamp" }] },
          },
        },
      ],
      imageUri: "anyscale/image/llm-forge:1",
      computeConfig: "llm-serve-gpu:3",
      canaryPercent: 100,
      maxSurgePercent: 100,
    },
    {
      kind: "slack",
      id: "alert",
      dependsOn: ["decide"],
      connection: "slack_api_default",
      channel: "#ml-alerts",
      text: { concat: ["Challenger kept out for run ", { macro: "run_id" }, " {literal braces}"] },
    },
    {
      kind: "emitAsset",
      id: "publish",
      dependsOn: ["promote", "alert"],
      triggerRule: "none_failed_min_one_success",
      asset: "s3://bucket/models/champion",
      extra: { run: { macro: "run_id" } },
    },
    {
      kind: "triggerPipeline",
      id: "report",
      dependsOn: ["publish"],
      dagId: "minimal",
      conf: { source: { macro: "dag_id" }, note: { param: "note" } },
    },
    {
      kind: "serviceTeardown",
      id: "cleanup",
      dependsOn: ["report"],
      service: "llm-serve",
      action: "rollbackCanary",
      setups: ["deploy_canary"],
    },
  ],
};

/** Every awkward character class in one string (quotes, backslashes, NUL, separators, lone surrogates, braces). */
export const HOSTILE =
  "q' d\" tq''' tdq\"\"\" bs\\ nul\u0000 nl\n cr\r tab\t ls\u2028 ps\u2029 nel\u0085 bom\ufeff zw\u200b " +
  "lone\ud800 low\udfff emoji😀 braces{ } {x} % # $HOME `id` ;|&";

/** A pipeline whose free-text fields are all HOSTILE (the model accepts them: no Jinja markers). */
export const hostileInput: PipelineInput = {
  dagId: "hostile_strings",
  displayName: HOSTILE,
  description: HOSTILE,
  doc: HOSTILE,
  owner: "ml-platform",
  tags: ["test"],
  schedule: { kind: "manual" },
  params: {
    text: { type: "string", default: HOSTILE, description: HOSTILE, title: HOSTILE },
    choice: { type: "string", default: HOSTILE, enum: [HOSTILE, "b"] },
  },
  defaultArgs: { retries: 2, retryDelaySeconds: 60, executionTimeoutSeconds: 600 },
  maxActiveRuns: 1,
  tasks: [
    {
      kind: "group",
      id: "g",
      tooltip: HOSTILE,
      tasks: [
        {
          kind: "python",
          id: "py",
          displayName: HOSTILE,
          doc: HOSTILE,
          callable: "llm_workloads.airflow_tasks.decision:read_decision",
          args: { decision_uri: HOSTILE, nested: { [HOSTILE]: [HOSTILE, 1, 2.5, true, null] } },
        },
      ],
    },
    {
      kind: "anyscaleJob",
      id: "job",
      dependsOn: ["g"],
      name: "hostile-job",
      entrypoint: [
        "python",
        "-c",
        HOSTILE,
        { param: "text" },
        { concat: [HOSTILE, { param: "text" }, HOSTILE] },
      ],
      imageUri: "anyscale/image/hostile:1",
      computeConfig: "cpu-small",
      workingDir: HOSTILE,
      // Requirements are PEP 508 (free text is refused): the YAML- and shell-significant characters it allows.
      requirements: ["a-b.c[x,y]>=1.0,<2; python_version >= \"3.11\" and sys_platform != 'win32'"],
      excludes: [HOSTILE],
      env: {
        PLAIN: HOSTILE,
        NO_BRACES: "cr\r crlf\r\n end\n",
        MIXED: { concat: [HOSTILE, { macro: "run_id" }] },
      },
      maxRetries: 0,
      timeoutSeconds: 60,
      tags: { note: HOSTILE },
    },
    {
      kind: "slack",
      id: "notify",
      dependsOn: ["job"],
      connection: "slack_api_default",
      channel: "#ml-alerts",
      text: { concat: [HOSTILE, { param: "text" }, HOSTILE] },
    },
    {
      kind: "branch",
      id: "choose",
      dependsOn: ["notify"],
      on: { param: "choice" },
      cases: [{ op: "eq", value: HOSTILE, goTo: ["emit"] }],
      otherwise: [],
    },
    {
      kind: "emitAsset",
      id: "emit",
      dependsOn: ["choose"],
      asset: "s3://bucket/hostile",
      extra: { note: HOSTILE },
    },
  ],
};

/** Consumer of the every-kind pipeline's asset; triggers the minimal pipeline. */
export const assetScheduledInput: PipelineInput = {
  dagId: "asset_consumer",
  displayName: "Asset consumer",
  description: "Runs when the champion model asset is updated.",
  doc: "Scheduled on an asset.",
  owner: "ml-platform",
  tags: ["test"],
  schedule: { kind: "asset", assets: ["s3://bucket/models/champion"] },
  defaultArgs: { retries: 3, retryDelaySeconds: 60, executionTimeoutSeconds: 600, maxRetryDelaySeconds: 900 },
  maxActiveRuns: 2,
  maxActiveTasks: 4,
  dagrunTimeoutSeconds: 7200,
  tasks: [
    {
      kind: "triggerPipeline",
      id: "trigger",
      dagId: "minimal",
      conf: { reason: { concat: ["asset update ", { macro: "run_after_iso" }] } },
      waitForCompletion: true,
    },
    {
      kind: "anyscaleService",
      id: "rollout",
      dependsOn: ["trigger"],
      name: "inplace-svc",
      applications: [{ importPath: "app.main:app" }],
      containerfile: "pipelines/workloads/Containerfile",
      computeConfig: "cpu-small",
      canaryPercent: 100,
      inPlace: true,
      queryAuthTokenEnabled: false,
    },
    {
      kind: "python",
      id: "smoke",
      dependsOn: ["rollout"],
      callable: "llm_workloads.airflow_tasks.decision:read_decision",
      args: { decision_uri: "s3://bucket/smoke.json" },
    },
    {
      kind: "serviceTeardown",
      id: "stop",
      dependsOn: ["smoke"],
      service: "inplace-svc",
      action: "terminate",
      setups: ["rollout"],
    },
  ],
};
