/**
 * Values shared by the product's pipelines. This folder is not a definition module (the loader only imports
 * `*.ts` files directly in `pipelines/definitions/`).
 *
 * The service spec lives here, not in params: every rollout of `llm-viggo` must describe the same service
 * (one YAML file per service), and the fine-tune jobs must write adapters where the service loads them from.
 */
import type { ParamSpecSchema, PipelineInput, TaskInput } from "../../src/model/index.js";
import type { z } from "zod";

type ParamInput = z.input<typeof ParamSpecSchema>;

/** An Anyscale job entrypoint as written in a definition. */
export type Argv = Extract<TaskInput, { kind: "anyscaleJob" }>["entrypoint"];
type Str = Argv[number];

export const BASE_MODEL = "mistralai/Mistral-7B-Instruct-v0.1";
/**
 * Hugging Face commit of BASE_MODEL that training and serving load (weights, tokenizer and its chat template):
 * `main` moves, and a changed chat template would silently break the match between training and serving
 * (llm_workloads.chat_template). The training launcher checks this revision's tokenizer template before training.
 */
export const BASE_MODEL_REVISION = "b422f01f8a0eba935d8f7fbc436dc5d1ab25a250";

/** Root of all run artefacts (datasets, adapters, evaluations, reports). One bucket per environment. */
export const ARTIFACT_ROOT = "s3://llm-platform-artifacts";
/** Every adapter lives in its own folder under this root; the service loads adapters from here on demand. */
export const LORA_ROOT = `${ARTIFACT_ROOT}/lora`;
/** Versioned datasets: `<DATASET_ROOT>/<version>/{train,valid,test,rejected}.jsonl`. */
export const DATASET_ROOT = `${ARTIFACT_ROOT}/datasets/viggo`;
/** The asset `llm_data_update` emits for each new dataset version. */
export const DATASET_ASSET = DATASET_ROOT;
/**
 * The model line: the stable model name users call (the service maps it to the champion's adapter) and the
 * prefix of every adapter it trains (`viggo-<run stamp>`).
 */
export const MODEL_LINE = "viggo";
/** The model registry of the line (`llm_workloads.registry`): its champion and their history. */
export const REGISTRY_URI = `${ARTIFACT_ROOT}/registry/${MODEL_LINE}`;
/**
 * The line's frozen benchmark (`llm_workloads.benchmark`): versioned, create-only; every decision of the line is
 * measured on its current version (pinned at the start of a run), and no benchmark item ever enters training.
 * Changing it is `python -m llm_workloads.benchmark freeze ... --reason ...` (a new version).
 */
export const BENCHMARKS_URI = `${ARTIFACT_ROOT}/benchmarks/${MODEL_LINE}`;
/** The benchmark pin task's XCom (`llm_workloads.airflow_tasks.benchmark:pin_benchmark`). */
export const BENCHMARK_PIN = "benchmark.pin";
export const pinned = (field: string) => ({ xcom: { task: BENCHMARK_PIN, field } });
/** The adapter a run trains: a new folder per run, so a live adapter is never overwritten. */
export const RUN_ADAPTER = { concat: [`${MODEL_LINE}-`, { macro: "run_stamp" as const }] };
/** Per-run outputs: `<RUNS_ROOT>/<dag_id>/<run_stamp>/...`. */
export const RUNS_ROOT = `${ARTIFACT_ROOT}/runs`;

/** Repo-relative working dir uploaded to every Anyscale job and service. */
export const WORKLOADS_DIR = "pipelines/workloads";
/** Public, pinned Ray LLM image (vLLM, Ray Serve LLM, torch); LLaMA-Factory is added per job. */
export const RAY_LLM_IMAGE = "anyscale/ray-llm:2.44.1-py311-cu124";

/** Logical compute config keys (= Anyscale compute config names, created by infra). */
export const COMPUTE = {
  finetune: "llm-finetune-gpu",
  serve: "llm-serve-gpu",
  cpu: "llm-batch-cpu",
} as const;

export const SERVICE_NAME = "llm-viggo";

/** Common DAG settings: retries ≥ 2 with backoff, bounded task time. */
export const DEFAULT_ARGS = {
  retries: 2,
  retryDelaySeconds: 300,
  retryExponentialBackoff: true,
  maxRetryDelaySeconds: 1800,
  executionTimeoutSeconds: 3 * 3600,
} satisfies PipelineInput["defaultArgs"];

export const OWNER = "ml-platform";

/** Largest LoRA rank the service loads (vLLM's max_lora_rank): a larger adapter fails every request to it. */
export const SERVICE_MAX_LORA_RANK = 8;

/**
 * The Ray Serve LLM application serving the base model plus any adapter under LORA_ROOT (`<base>:<adapter>`),
 * and the stable name MODEL_LINE as the run's adapter (`model_alias` -> `alias_adapter`, llm_workloads.serving):
 * every version a run rolls out maps the stable name to the adapter that run trained, so the silent rollout is
 * the challenger under the stable name and promotion changes what users get.
 */
export const SERVICE_APPLICATIONS = [
  {
    name: "llm",
    importPath: "llm_workloads.serve_app:build_app",
    routePrefix: "/",
    args: {
      base_model: BASE_MODEL,
      base_model_revision: BASE_MODEL_REVISION,
      lora_root: LORA_ROOT,
      accelerator_type: "A10G",
      min_replicas: 1,
      max_replicas: 2,
      max_ongoing_requests: 64,
      max_model_len: 2048,
      max_lora_rank: SERVICE_MAX_LORA_RANK,
      model_alias: MODEL_LINE,
      alias_adapter: RUN_ADAPTER,
    },
  },
];

/** Service fields every rollout of SERVICE_NAME shares (spread into anyscaleService tasks). */
export const SERVICE_SPEC = {
  name: SERVICE_NAME,
  applications: SERVICE_APPLICATIONS,
  imageUri: RAY_LLM_IMAGE,
  computeConfig: COMPUTE.serve,
  workingDir: WORKLOADS_DIR,
  queryAuthTokenEnabled: true,
  rolloutTimeoutSeconds: 2700,
} as const;

/**
 * Fine-tuning hyper-parameters. Part of the definition, not run-time params: an unattended retrain must train the
 * way the last reviewed change said, the settings are checked here at render time against what serving accepts,
 * and experiments belong in the notebooks. (Fewer params also keeps parsing cheap: Airflow copies and validates
 * every DAG param once per task on each parse.)
 */
export const TRAINING_SETTINGS = {
  epochs: 3,
  learningRate: 0.0001,
  loraRank: 8,
  loraAlpha: 16,
  contextLength: 512,
} as const;

/** Throws when an adapter of `rank` could not be served (checked when the definitions load, i.e. at render time). */
export function assertRankServable(rank: number, maxLoraRank: number): void {
  if (rank > maxLoraRank)
    throw new Error(
      `pipelines/definitions/shared/platform.ts: TRAINING_SETTINGS.loraRank: ${rank} exceeds the service's ` +
        `max_lora_rank ${maxLoraRank}; every request to such an adapter would fail (allowed: 1..${maxLoraRank})`,
    );
}
assertRankServable(TRAINING_SETTINGS.loraRank, SERVICE_MAX_LORA_RANK);

/** Run-time params of every pipeline that trains. */
export const TRAINING_PARAMS = {
  seed: { type: "integer", default: 42, minimum: 0, description: "Random seed for training and evaluation." },
} satisfies Record<string, ParamInput>;

/**
 * Evaluation client settings (bounded concurrency, timeouts, retries, max tokens). Part of the definition, not
 * run-time params: every evaluation of a model line uses the same settings, so metrics stay comparable across
 * retrains, and a change to them is a reviewed pull request. (Fewer params also keeps parsing cheap: Airflow
 * copies and validates every DAG param once per task on each parse.)
 */
export const EVAL_SETTINGS = { concurrency: 16, timeoutSeconds: 60, maxRetries: 3, maxTokens: 128 } as const;

/**
 * The promotion rule (`llm_workloads.compare`). Part of the definition, like TRAINING_SETTINGS: an unattended
 * retrain decides the way the last reviewed change said, not the way a run's conf asks; and fewer params keep
 * parsing cheap. `margin` is the observed improvement required (absolute, primary metric); `maxMde` the largest
 * minimum detectable effect (80 % power) a comparison may have: about 50 test items in about 17 meaning groups
 * detect roughly 0.2, so a limit at the margin would keep every champion ("underpowered"). `minTestItems`: the
 * 80/10/10 split of 500 records gives about 50 test items, so the workload's default of 50 would block most.
 */
export const DECISION_RULE = {
  primaryMetric: "order_insensitive_match",
  margin: 0.02,
  confidence: 0.95,
  minTestItems: 30,
  maxMde: 0.25,
  guards: ["parse_failure_rate=0.01", "act_accuracy=0.02"],
} as const;

/** The Slack connection the pipelines post with (infra provisions it; never chosen per run). */
export const SLACK_CONN_ID = "slack_api_default";
/** Where failure alerts go (every task's on_failure_callback names the failed step). */
export const AI_TEAM_CHANNEL = "#ai-team";

/** A dataset version folder (`s3://.../datasets/viggo/<version>`), no trailing slash. */
export const DATASET_URI_PATTERN = "^(s3|file)://[A-Za-z0-9._/-]+[A-Za-z0-9._-]$";
/** Adapter folder names (the fine-tune job's --adapter-name rule). */
export const ADAPTER_NAME_PATTERN = "^[A-Za-z0-9._-]{1,64}$";

/** `python -m llm_workloads.finetune ...` for an adapter named `adapterName` trained on a dataset version. */
export function finetuneArgv(opts: {
  datasetUri: { param: string };
  adapterName: Str;
  manifestUri: Str;
  /** The pinned benchmark version's manifest: its items are removed from the training data. */
  benchmarkUri: Str;
}): Argv {
  return [
    "python",
    "-m",
    "llm_workloads.finetune",
    "--base-model",
    BASE_MODEL,
    "--base-model-revision",
    BASE_MODEL_REVISION,
    "--train-uri",
    { concat: [opts.datasetUri, "/train.jsonl"] },
    "--valid-uri",
    { concat: [opts.datasetUri, "/valid.jsonl"] },
    "--lora-root",
    LORA_ROOT,
    "--adapter-name",
    opts.adapterName,
    "--seed",
    { param: "seed" },
    "--epochs",
    String(TRAINING_SETTINGS.epochs),
    "--learning-rate",
    String(TRAINING_SETTINGS.learningRate),
    "--lora-rank",
    String(TRAINING_SETTINGS.loraRank),
    "--lora-alpha",
    String(TRAINING_SETTINGS.loraAlpha),
    "--context-length",
    String(TRAINING_SETTINGS.contextLength),
    "--manifest-uri",
    opts.manifestUri,
    "--benchmark-uri",
    opts.benchmarkUri,
  ];
}

/**
 * `python -m llm_workloads.evaluate ...` against the service: every model in one job, on the same test items
 * with the same settings (paired results). `canaryLabels` are routed to the service's canary version. The
 * service URL and token are resolved by the job at run time (Anyscale SDK), never passed on the command line.
 * Output: `<outputUri>/<label>.json` pointers plus per-label results (see llm_workloads.evaluate).
 */
export function evaluateArgv(opts: {
  models: { label: string; model: Str }[];
  canaryLabels: string[];
  testUri: Str;
  outputUri: Str;
}): Argv {
  const modelArgs = opts.models.flatMap(({ label, model }): Argv => [
    "--model",
    typeof model === "string"
      ? `${label}=${model}`
      : "concat" in model
        ? { concat: [`${label}=`, ...model.concat] }
        : { concat: [`${label}=`, model] },
  ]);
  return [
    "python",
    "-m",
    "llm_workloads.evaluate",
    "--service-name",
    SERVICE_NAME,
    ...modelArgs,
    ...opts.canaryLabels.flatMap((l) => ["--canary-label", l]),
    "--test-uri",
    opts.testUri,
    "--output-uri",
    opts.outputUri,
    "--concurrency",
    String(EVAL_SETTINGS.concurrency),
    "--timeout-s",
    String(EVAL_SETTINGS.timeoutSeconds),
    "--max-retries",
    String(EVAL_SETTINGS.maxRetries),
    "--max-tokens",
    String(EVAL_SETTINGS.maxTokens),
    "--seed",
    { param: "seed" },
  ];
}

/** Per-run output prefix: `<RUNS_ROOT>/<dagId>/<run_stamp>/<rest>`. */
export function runUri(dagId: string, rest: string): { concat: RunUriPart[] } {
  return { concat: runUriParts(dagId, rest) };
}

type RunUriPart = string | { macro: "run_stamp" };

/** The parts of runUri, to embed in a longer concat. */
export function runUriParts(dagId: string, rest: string): RunUriPart[] {
  return [`${RUNS_ROOT}/${dagId}/`, { macro: "run_stamp" }, `/${rest}`];
}
