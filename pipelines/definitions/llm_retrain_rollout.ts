import { definePipeline } from "../src/model/index.js";
import {
  ADAPTER_NAME_PATTERN,
  BASE_MODEL,
  BENCHMARKS_URI,
  pinned,
  COMPUTE,
  DATASET_ROOT,
  DATASET_URI_PATTERN,
  DECISION_RULE,
  DEFAULT_ARGS,
  evaluateArgv,
  finetuneArgv,
  OWNER,
  REGISTRY_URI,
  RUN_ADAPTER,
  RAY_LLM_IMAGE,
  runUri,
  runUriParts,
  SERVICE_NAME,
  SERVICE_SPEC,
  SLACK_CONN_ID,
  AI_TEAM_CHANNEL,
  TRAINING_PARAMS,
  WORKLOADS_DIR,
} from "./shared/platform.js";

const DAG_ID = "llm_retrain_rollout";
/** A new adapter folder per run, so a live adapter is never overwritten and the champion stays servable. */
const CHALLENGER = RUN_ADAPTER;
const CHAMPION = "champion.read";
const champion = (field: string) => ({ xcom: { task: CHAMPION, field } });
const DECISION = "decide.read_decision";
const decision = (field: string) => ({ xcom: { task: DECISION, field } });
/** The frozen benchmark version pinned at the start of the run (never the dataset's own test split). */
const TEST_URI = pinned("file_uri");
const CPU_JOB = {
  imageUri: RAY_LLM_IMAGE,
  computeConfig: COMPUTE.cpu,
  workingDir: WORKLOADS_DIR,
  maxRetries: 1,
  timeoutSeconds: 2 * 3600,
} as const;
const SLACK = { connection: SLACK_CONN_ID, channel: { param: "slack_channel" } } as const;

export default definePipeline({
  dagId: DAG_ID,
  displayName: "LLM: retrain, silent rollout, promote or alert",
  description:
    "Fine-tune a challenger, roll it out silently, evaluate champion and challenger on the frozen benchmark, " +
    "then promote or alert, report, and clean up.",
  doc: [
    "# Retrain and roll out",
    "",
    "0. **champion.read** reads the champion from the model registry (the generation it was read at goes",
    "   with it; the `champion_adapter` param overrides the adapter). **benchmark.pin** reads the model line's",
    "   current frozen benchmark version once (`" + BENCHMARKS_URI + "`): the whole run is judged on it, a",
    "   version frozen meanwhile counts from the next run; the dataset's test split is not the yardstick.",
    "1. **finetune.train_challenger** trains a challenger adapter into a new folder `viggo-<run stamp>`; every",
    "   training or validation record sharing a sentence or meaning group with the benchmark is removed (counted",
    "   in the adapter manifest).",
    "2. **deploy.silent_rollout** (setup) rolls out `" + SERVICE_NAME + "` with **0 %** canary traffic.",
    "3. **evaluate.champion_and_challenger** evaluates both in one job on the pinned benchmark with the same",
    "   settings: the champion on the primary version, the challenger on the canary. The service token is",
    "   resolved by the job at run time, never on a command line.",
    "4. **decide.compare** writes `decision.json` (decision, metrics, margin, confidence intervals, guards, the",
    "   benchmark version and hash, and whether the champion was re-evaluated on a newer benchmark version);",
    "   **decide.read_decision** puts the small decision dict in XCom; **decide.route** branches on it.",
    "5. **registry.record_promotion** appends the challenger to the registry at the next generation",
    "   (create-only: a run whose champion changed meanwhile fails here, before touching the service); then",
    "   **promote** shifts 100 % of the traffic to the challenger version, which serves the stable model",
    "   name `viggo`. Otherwise **alert** tells the AI team on Slack.",
    "6. **report.build** writes the fine-tuning report (Markdown and charts); **report.post** posts it to Slack.",
    "7. **cleanup.rollback_canary** (teardown) rolls back an unpromoted canary, also when a step failed; the",
    "   run still ends failed when a step failed.",
    "",
    "Champion: `" + BASE_MODEL + ":<the registry's champion adapter>`; users call the stable name `viggo`.",
  ].join("\n"),
  owner: OWNER,
  tags: ["llm", "retraining", "anyscale"],
  schedule: { kind: "manual" },
  params: {
    dataset_uri: {
      type: "string",
      default: `${DATASET_ROOT}/seed-500`,
      pattern: DATASET_URI_PATTERN,
      description: "Dataset version folder (set by llm_data_update when it triggers this DAG).",
    },
    champion_adapter: {
      type: "string",
      default: "",
      pattern: `^$|${ADAPTER_NAME_PATTERN}`,
      description:
        "Evaluate against this adapter instead of the registry's champion (empty: the registry's champion). " +
        "A promotion is still recorded after the registry generation read at the start.",
    },
    ...TRAINING_PARAMS,
    slack_channel: { type: "string", default: "#ai-team", pattern: "^(#[a-z0-9_-]+|[CG][A-Z0-9]+)$" },
  },
  defaultArgs: DEFAULT_ARGS,
  maxActiveRuns: 1,
  dagrunTimeoutSeconds: 16 * 3600,
  failureAlert: { connection: SLACK_CONN_ID, channel: AI_TEAM_CHANNEL },
  tasks: [
    {
      kind: "group",
      id: "champion",
      tasks: [
        {
          kind: "python",
          id: "read",
          doc: "The champion to evaluate against, from the model registry, and the generation it was read at.",
          callable: "llm_workloads.airflow_tasks.registry:read_champion",
          args: { registry_uri: REGISTRY_URI, override: { param: "champion_adapter" } },
        },
      ],
    },
    {
      kind: "group",
      id: "benchmark",
      tasks: [
        {
          kind: "python",
          id: "pin",
          doc: "The frozen benchmark version this run is judged on (read once; later tasks take it from XCom).",
          callable: "llm_workloads.airflow_tasks.benchmark:pin_benchmark",
          args: { benchmarks_uri: BENCHMARKS_URI, registry_uri: REGISTRY_URI },
        },
      ],
    },
    {
      kind: "group",
      id: "finetune",
      dependsOn: ["champion", "benchmark"],
      tasks: [
        {
          kind: "anyscaleJob",
          id: "train_challenger",
          name: "llm-finetune-challenger",
          entrypoint: finetuneArgv({
            datasetUri: { param: "dataset_uri" },
            adapterName: CHALLENGER,
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
          id: "silent_rollout",
          doc: "New service version with 0 % of user traffic; the evaluation reaches it with the canary header.",
          ...SERVICE_SPEC,
          canaryPercent: 0,
        },
      ],
    },
    {
      kind: "group",
      id: "evaluate",
      dependsOn: ["deploy"],
      tooltip: "Same test set, same settings, both models",
      tasks: [
        {
          kind: "anyscaleJob",
          id: "champion_and_challenger",
          doc:
            "One job, both models, same items and settings: the champion on the primary version, the " +
            "challenger on the canary version (`--canary-label challenger`).",
          name: "llm-evaluate-champion-challenger",
          entrypoint: evaluateArgv({
            models: [
              { label: "champion", model: { concat: [`${BASE_MODEL}:`, champion("adapter")] } },
              { label: "challenger", model: { concat: [`${BASE_MODEL}:`, ...CHALLENGER.concat] } },
            ],
            canaryLabels: ["challenger"],
            testUri: TEST_URI,
            outputUri: runUri(DAG_ID, "evaluation"),
          }),
          ...CPU_JOB,
        },
      ],
    },
    {
      kind: "group",
      id: "decide",
      dependsOn: ["evaluate"],
      tasks: [
        {
          kind: "anyscaleJob",
          id: "compare",
          doc: "Writes decision.json; always exits 0 when it could decide (the decision is data, not an exit code).",
          name: "llm-compare",
          entrypoint: [
            "python",
            "-m",
            "llm_workloads.compare",
            "--champion-results",
            runUri(DAG_ID, "evaluation/champion.json"),
            "--challenger-results",
            runUri(DAG_ID, "evaluation/challenger.json"),
            "--primary-metric",
            DECISION_RULE.primaryMetric,
            "--margin",
            String(DECISION_RULE.margin),
            "--confidence",
            String(DECISION_RULE.confidence),
            "--min-items",
            String(DECISION_RULE.minTestItems),
            "--max-mde",
            String(DECISION_RULE.maxMde),
            ...DECISION_RULE.guards.flatMap((g) => ["--guard", g]),
            "--seed",
            { param: "seed" },
            "--decision-uri",
            runUri(DAG_ID, "decision.json"),
            "--benchmark-uri",
            pinned("uri"),
            "--champion-benchmark-version",
            pinned("champion_measured_on"),
          ],
          ...CPU_JOB,
          timeoutSeconds: 1800,
        },
        {
          kind: "python",
          id: "read_decision",
          dependsOn: ["decide.compare"],
          callable: "llm_workloads.airflow_tasks.decision:read_decision",
          args: { decision_uri: runUri(DAG_ID, "decision.json") },
        },
        {
          kind: "branch",
          id: "route",
          dependsOn: [DECISION],
          on: decision("decision"),
          cases: [
            { op: "eq", value: "promote", goTo: ["registry.record_promotion"] },
            { op: "eq", value: "keep_champion", goTo: ["alert"] },
          ],
        },
      ],
    },
    {
      kind: "group",
      id: "registry",
      tasks: [
        {
          kind: "python",
          id: "record_promotion",
          dependsOn: ["decide.route"],
          doc: "The challenger becomes the registry's champion (create-only, at the generation after the one read).",
          callable: "llm_workloads.airflow_tasks.registry:record_champion",
          args: {
            registry_uri: REGISTRY_URI,
            kind: "promotion",
            adapter: CHALLENGER,
            manifest_uri: runUri(DAG_ID, "adapter-manifest.json"),
            evaluation_uri: runUri(DAG_ID, "evaluation/challenger.json"),
            run_id: { macro: "run_id" },
            dag_id: { macro: "dag_id" },
            expected_generation: champion("generation"),
            decision_uri: runUri(DAG_ID, "decision.json"),
            benchmark_uri: pinned("uri"),
            champion_evaluation_uri: runUri(DAG_ID, "evaluation/champion.json"),
          },
        },
      ],
    },
    {
      kind: "anyscaleService",
      id: "promote",
      doc: "Same service spec, 100 % of the traffic to the challenger version (the stable name serves it).",
      dependsOn: ["registry.record_promotion"],
      ...SERVICE_SPEC,
      canaryPercent: 100,
    },
    {
      kind: "slack",
      id: "alert",
      dependsOn: ["decide.route"],
      ...SLACK,
      text: {
        concat: [
          ":warning: Challenger `",
          ...CHALLENGER.concat,
          "` was not promoted: ",
          decision("reason"),
          ". The champion keeps serving; its canary is rolled back.",
        ],
      },
    },
    {
      kind: "group",
      id: "report",
      dependsOn: ["promote", "alert"],
      tasks: [
        {
          kind: "anyscaleJob",
          id: "build",
          doc: "Runs after promote or alert (join after the branch).",
          triggerRule: "none_failed_min_one_success",
          name: "llm-report",
          entrypoint: [
            "python",
            "-m",
            "llm_workloads.report",
            "--evaluation-uri",
            runUri(DAG_ID, "evaluation"),
            "--decision-uri",
            runUri(DAG_ID, "decision.json"),
            "--output-uri",
            runUri(DAG_ID, "report/"),
            "--registry-uri",
            REGISTRY_URI,
          ],
          ...CPU_JOB,
          timeoutSeconds: 1800,
        },
        {
          kind: "slack",
          id: "post",
          dependsOn: ["report.build"],
          ...SLACK,
          text: {
            concat: [
              "Fine-tuning report for `viggo-",
              { macro: "run_stamp" },
              "`: decision *",
              decision("decision"),
              "* (",
              decision("reason"),
              "). Report: ",
              ...runUriParts(DAG_ID, "report/report.md"),
            ],
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
          id: "rollback_canary",
          doc: "Teardown of the silent rollout: rolls back a canary that was not promoted, also after failures.",
          dependsOn: ["report.post"],
          service: SERVICE_NAME,
          action: "rollbackCanary",
          setups: ["deploy.silent_rollout"],
        },
      ],
    },
  ],
});
