import { definePipeline } from "../src/model/index.js";
import {
  BASE_MODEL,
  BENCHMARKS_URI,
  pinned,
  COMPUTE,
  DATASET_ROOT,
  DATASET_URI_PATTERN,
  DEFAULT_ARGS,
  evaluateArgv,
  finetuneArgv,
  OWNER,
  REGISTRY_URI,
  RUN_ADAPTER,
  RAY_LLM_IMAGE,
  runUri,
  SERVICE_NAME,
  SERVICE_SPEC,
  TRAINING_PARAMS,
  WORKLOADS_DIR,
  AI_TEAM_CHANNEL,
  SLACK_CONN_ID,
} from "./shared/platform.js";

const DAG_ID = "llm_finetune_deploy";
const ADAPTER = RUN_ADAPTER;

export default definePipeline({
  dagId: DAG_ID,
  displayName: "LLM: fine-tune and deploy",
  description:
    "Fine-tune a LoRA adapter on a curated dataset, serve it, and evaluate it through the service.",
  doc: [
    "# Fine-tune and deploy",
    "",
    "0. **benchmark.pin** reads the model line's frozen benchmark (`" + BENCHMARKS_URI + "`); on a first",
    "   deployment it freezes version 1 from the dataset's test split. Change it with",
    "   `python -m llm_workloads.benchmark freeze` (a new version; the next retrain re-evaluates the champion).",
    "1. **finetune.train** trains a LoRA adapter for `" + BASE_MODEL + "` into a new per-run folder",
    "   (`<lora root>/viggo-<run stamp>/`); an existing adapter is never overwritten.",
    "   Records sharing a sentence or meaning group with the benchmark are removed from its data.",
    "2. **deploy.rollout** rolls out the `" +
      SERVICE_NAME +
      "` service (Ray Serve LLM, multi-LoRA). The service",
    "   loads any adapter under the LoRA root on demand, so it serves this adapter as `<base>:<adapter>`.",
    "3. **evaluate.run** evaluates the adapter through the service on the frozen benchmark. The job resolves",
    "   the service URL and token itself at run time; no secret is on a command line or in XCom.",
    "4. **registry.record** records the adapter as the champion of the model line (model registry: lineage,",
    "   training settings, metrics); the stable model name now serves it.",
    "5. **cleanup.rollback_unfinished** (teardown) rolls back a rollout left unfinished by a failure.",
    "",
    "Use this for the first model (100 curated samples). Automated retraining is `llm_retrain_rollout`.",
  ].join("\n"),
  owner: OWNER,
  tags: ["llm", "finetune", "anyscale"],
  schedule: { kind: "manual" },
  params: {
    dataset_uri: {
      type: "string",
      default: `${DATASET_ROOT}/curated-100`,
      pattern: DATASET_URI_PATTERN,
      description: "Dataset version folder holding train.jsonl, valid.jsonl and test.jsonl.",
    },
    ...TRAINING_PARAMS,
  },
  defaultArgs: DEFAULT_ARGS,
  maxActiveRuns: 1,
  failureAlert: { connection: SLACK_CONN_ID, channel: AI_TEAM_CHANNEL },
  dagrunTimeoutSeconds: 12 * 3600,
  tasks: [
    {
      kind: "group",
      id: "benchmark",
      tasks: [
        {
          kind: "python",
          id: "pin",
          doc:
            "The model line's current frozen benchmark version; on a first deployment (none frozen yet) version 1 " +
            "is frozen from this dataset's test split.",
          callable: "llm_workloads.airflow_tasks.benchmark:pin_benchmark",
          args: {
            benchmarks_uri: BENCHMARKS_URI,
            bootstrap_test_uri: { concat: [{ param: "dataset_uri" }, "/test.jsonl"] },
          },
        },
      ],
    },
    {
      kind: "group",
      id: "finetune",
      dependsOn: ["benchmark"],
      tooltip: "Train a LoRA adapter on Anyscale",
      tasks: [
        {
          kind: "anyscaleJob",
          id: "train",
          doc: "LLaMA-Factory LoRA fine-tune; writes the adapter and a manifest (hashes, hyper-parameters, losses).",
          name: "llm-finetune-initial",
          entrypoint: finetuneArgv({
            datasetUri: { param: "dataset_uri" },
            adapterName: ADAPTER,
            manifestUri: runUri(DAG_ID, "adapter-manifest.json"),
            benchmarkUri: pinned("uri"),
          }),
          imageUri: RAY_LLM_IMAGE,
          computeConfig: COMPUTE.finetune,
          workingDir: WORKLOADS_DIR,
          requirements: ["llamafactory==0.9.3"],
          maxRetries: 0,
          timeoutSeconds: 4 * 3600,
          executionTimeoutSeconds: 5 * 3600,
        },
      ],
    },
    {
      kind: "group",
      id: "deploy",
      dependsOn: ["finetune"],
      tasks: [
        {
          kind: "anyscaleService",
          id: "rollout",
          doc: "Roll out the service with all traffic on the new version (a first deployment creates it).",
          ...SERVICE_SPEC,
          canaryPercent: 100,
        },
      ],
    },
    {
      kind: "group",
      id: "evaluate",
      dependsOn: ["deploy"],
      tasks: [
        {
          kind: "anyscaleJob",
          id: "run",
          name: "llm-evaluate-initial",
          entrypoint: evaluateArgv({
            models: [{ label: "finetuned", model: { concat: [`${BASE_MODEL}:`, ...ADAPTER.concat] } }],
            canaryLabels: [],
            testUri: pinned("file_uri"),
            outputUri: runUri(DAG_ID, "evaluation"),
          }),
          imageUri: RAY_LLM_IMAGE,
          computeConfig: COMPUTE.cpu,
          workingDir: WORKLOADS_DIR,
          maxRetries: 1,
          timeoutSeconds: 2 * 3600,
        },
      ],
    },
    {
      kind: "group",
      id: "registry",
      dependsOn: ["evaluate"],
      tasks: [
        {
          kind: "python",
          id: "record",
          doc: "Appends the deployed adapter to the model registry as its champion (create-only entry).",
          callable: "llm_workloads.airflow_tasks.registry:record_champion",
          args: {
            registry_uri: REGISTRY_URI,
            kind: "deployment",
            adapter: ADAPTER,
            manifest_uri: runUri(DAG_ID, "adapter-manifest.json"),
            evaluation_uri: runUri(DAG_ID, "evaluation/finetuned.json"),
            run_id: { macro: "run_id" },
            dag_id: { macro: "dag_id" },
            benchmark_uri: pinned("uri"),
          },
        },
      ],
    },
    {
      kind: "group",
      id: "cleanup",
      tasks: [
        {
          kind: "serviceTeardown",
          id: "rollback_unfinished",
          doc: "Teardown: rolls back a rollout a failure left half-done; a finished rollout is left serving.",
          dependsOn: ["registry.record"],
          service: SERVICE_NAME,
          action: "rollbackCanary",
          setups: ["deploy.rollout"],
        },
      ],
    },
  ],
});
