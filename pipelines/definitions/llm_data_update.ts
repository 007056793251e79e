import { definePipeline } from "../src/model/index.js";
import {
  AI_TEAM_CHANNEL,
  DATASET_ASSET,
  DATASET_ROOT,
  DEFAULT_ARGS,
  OWNER,
  runUri,
  SLACK_CONN_ID,
} from "./shared/platform.js";

const DAG_ID = "llm_data_update";
/**
 * Connections are what infra provisions (never chosen per run; fewer params also keep parsing cheap). The Slack
 * connection reads the support channels (channels:history) and posts the summary.
 */
const ZENDESK_CONN_ID = "zendesk_default";
const SINCE = { macro: "run_after_minus_7d_iso" } as const;
const NORMALISED = "build.normalise_join_dedupe";
const out = (name: string) => ({ xcom: { task: NORMALISED, field: name } });

export default definePipeline({
  dagId: DAG_ID,
  displayName: "LLM: refresh training data",
  description:
    "Read Zendesk tickets, Slack messages and an S3 JSONL drop, build a versioned de-duplicated dataset, " +
    "and trigger retraining when it is large enough.",
  doc: [
    "# Refresh training data",
    "",
    "- **fetch.\\*** read the last 7 days (overlapping windows; duplicates are removed later) from Zendesk",
    "  (provider connection), Slack channels (provider connection, `conversations.history`) and the JSONL drop",
    "  in S3 (aws connection). Each writes its raw rows to this run's folder and returns only a URI and counts.",
    "- **build.normalise_join_dedupe** normalises everything to chat training records, joins and de-duplicates,",
    "  and writes a new dataset version `<dataset root>/<run stamp>/` (train/valid/test). Records that cannot be",
    "  used are counted and written to `rejected.jsonl` with their reason, never dropped silently.",
    "- **build.emit_dataset** emits the dataset asset; **build.notify** posts the counts to Slack.",
    "- **gate.enough_records** triggers `llm_retrain_rollout` on the new version when the record count reaches",
    "  `retrain_threshold`; otherwise the run ends without retraining.",
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
    s3_drop_prefix: {
      type: "string",
      default: "s3://llm-platform-artifacts/drops/viggo/",
      pattern: "^(s3|file)://",
      description: "Prefix where teams drop JSONL files of labelled records.",
    },
    retrain_threshold: {
      type: "integer",
      default: 500,
      minimum: 1,
      description: "Retraining is triggered when the new dataset version has at least this many records.",
    },
    slack_channel: { type: "string", default: "#ai-team", pattern: "^(#[a-z0-9_-]+|[CG][A-Z0-9]+)$" },
  },
  defaultArgs: { ...DEFAULT_ARGS, executionTimeoutSeconds: 3600 },
  maxActiveRuns: 1,
  failureAlert: { connection: SLACK_CONN_ID, channel: AI_TEAM_CHANNEL },
  tasks: [
    {
      kind: "group",
      id: "fetch",
      tooltip: "Read the sources (small XComs: URIs and counts only)",
      tasks: [
        {
          kind: "python",
          id: "zendesk_tickets",
          callable: "llm_workloads.airflow_tasks.data_update:fetch_zendesk_tickets",
          args: {
            conn_id: ZENDESK_CONN_ID,
            since_iso: SINCE,
            out_uri: runUri(DAG_ID, "sources/zendesk.jsonl"),
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
          },
        },
        {
          kind: "python",
          id: "s3_jsonl_drop",
          callable: "llm_workloads.airflow_tasks.data_update:read_s3_jsonl_drop",
          args: { prefix_uri: { param: "s3_drop_prefix" }, out_uri: runUri(DAG_ID, "sources/s3-drop.jsonl") },
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
          id: "normalise_join_dedupe",
          callable: "llm_workloads.airflow_tasks.data_update:normalise_join_dedupe",
          args: {
            input_uris: [
              { xcom: { task: "fetch.zendesk_tickets", field: "out_uri" } },
              { xcom: { task: "fetch.slack_messages", field: "out_uri" } },
              { xcom: { task: "fetch.s3_jsonl_drop", field: "out_uri" } },
            ],
            dataset_root_uri: DATASET_ROOT,
            version: { macro: "run_stamp" },
          },
        },
        {
          kind: "emitAsset",
          id: "emit_dataset",
          dependsOn: [NORMALISED],
          asset: DATASET_ASSET,
          extra: { dataset_uri: out("dataset_uri"), count: out("count"), data_hash: out("data_hash") },
        },
        {
          kind: "slack",
          id: "notify",
          dependsOn: [NORMALISED],
          connection: SLACK_CONN_ID,
          channel: { param: "slack_channel" },
          text: {
            concat: [
              "Training data refreshed: ",
              out("count"),
              " records in ",
              out("dataset_uri"),
              " (",
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
      dependsOn: ["build.emit_dataset"],
      tasks: [
        {
          kind: "branch",
          id: "enough_records",
          on: out("count"),
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
