import { definePipeline } from "../src/model/index.js";
import {
  AI_TEAM_CHANNEL,
  ARTIFACT_ROOT,
  COMPUTE,
  DATASET_ASSET,
  DATASET_ROOT,
  DEFAULT_ARGS,
  MODEL_LINE,
  OWNER,
  RAY_LLM_IMAGE,
  REGISTRY_URI,
  runUri,
  SLACK_CONN_ID,
  WORKLOADS_DIR,
} from "./shared/platform.js";

const DAG_ID = "llm_data_update";
/**
 * Connections are what infra provisions (never chosen per run; fewer params also keep parsing cheap). The Slack
 * connection reads the support channels (channels:history) and posts the summary.
 */
const ZENDESK_CONN_ID = "zendesk_default";
/** The first run's window; later runs resume from the cursors in the dataset lineage. */
const SINCE = { macro: "run_after_minus_7d_iso" } as const;
/**
 * Source rows (new fetched rows plus the parent's records) from which the join/de-duplicate/split step runs as
 * an Anyscale job on Ray Data instead of streaming on the Airflow worker. A reviewed constant, not a param:
 * both engines write byte-identical versions (test/workloads/data/test_dataset_accumulate.py), so the choice
 * is about where the work runs, not about the result.
 */
const RAY_MIN_ROWS = 200_000;
/**
 * Where teams drop JSONL files of labelled records. A constant like the connections (infra grants the workers
 * read access to it); fewer params also keep parsing cheap: Airflow copies every param per task on each parse.
 */
const S3_DROP_PREFIX = `${ARTIFACT_ROOT}/drops/${MODEL_LINE}/`;
const PLAN = "build.plan";
const PUBLISHED = "build.publish";
const out = (name: string) => ({ xcom: { task: PUBLISHED, field: name } });
const fetched = (field: string) =>
  ["fetch.zendesk_tickets", "fetch.slack_messages", "fetch.s3_jsonl_drop"].map((task) => ({
    xcom: { task, field },
  }));

export default definePipeline({
  dagId: DAG_ID,
  displayName: "LLM: refresh training data",
  description:
    "Read new Zendesk tickets, Slack messages and S3 drops since the last run, add them to the accumulated " +
    "dataset as a new version, and trigger retraining when enough labelled records are new since the champion.",
  doc: [
    "# Refresh training data",
    "",
    "- **fetch.\\*** read what is new since the cursors in the dataset lineage (`<dataset root>/lineage/`):",
    "  Zendesk's incremental export cursor, each Slack channel's newest `ts` (re-reading a week before it, so",
    "  late thread labels are seen), and the S3 drop objects not read before (by ETag). The first run reads the",
    "  last 7 days. Each writes its rows and its next cursor to this run's folder; XComs hold URIs and counts.",
    "- **build.plan** names the parent version (the lineage head) and the champion's dataset (model registry),",
    "  and picks the engine: streamed on the worker, or **build.on_ray** (an Anyscale job on Ray Data) from",
    `  ${RAY_MIN_ROWS.toLocaleString("en-US")} rows. Both write the same bytes.`,
    "- **build.local** / **build.on_ray** write version `<dataset root>/<run stamp>/` = the parent's records plus",
    "  the new ones, a relabelled record replacing its older label, each record in the split of its meaning",
    "  group for ever; `changes.jsonl` lists what was added, replaced and removed, `rejected.jsonl` every row kept",
    "  aside with its reason. Nothing changed: no version.",
    "- **build.publish** appends the lineage entry (new head, new cursors) last: a failed run leaves the cursors.",
    "- **build.changed** goes on only for a new version: it emits the dataset asset and runs the gate;",
    "  **build.notify** posts the counts either way.",
    "- **gate.enough_records** triggers `llm_retrain_rollout` when the labelled records new since the champion's",
    "  training dataset reach `retrain_threshold`: unchanged data never retrains.",
  ].join("\n"),
  owner: OWNER,
  tags: ["llm", "data"],
  schedule: { kind: "cron", cron: "0 5 * * *" },
  params: {
    slack_channel_ids: {
      type: "array",
      items: { type: "string" },
      default: ["C0VIGGO0001"],
      minItems: 1,
      description: "Slack channel ids to read.",
    },
    retrain_threshold: {
      type: "integer",
      default: 500,
      minimum: 1,
      description:
        "Retraining is triggered when at least this many labelled records are new since the champion's dataset.",
    },
  },
  defaultArgs: { ...DEFAULT_ARGS, executionTimeoutSeconds: 3600 },
  maxActiveRuns: 1,
  failureAlert: { connection: SLACK_CONN_ID, channel: AI_TEAM_CHANNEL },
  tasks: [
    {
      kind: "group",
      id: "fetch",
      tooltip: "Read what is new in each source since its cursor (small XComs: URIs and counts only)",
      tasks: [
        {
          kind: "python",
          id: "zendesk_tickets",
          callable: "llm_workloads.airflow_tasks.data_update:fetch_zendesk_tickets",
          args: {
            conn_id: ZENDESK_CONN_ID,
            since_iso: SINCE,
            out_uri: runUri(DAG_ID, "sources/zendesk.jsonl"),
            dataset_root_uri: DATASET_ROOT,
          },
        },
        {
          kind: "python",
          id: "slack_messages",
          callable: "llm_workloads.airflow_tasks.data_update:fetch_slack_messages",
          args: {
            conn_id: SLACK_CONN_ID,
            channel_ids: { param: "slack_channel_ids" },
            since_iso: SINCE,
            out_uri: runUri(DAG_ID, "sources/slack.jsonl"),
            dataset_root_uri: DATASET_ROOT,
          },
        },
        {
          kind: "python",
          id: "s3_jsonl_drop",
          callable: "llm_workloads.airflow_tasks.data_update:read_s3_jsonl_drop",
          args: {
            prefix_uri: S3_DROP_PREFIX,
            out_uri: runUri(DAG_ID, "sources/s3-drop.jsonl"),
            dataset_root_uri: DATASET_ROOT,
          },
        },
      ],
    },
    {
      kind: "group",
      id: "build",
      dependsOn: ["fetch"],
      tasks: [
        {
          kind: "python",
          id: "plan",
          callable: "llm_workloads.airflow_tasks.data_update:plan_build",
          args: {
            input_uris: fetched("out_uri"),
            input_counts: fetched("count"),
            lineage_generations: fetched("lineage_generation"),
            dataset_root_uri: DATASET_ROOT,
            version: { macro: "run_stamp" },
            plan_uri: runUri(DAG_ID, "build/plan.json"),
            registry_uri: REGISTRY_URI,
            ray_min_rows: RAY_MIN_ROWS,
          },
        },
        {
          kind: "branch",
          id: "engine",
          dependsOn: [PLAN],
          on: { xcom: { task: PLAN, field: "engine" } },
          cases: [{ op: "eq", value: "ray", goTo: ["build.on_ray"] }],
          otherwise: ["build.local"],
        },
        {
          kind: "python",
          id: "local",
          dependsOn: ["build.engine"],
          callable: "llm_workloads.airflow_tasks.data_update:build_dataset",
          args: { plan_uri: { xcom: { task: PLAN, field: "plan_uri" } } },
        },
        {
          kind: "anyscaleJob",
          id: "on_ray",
          dependsOn: ["build.engine"],
          doc: "The same build on Ray Data (llm_workloads.dataset_ray), for sources too large for one worker.",
          name: "llm-dataset-build",
          entrypoint: [
            "python",
            "-m",
            "llm_workloads.dataset_ray",
            "--plan-uri",
            { xcom: { task: PLAN, field: "plan_uri" } },
          ],
          imageUri: RAY_LLM_IMAGE,
          computeConfig: COMPUTE.cpu,
          workingDir: WORKLOADS_DIR,
          maxRetries: 0,
          timeoutSeconds: 4 * 3600,
          executionTimeoutSeconds: 5 * 3600,
        },
        {
          kind: "python",
          id: "publish",
          dependsOn: ["build.local", "build.on_ray"],
          triggerRule: "none_failed_min_one_success",
          callable: "llm_workloads.airflow_tasks.data_update:publish_dataset",
          args: {
            plan_uri: { xcom: { task: PLAN, field: "plan_uri" } },
            cursor_uris: fetched("cursor_uri"),
            run_id: { macro: "run_id" },
          },
        },
        {
          kind: "branch",
          id: "changed",
          dependsOn: [PUBLISHED],
          on: out("changed"),
          // Both at once: the retrain trigger need not wait for the asset event (one scheduling hop less).
          cases: [{ op: "eq", value: true, goTo: ["build.emit_dataset", "gate.enough_records"] }],
          otherwise: [],
        },
        {
          kind: "emitAsset",
          id: "emit_dataset",
          dependsOn: ["build.changed"],
          asset: DATASET_ASSET,
          extra: { dataset_uri: out("dataset_uri"), count: out("count"), data_hash: out("data_hash") },
        },
        {
          kind: "slack",
          id: "notify",
          dependsOn: [PUBLISHED],
          connection: SLACK_CONN_ID,
          channel: AI_TEAM_CHANNEL,
          text: {
            concat: [
              "Training data refreshed: ",
              out("count"),
              " records in ",
              out("dataset_uri"),
              " (",
              out("added"),
              " added, ",
              out("replaced"),
              " relabelled, ",
              out("removed"),
              " removed; ",
              out("new_since_champion"),
              " new since the champion's dataset; ",
              out("rejected_count"),
              " unusable records kept aside in ",
              out("rejected_uri"),
              ").",
            ],
          },
        },
      ],
    },
    {
      kind: "group",
      id: "gate",
      tasks: [
        {
          kind: "branch",
          id: "enough_records",
          dependsOn: ["build.changed"],
          on: out("new_since_champion"),
          cases: [{ op: "gte", value: { param: "retrain_threshold" }, goTo: ["gate.trigger_retraining"] }],
          otherwise: [],
        },
        {
          kind: "triggerPipeline",
          id: "trigger_retraining",
          dependsOn: ["gate.enough_records"],
          dagId: "llm_retrain_rollout",
          conf: { dataset_uri: out("dataset_uri") },
        },
      ],
    },
  ],
});
