// The e2e scenarios (issue 10 §5). Each drives real DAG runs through Airflow's REST API and checks the outcome
// from outside: S3 objects, the emulator's services, jobs and processes, the Slack sink, Airflow's own run,
// task-instance and asset-event records. They run in order on one stack and hand state on: the champion that
// the first deployment creates is what every later scenario must leave serving.
import type { AirflowClient, DagRun } from "./airflow.js";
import { runStamp } from "./airflow.js";
import type {
  EmulatorView,
  FaultSettings,
  S3Reader,
  ServiceView,
  SlackSink,
  ZendeskSink,
} from "./observers.js";
import {
  ARTIFACT_ROOT,
  BASE_MODEL,
  BENCHMARKS_URI,
  DATASET_ROOT,
  LORA_ROOT,
  MODEL_LINE,
  REGISTRY_URI,
  RUNS_ROOT,
  SERVICE_NAME,
} from "../../pipelines/definitions/shared/platform.js";

export const FINETUNE_DAG = "llm_finetune_deploy";
export const DATA_DAG = "llm_data_update";
export const RETRAIN_DAG = "llm_retrain_rollout";
/** The data update's default `retrain_threshold` (pipelines/definitions/llm_data_update.ts). */
const RETRAIN_THRESHOLD = 500;
const RUN_TIMEOUT_MS = 240_000;
/** How long a rolled-back or replaced version's server, or a job's processes, may take to go once a run ended. */
const SETTLE_MS = 3_000;

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export class Checks {
  readonly list: Check[] = [];

  that(name: string, ok: boolean, detail = ""): boolean {
    this.list.push({ name, ok, detail });
    return ok;
  }

  equal(name: string, got: unknown, want: unknown): boolean {
    const ok = JSON.stringify(got) === JSON.stringify(want);
    return this.that(
      name,
      ok,
      ok ? JSON.stringify(got) : `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`,
    );
  }
}

/**
 * Scripted accuracies far enough apart, and near enough to 0 and 1, that the decision rule's power check passes
 * on about 55 test items whichever items the stand-in gets right (its choice depends on the adapter names, which
 * carry the run stamp): 0.6 vs 0.95 left the minimum detectable effect above the 0.25 limit in about 1 of 4 runs.
 */
const CLEARLY_BETTER = { accuracy: 1.0 };
const CLEARLY_WORSE = { accuracy: 0.1 };

/** Model behaviour per adapter for the service versions (local_service.py's scenario file). */
export interface ModelScenario {
  default: { accuracy: number };
  adapters?: Record<string, { accuracy: number }>;
}

export interface World {
  airflow: AirflowClient;
  s3: S3Reader;
  slack: SlackSink;
  zendesk: ZendeskSink;
  emulator: EmulatorView;
  /** Replaces the model scenario the running service versions play (they re-read it when it changes). */
  setModels(models: ModelScenario): void;
  /** Runs `python -m <module> ...args` in .venv with the stack's endpoints and credentials (as a user would). */
  python(module: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  log(line: string): void;
  /** What scenarios hand on. */
  champion?: { adapter: string; version: string };
  /** The dataset version the data update built at the threshold, and the retrain run it triggered. */
  bigDataset?: string;
  triggeredRun?: string;
  /** The frozen benchmark version the retrains are judged on (the seeded one until a scenario freezes another). */
  benchmark?: { version: number; sha256: string };
}

export interface ScenarioOutcome {
  /** Runs that ended (their end time starts the "left running" clock). */
  runs: DagRun[];
  /** When the scenario's last action ended, when it ran no DAG (default: the runs' end). */
  endedMs?: number;
  wallMs?: number;
}

export interface Scenario {
  name: string;
  run(world: World, checks: Checks): Promise<ScenarioOutcome>;
}

const adapterOf = (run: DagRun) => `viggo-${runStamp(run.run_after)}`;
const runRoot = (dagId: string, run: DagRun) => `${RUNS_ROOT}/${dagId}/${runStamp(run.run_after)}`;

async function trigger(world: World, dagId: string, conf: Record<string, unknown> = {}): Promise<DagRun> {
  const run = await world.airflow.trigger(dagId, conf);
  world.log(`${dagId} ${run.dag_run_id} triggered ${JSON.stringify(conf)}`);
  return finish(world, dagId, run.dag_run_id);
}

async function finish(
  world: World,
  dagId: string,
  runId: string,
  onPoll?: () => Promise<void>,
): Promise<DagRun> {
  const run = await world.airflow.waitForRun(dagId, runId, RUN_TIMEOUT_MS, onPoll);
  world.log(`${dagId} ${runId} ${run.state}`);
  return run;
}

async function service(world: World): Promise<ServiceView> {
  const s = await world.emulator.service(SERVICE_NAME);
  if (!s) throw new Error(`emulator: no service ${SERVICE_NAME}`);
  return s;
}

/** The champion keeps serving: the service runs one version, the champion's, at 100 %, and answers users. */
async function championServes(world: World, c: Checks, label: string): Promise<ServiceView> {
  const champion = world.champion;
  const s = await service(world);
  c.equal(`${label}: service state`, s.current_state, "RUNNING");
  c.equal(`${label}: primary version`, s.primary_version?.version, champion?.version);
  c.equal(`${label}: primary weight`, s.primary_version?.weight, 100);
  c.equal(`${label}: canary`, s.canary_version?.version ?? null, null);
  const answer = await world.emulator.query(s, MODEL_LINE);
  c.equal(
    `${label}: the stable name "${MODEL_LINE}" is answered by the champion's version, as its adapter`,
    answer,
    {
      status: 200,
      servedBy: champion?.version,
      model: `${BASE_MODEL}:${champion?.adapter ?? "?"}`,
    },
  );
  c.equal(
    `${label}: the serving version pins the champion's adapter`,
    s.primary_version?.ray_serve_config.applications?.[0]?.args?.alias_adapter,
    champion?.adapter,
  );
  const registryHead = (await registryEntries(world)).at(-1);
  c.equal(`${label}: the registry's champion`, registryHead?.adapter, champion?.adapter);
  return s;
}

interface RegistryEntry {
  generation: number;
  kind: string;
  adapter: string;
  benchmark?: { version: number; sha256: string };
  metrics?: Record<string, number>;
  decision?: string;
  dataset?: { train_uri?: string };
}

/** The registry's entries, read from S3 (oldest first). */
async function registryEntries(world: World): Promise<RegistryEntry[]> {
  const keys = (await world.s3.list(`${REGISTRY_URI}/entries/`)).filter((k) => k.endsWith(".json")).sort();
  return Promise.all(keys.map((k) => world.s3.json<RegistryEntry>(k)));
}

/** Items both evaluations scored (ids), from the results folders the evaluation summaries point at. */
async function itemIds(world: World, summaryUri: string): Promise<string[]> {
  const summary = await world.s3.json<{ results_uri: string }>(summaryUri);
  const rows = await world.s3.jsonl(`${summary.results_uri}/items.jsonl`);
  return rows.map((r) => String(r.id)).sort();
}

interface Decision {
  decision: string;
  champion: { model: string };
  settings: { test_uri: string };
  benchmark?: { version: number; sha256: string; items: number; file_uri: string };
  champion_reevaluated?: { reevaluated: boolean; note: string };
}

interface AdapterManifest {
  arguments: { train_uri: string };
  metrics: { train_records: number };
  benchmark?: { version: number; sha256: string; excluded: { train: number; valid: number } };
}

/** The benchmark's current version, as the store holds it (read from S3). */
async function currentBenchmark(
  world: World,
): Promise<{ version: number; sha256: string; file_uri: string }> {
  const keys = (await world.s3.list(`${BENCHMARKS_URI}/versions/`)).filter((k) => k.endsWith(".json")).sort();
  return world.s3.json(keys.at(-1) ?? `${BENCHMARKS_URI}/versions/(none)`);
}

/**
 * A retrain's yardstick and its training data, checked from outside: decision.json, the registry entry and the
 * adapter manifest name the same benchmark version and hash; the evaluation ran on that version's file; and the
 * records the fine-tune removed are exactly the train records that overlap the benchmark (counted by the
 * benchmark CLI, as a user would), so none of them was trained on.
 */
async function judgedOnBenchmark(
  world: World,
  c: Checks,
  decision: Decision,
  manifest: AdapterManifest,
  expected: { version: number; sha256: string },
): Promise<number> {
  c.equal(
    "decision.json names the pinned benchmark version and hash",
    [decision.benchmark?.version, decision.benchmark?.sha256],
    [expected.version, expected.sha256],
  );
  c.equal("evaluated on the benchmark's file", decision.settings.test_uri, decision.benchmark?.file_uri);
  c.equal(
    "the adapter manifest names the same benchmark",
    [manifest.benchmark?.version, manifest.benchmark?.sha256],
    [expected.version, expected.sha256],
  );
  const out = await world.python("llm_workloads.benchmark", [
    "overlap",
    "--benchmarks-uri",
    BENCHMARKS_URI,
    "--version",
    String(expected.version),
    "--data",
    manifest.arguments.train_uri,
  ]);
  c.equal("benchmark overlap exits 0", out.code, 0);
  const counted = (
    JSON.parse(out.code === 0 ? out.stdout : "{}") as {
      files?: Record<string, { records: number; overlap: number }>;
    }
  ).files?.[manifest.arguments.train_uri];
  c.equal(
    "every train record overlapping the benchmark was removed, and only those (records, removed, trained)",
    [manifest.benchmark?.excluded.train, manifest.metrics.train_records],
    [counted?.overlap, (counted?.records ?? 0) - (counted?.overlap ?? 0)],
  );
  return manifest.benchmark?.excluded.train ?? -1;
}

async function postsSince(world: World, count: number): Promise<string[]> {
  return (await world.slack.messages()).slice(count).map((m) => m.text);
}

async function failureAlerts(world: World, runId: string, since: number): Promise<string[]> {
  return (await postsSince(world, since)).filter((t) => t.startsWith(":x:") && t.includes(runId));
}

/** Fine-tune and deploy: an adapter trained, the service at 100 % on it, evaluation results in S3. */
const fineTuneAndDeploy: Scenario = {
  name: "fine-tune and deploy",
  async run(world, c) {
    const started = await world.airflow.trigger(FINETUNE_DAG);
    world.log(`${FINETUNE_DAG} ${started.dag_run_id} triggered`);
    // While the Anyscale job runs, the task must be deferred (no worker slot held): watched from outside.
    const seen = new Set<string>();
    const run = await finish(world, FINETUNE_DAG, started.dag_run_id, async () => {
      const [states, procs] = await Promise.all([
        world.airflow.taskStates(FINETUNE_DAG, started.dag_run_id),
        world.emulator.processes(),
      ]);
      const jobAlive = procs.some((p) => p.kind === "job" && p.name === "llm-finetune-initial" && p.alive);
      if (jobAlive) seen.add(states["finetune.train"] ?? "none");
    });
    c.equal("run state", run.state, "success");
    c.that(
      "finetune.train is deferred while its job runs",
      seen.has("deferred") && !seen.has("running"),
      `task states seen while the emulator's job was alive: ${[...seen].join(", ") || "(none: the job was never seen alive)"}`,
    );
    const adapter = adapterOf(run);
    for (const file of ["adapter_config.json", "adapter_model.safetensors"]) {
      c.that(
        `adapter ${file} in S3`,
        await world.s3.exists(`${LORA_ROOT}/${adapter}/${file}`),
        `${LORA_ROOT}/${adapter}`,
      );
    }
    const manifest = await world.s3.json<{ adapter_name: string; arguments: { train_uri: string } }>(
      `${runRoot(FINETUNE_DAG, run)}/adapter-manifest.json`,
    );
    c.equal("manifest names the adapter", manifest.adapter_name, adapter);
    c.equal(
      "trained on the curated dataset",
      manifest.arguments.train_uri,
      `${DATASET_ROOT}/curated-100/train.jsonl`,
    );
    const summary = await world.s3.json<{ model: string; results_uri: string }>(
      `${runRoot(FINETUNE_DAG, run)}/evaluation/finetuned.json`,
    );
    c.equal("evaluated model", summary.model, `${BASE_MODEL}:${adapter}`);
    const results = await world.s3.json<{ metrics?: Record<string, unknown> }>(
      `${summary.results_uri}/results.json`,
    );
    c.that(
      "evaluation results hold exact_match",
      typeof results.metrics?.exact_match === "number",
      JSON.stringify(results.metrics ?? {}).slice(0, 200),
    );
    const s = await service(world);
    world.champion = { adapter, version: s.primary_version?.version ?? "?" };
    await championServes(world, c, "service");
    const registry = await registryEntries(world);
    c.equal(
      "the registry's first entry: the deployed adapter, with its metrics",
      registry.map((e) => [e.generation, e.kind, e.adapter, typeof e.metrics?.exact_match]),
      [[1, "deployment", adapter, "number"]],
    );
    const history = await world.emulator.history(s.id);
    // The first apply creates the service: Anyscale ignores canary_percent then, and the runtime sends none.
    c.equal(
      "one apply, creating the service",
      history.map((h) => h.rollback ?? false),
      [false],
    );
    return { runs: [run] };
  },
};

interface DatasetManifest {
  version: string;
  counts: Record<string, number>;
  rejected_by_reason: Record<string, number>;
  parent: { version: string } | null;
  changes: { added: number; replaced: number; removed: number; state_rows: number };
  new_since_champion: { records: number; champion_dataset_uris: string[] };
}

interface LineageEntry {
  generation: number;
  version: string | null;
  dataset_uri: string;
  changed: boolean;
  cursors: { zendesk: Record<string, unknown>; slack: Record<string, string>; s3: Record<string, string> };
}

const recordCount = (m: DatasetManifest) =>
  (m.counts.train ?? 0) + (m.counts.valid ?? 0) + (m.counts.test ?? 0);

/** Every record of a version, by id: its split and its label (read from the split files). */
async function recordsOf(world: World, uri: string): Promise<Map<string, { split: string; label: string }>> {
  const out = new Map<string, { split: string; label: string }>();
  for (const split of ["train", "valid", "test"]) {
    for (const r of await world.s3.jsonl(`${uri}/${split}.jsonl`)) {
      const messages = r.messages as { content: string }[];
      out.set(String(r.id), { split, label: messages[2]?.content ?? "" });
    }
  }
  return out;
}

/** The e2e's own count of "labelled records new since the champion": (sentence, label) pairs not in its dataset. */
async function newSince(world: World, uri: string, championUris: string[]): Promise<number> {
  const key = (r: Record<string, unknown>) => {
    const m = r.messages as { content: string }[];
    const sentence = (m[1]?.content ?? "").replace(/^Here is the target sentence:\n/, "");
    return `${sentence.split(/\s+/).join(" ").trim().toLowerCase()}\u0000${m[2]?.content ?? ""}`;
  };
  const champion = new Set<string>();
  for (const u of championUris) for (const r of await world.s3.jsonl(u)) champion.add(key(r));
  let n = 0;
  for (const split of ["train", "valid", "test"])
    for (const r of await world.s3.jsonl(`${uri}/${split}.jsonl`)) if (!champion.has(key(r))) n++;
  return n;
}

async function lineageHead(world: World): Promise<LineageEntry | undefined> {
  const keys = (await world.s3.list(`${DATASET_ROOT}/lineage/`)).sort();
  const last = keys[keys.length - 1];
  return last ? world.s3.json<LineageEntry>(last) : undefined;
}

/**
 * Data update, three runs over growing sources and a re-run: bad records kept aside, versions that accumulate
 * (the third holds the first's records), a re-run with nothing new gives no version and no retrain, a Zendesk
 * relabel replaces its record, and retraining fires only on labelled records new since the champion's dataset.
 */
const dataUpdate: Scenario = {
  name: "data update",
  async run(world, c) {
    const retrainRunsBefore = new Set((await world.airflow.runs(RETRAIN_DAG)).map((r) => r.dag_run_id));
    const postsBefore = (await world.slack.messages()).length;
    // 1. The daily run the scheduler starts when the DAG is unpaused (catchup off: the latest 05:00), on the
    //    seeded sources: the first version, with fewer new records than the threshold.
    await world.airflow.unpause(DATA_DAG);
    let scheduled: DagRun | undefined;
    for (let i = 0; i < 60 && !scheduled; i++) {
      scheduled = (await world.airflow.runs(DATA_DAG)).find((r) => r.run_type === "scheduled");
      if (!scheduled) await new Promise((r) => setTimeout(r, 500));
    }
    if (!c.that("unpausing starts the daily run", scheduled !== undefined)) return { runs: [] };
    const small = await finish(world, DATA_DAG, (scheduled as DagRun).dag_run_id);
    c.equal("run 1 state", small.state, "success");
    const smallUri = `${DATASET_ROOT}/${runStamp(small.run_after)}`;
    const manifest = await world.s3.json<DatasetManifest>(`${smallUri}/manifest.json`);
    const count = recordCount(manifest);
    c.that(
      "run 1: a first version (no parent) with train/valid/test, every record added",
      count > 0 &&
        (manifest.counts.test ?? 0) > 0 &&
        manifest.parent === null &&
        manifest.changes.added === manifest.changes.state_rows &&
        count <= manifest.changes.state_rows,
      JSON.stringify({ counts: manifest.counts, parent: manifest.parent, changes: manifest.changes }),
    );
    const champion1 = manifest.new_since_champion.champion_dataset_uris;
    const ownCount1 = await newSince(world, smallUri, champion1);
    c.that(
      `run 1: new since the champion's dataset (${ownCount1}, counted here from S3) below ${RETRAIN_THRESHOLD}`,
      manifest.new_since_champion.records === ownCount1 &&
        ownCount1 < RETRAIN_THRESHOLD &&
        champion1.length === 3,
      JSON.stringify(manifest.new_since_champion),
    );
    const rejected = await world.s3.jsonl(`${smallUri}/rejected.jsonl`);
    c.that(
      "rejected records kept aside, each with its reason",
      rejected.length === manifest.counts.rejected &&
        rejected.length > 0 &&
        rejected.every((r) => typeof r.reason === "string" && r.reason),
      `${rejected.length} rejected: ${JSON.stringify(manifest.rejected_by_reason)}`,
    );
    for (const reason of ["invalid JSON", "not a chat record", "label does not parse"]) {
      c.that(
        `the drop's bad line kept aside: ${reason}`,
        rejected.some((r) => String(r.reason).startsWith(reason)),
      );
    }
    const events = await world.airflow.assetEvents(DATA_DAG, small.dag_run_id);
    c.equal(
      "run 1: asset event names the version",
      events.map((e) => [e.uri, e.extra?.dataset_uri, e.extra?.count]),
      [[DATASET_ROOT, smallUri, count]],
    );
    const smallTasks = await world.airflow.taskStates(DATA_DAG, small.dag_run_id);
    c.equal("run 1: retraining not triggered", smallTasks["gate.trigger_retraining"], "skipped");
    c.equal("run 1: built on the worker (local engine)", smallTasks["build.on_ray"], "skipped");
    c.that(
      "run 1: the counts posted to Slack",
      (await postsSince(world, postsBefore)).some((t) => t.includes(`${count} records in ${smallUri}`)),
    );
    const head1 = await lineageHead(world);
    c.that(
      "run 1: the lineage names the version and holds a cursor per source",
      head1?.generation === 1 &&
        head1.dataset_uri === smallUri &&
        typeof head1.cursors.zendesk.after_cursor === "string" &&
        Object.keys(head1.cursors.slack).length > 0 &&
        Object.keys(head1.cursors.s3).length > 0,
      JSON.stringify(head1),
    );

    // 2. The same sources again, with a threshold of 1 (conf): nothing new, so no version, no asset and no retrain,
    //    although the records new since the champion are far above 1.
    const rerun = await trigger(world, DATA_DAG, { retrain_threshold: 1 });
    c.equal("run 2 (nothing new) state", rerun.state, "success");
    const rerunTasks = await world.airflow.taskStates(DATA_DAG, rerun.dag_run_id);
    c.that(
      "run 2: no new version folder",
      !(await world.s3.list(`${DATASET_ROOT}/${runStamp(rerun.run_after)}/`)).length,
    );
    c.equal(
      "run 2: no asset event, no retrain",
      [
        (await world.airflow.assetEvents(DATA_DAG, rerun.dag_run_id)).length,
        rerunTasks["gate.trigger_retraining"],
      ],
      [0, "skipped"],
    );
    const head2 = await lineageHead(world);
    c.that(
      "run 2: the lineage moved on (cursors) at the same version",
      head2?.generation === 2 && !head2.changed && head2.dataset_uri === smallUri,
      JSON.stringify(head2),
    );

    // 3. Sources grow: a team drops a large file of labelled records and an agent relabels a Zendesk ticket.
    const seed = [
      ...(await world.s3.text(`${DATASET_ROOT}/seed-500/train.jsonl`)).split("\n"),
      ...(await world.s3.text(`${DATASET_ROOT}/seed-500/valid.jsonl`)).split("\n"),
      ...(await world.s3.text(`${DATASET_ROOT}/seed-500/test.jsonl`)).split("\n"),
    ].filter((l) => l.trim());
    await world.s3.put(
      "s3://llm-platform-artifacts/drops/viggo/e2e-bulk.jsonl",
      `${seed.join("\n")}\n`,
      "application/x-ndjson",
    );
    const before = await recordsOf(world, smallUri);
    // An agent corrects ticket 102's act (give_opinion -> inform) in Zendesk.
    const relabelled = "zendesk:102";
    const newLabel = "inform(name[Worms: Reloaded], rating[excellent], genres[strategy])";
    c.that("run 1 holds ticket 102", before.has(relabelled));
    await world.zendesk.relabel(102, newLabel);
    const big = await trigger(world, DATA_DAG);
    c.equal("run 3 state", big.state, "success");
    const bigUri = `${DATASET_ROOT}/${runStamp(big.run_after)}`;
    const bigManifest = await world.s3.json<DatasetManifest>(`${bigUri}/manifest.json`);
    const after = await recordsOf(world, bigUri);
    const kept = [...before.keys()].filter((id) => after.has(id));
    c.that(
      "run 3: holds every record of run 1's version, each in the same split (the relabelled one has a new meaning)",
      kept.length === before.size &&
        kept.every((id) => id === relabelled || after.get(id)?.split === before.get(id)?.split),
      `${kept.length}/${before.size} kept`,
    );
    c.that(
      "run 3: its parent is run 1's version; the relabelled ticket replaced its record",
      bigManifest.parent?.version === runStamp(small.run_after) &&
        after.get(relabelled)?.label === newLabel &&
        bigManifest.changes.replaced === 1,
      JSON.stringify({ label: after.get(relabelled), changes: bigManifest.changes }),
    );
    const changes = await world.s3.jsonl(`${bigUri}/changes.jsonl`);
    c.equal(
      "run 3: changes.jsonl lists the relabel with both labels",
      changes.filter((r) => r.change === "replaced").map((r) => [r.id, r.label]),
      [[relabelled, newLabel]],
    );
    // The champion's curated records are among the dropped ones: more records than the threshold, yet fewer NEW
    // labelled records than it, so no retrain (a gate on the record count would have fired here).
    const ownCount3 = await newSince(world, bigUri, bigManifest.new_since_champion.champion_dataset_uris);
    c.that(
      `run 3: the gate's count (${bigManifest.new_since_champion.records}) equals the one counted here, below ${RETRAIN_THRESHOLD} while the version holds more`,
      bigManifest.new_since_champion.records === ownCount3 &&
        ownCount3 < RETRAIN_THRESHOLD &&
        recordCount(bigManifest) >= RETRAIN_THRESHOLD,
      `${ownCount3} new since the champion (${recordCount(bigManifest)} records, ${seed.length} dropped)`,
    );
    const bigTasks = await world.airflow.taskStates(DATA_DAG, big.dag_run_id);
    c.equal(
      "run 3: a new version (asset event), no retrain",
      [
        (await world.airflow.assetEvents(DATA_DAG, big.dag_run_id)).map((e) => e.extra?.dataset_uri),
        bigTasks["gate.trigger_retraining"],
      ],
      [[bigUri], "skipped"],
    );

    // 4. Another team drops new labelled examples: the new records since the champion reach the threshold.
    const prompt = (
      (await world.s3.jsonl(`${DATASET_ROOT}/seed-500/train.jsonl`))[0]?.messages as {
        content: string;
      }[]
    )[0]?.content;
    const more = RETRAIN_THRESHOLD - ownCount3 + 10;
    const lines = Array.from({ length: more }, (_, i) =>
      JSON.stringify({
        id: `e2e-more-${String(i).padStart(3, "0")}`,
        messages: [
          { role: "system", content: prompt },
          {
            role: "user",
            content: `Here is the target sentence:\nIs Starfield Legends ${i + 2} available on Steam?`,
          },
          {
            role: "assistant",
            content: `verify_attribute(name[Starfield Legends ${i + 2}], available_on_steam[yes])`,
          },
        ],
      }),
    );
    await world.s3.put(
      "s3://llm-platform-artifacts/drops/viggo/e2e-more.jsonl",
      `${lines.join("\n")}\n`,
      "application/x-ndjson",
    );
    // The triggered retrain starts at once: its models are scripted now (challenger better).
    world.setModels({
      default: CLEARLY_BETTER,
      adapters: { [world.champion?.adapter ?? "?"]: CLEARLY_WORSE },
    });
    const last = await trigger(world, DATA_DAG);
    c.equal("run 4 state", last.state, "success");
    const lastUri = `${DATASET_ROOT}/${runStamp(last.run_after)}`;
    const lastManifest = await world.s3.json<DatasetManifest>(`${lastUri}/manifest.json`);
    const ownCount4 = await newSince(world, lastUri, lastManifest.new_since_champion.champion_dataset_uris);
    c.that(
      `run 4: ${more} added; the gate's count (${lastManifest.new_since_champion.records}) equals the one counted here, at least ${RETRAIN_THRESHOLD}`,
      lastManifest.changes.added === more &&
        lastManifest.parent?.version === runStamp(big.run_after) &&
        lastManifest.new_since_champion.records === ownCount4 &&
        ownCount4 >= RETRAIN_THRESHOLD,
      JSON.stringify({
        changes: lastManifest.changes,
        new: lastManifest.new_since_champion.records,
        ownCount4,
      }),
    );
    const third = await recordsOf(world, lastUri);
    c.that(
      "run 4: the third version holds every record of the first (the relabelled one with its new label)",
      [...before.keys()].every((id) => third.has(id)) && third.get(relabelled)?.label === newLabel,
      `${[...before.keys()].filter((id) => third.has(id)).length}/${before.size} of the first's records`,
    );
    const lastTasks = await world.airflow.taskStates(DATA_DAG, last.dag_run_id);
    c.equal("run 4: retraining triggered", lastTasks["gate.trigger_retraining"], "success");
    const triggered = (await world.airflow.runs(RETRAIN_DAG)).filter(
      (r) => !retrainRunsBefore.has(r.dag_run_id),
    );
    c.equal(
      "exactly one retrain run over the four runs, with run 4's version in its conf",
      triggered.map((r) => r.conf?.dataset_uri),
      [lastUri],
    );
    world.bigDataset = lastUri;
    world.triggeredRun = triggered[0]?.dag_run_id;
    return { runs: [small, rerun, big, last] };
  },
};

interface Rollout {
  run: DagRun;
  tasks: Record<string, string>;
  silent?: { version: string; percents: (number | null)[]; rolledBack: boolean };
}

/** The applies and rollbacks of one retrain run: everything after the history length it started with. */
async function rolloutOf(world: World, run: DagRun, historyBefore: number): Promise<Rollout> {
  const s = await service(world);
  const after = (await world.emulator.history(s.id)).slice(historyBefore);
  const tasks = await world.airflow.taskStates(RETRAIN_DAG, run.dag_run_id);
  const first = after.find((h) => !h.rollback);
  if (!first) return { run, tasks };
  const same = after.filter((h) => h.version === first.version);
  return {
    run,
    tasks,
    silent: {
      version: first.version,
      percents: same.filter((h) => !h.rollback).map((h) => h.canaryPercent),
      rolledBack: after.some((h) => h.rollback),
    },
  };
}

async function historyLength(world: World): Promise<number> {
  return (await world.emulator.history((await service(world)).id)).length;
}

/**
 * A retrain cycle that promotes: evaluated against the registry's champion, silent rollout at 0 %, promoted to
 * 100 %, recorded in the registry; the stable name then serves the new adapter. The first cycle is the run the
 * data update triggered; the second is triggered by hand and must be judged against the first one's adapter.
 */
function promotes(name: string, cycle: 1 | 2): Scenario {
  return {
    name,
    async run(world, c) {
      const championBefore = world.champion;
      let run: DagRun;
      let historyBefore: number;
      // Cycle 1 started before this scenario: the registry then held only the first deployment.
      let registryBefore = 1;
      if (cycle === 1) {
        if (!c.that("the data update triggered a retrain run", world.triggeredRun !== undefined))
          return { runs: [] };
        // It started when the data update triggered it; the apply history before it is the first deploy's.
        historyBefore = 1;
        run = await finish(world, RETRAIN_DAG, world.triggeredRun as string);
      } else {
        world.setModels({
          default: CLEARLY_BETTER,
          adapters: { [championBefore?.adapter ?? "?"]: CLEARLY_WORSE },
        });
        historyBefore = await historyLength(world);
        registryBefore = (await registryEntries(world)).length;
        run = await trigger(world, RETRAIN_DAG, { dataset_uri: world.bigDataset });
      }
      const r = await rolloutOf(world, run, historyBefore);
      c.equal("run state", run.state, "success");
      c.equal("branch taken", [r.tasks.promote, r.tasks.alert], ["success", "skipped"]);
      const root = runRoot(RETRAIN_DAG, run);
      const decision = await world.s3.json<Decision>(`${root}/decision.json`);
      c.equal("decision.json", decision.decision, "promote");
      c.equal(
        "judged against the registry's champion",
        decision.champion.model,
        `${BASE_MODEL}:${championBefore?.adapter ?? "?"}`,
      );
      const [champ, chall] = await Promise.all([
        itemIds(world, `${root}/evaluation/champion.json`),
        itemIds(world, `${root}/evaluation/challenger.json`),
      ]);
      c.that(
        "both evaluated on the same items",
        champ.length >= 30 && JSON.stringify(champ) === JSON.stringify(chall),
        `${champ.length} items`,
      );
      const manifest = await world.s3.json<AdapterManifest>(`${root}/adapter-manifest.json`);
      // Both cycles are judged on the same frozen version: the one seeded with the stack (read once, by the
      // first cycle that gets here, then handed on).
      world.benchmark ??= await currentBenchmark(world);
      const bench = world.benchmark;
      await judgedOnBenchmark(world, c, decision, manifest, bench);
      c.equal("the benchmark's items were evaluated", champ.length, decision.benchmark?.items);
      c.equal(
        cycle === 1
          ? "the challenger trained on the triggering dataset"
          : "the challenger trained on the given dataset",
        manifest.arguments.train_uri,
        `${world.bigDataset}/train.jsonl`,
      );
      c.equal(
        "silent rollout at 0 %, then promotion of the same version to 100 %",
        r.silent?.percents,
        [0, 100],
      );
      c.that("report in S3", await world.s3.exists(`${root}/report/report.md`), `${root}/report/report.md`);
      const report = await world.s3.text(`${root}/report/report.md`);
      const rows = report.split("\n").filter((l) => /^\| \d+ \| (deployment|promotion|rollback) \|/.test(l));
      // The report runs after the promotion was recorded: its history ends with this run's entry.
      c.equal(
        "the report's champion history lists every entry, this promotion included",
        rows.length,
        registryBefore + 1,
      );
      const adapter = adapterOf(run);
      c.that(
        "report posted to Slack",
        (await world.slack.messages()).some((m) =>
          m.text.startsWith(`Fine-tuning report for \`${adapter}\`: decision *promote*`),
        ),
      );
      const registry = await registryEntries(world);
      const head = registry.at(-1);
      c.equal(
        "the promotion records the benchmark its metrics were measured on",
        [head?.benchmark?.version, head?.benchmark?.sha256],
        [bench.version, bench.sha256],
      );
      c.equal(
        "one registry entry added: the promotion, with its metrics and dataset",
        [
          registry.length - (cycle === 1 ? 1 : registryBefore),
          head?.kind,
          head?.adapter,
          head?.decision,
          head?.dataset?.train_uri,
          typeof head?.metrics?.exact_match,
        ],
        [1, "promotion", adapter, "promote", `${world.bigDataset}/train.jsonl`, "number"],
      );
      world.champion = { adapter, version: r.silent?.version ?? "?" };
      await championServes(world, c, "promoted");
      const procs = await world.emulator.processes();
      c.that(
        "the replaced version's server stopped",
        procs.some((p) => p.kind === "version" && p.version === championBefore?.version && !p.alive),
        `${championBefore?.version}`,
      );
      return { runs: [run] };
    },
  };
}

/** Rollback: the registry command returns the registry and the service to the previous champion together. */
const rollback: Scenario = {
  name: "rollback",
  async run(world, c) {
    const before = await registryEntries(world);
    const previous = before.filter((e) => e.kind !== "rollback").at(-2);
    const started = Date.now();
    const out = await world.python("llm_workloads.registry", [
      "rollback",
      "--registry-uri",
      REGISTRY_URI,
      "--service",
      SERVICE_NAME,
      "--reason",
      "e2e: rollback",
    ]);
    c.equal("registry rollback exits 0", out.code, 0);
    if (out.code !== 0) c.that("rollback stderr", false, out.stderr.slice(-500));
    const after = await registryEntries(world);
    const head = after.at(-1);
    c.equal(
      "a rollback entry names the previous champion",
      [after.length - before.length, head?.kind, head?.adapter],
      [1, "rollback", previous?.adapter],
    );
    const s = await service(world);
    c.that(
      "the service serves a new version (the previous champion's adapter under the stable name)",
      s.primary_version?.version !== world.champion?.version,
      `${world.champion?.version} -> ${s.primary_version?.version}`,
    );
    world.champion = { adapter: previous?.adapter ?? "?", version: s.primary_version?.version ?? "?" };
    await championServes(world, c, "rolled back");
    const ended = new Date().toISOString();
    return { runs: [], endedMs: Date.parse(ended), wallMs: Date.now() - started };
  },
};

/** Challenger worse: keep the champion, alert, the canary rolled back. */
const challengerWorse: Scenario = {
  name: "challenger worse",
  async run(world, c) {
    const champion = world.champion?.adapter ?? "?";
    world.setModels({ default: CLEARLY_WORSE, adapters: { [champion]: CLEARLY_BETTER } });
    const before = await historyLength(world);
    const posts = (await world.slack.messages()).length;
    const registryBefore = (await registryEntries(world)).length;
    // The benchmark changes between cycles, explicitly: v2 = v1 plus 12 of the dataset's training records.
    const previous = await currentBenchmark(world);
    const extra = `${ARTIFACT_ROOT}/e2e/benchmark-extra.jsonl`;
    const trainText = await world.s3.text(`${world.bigDataset ?? "?"}/train.jsonl`);
    await world.s3.put(extra, trainText.split("\n").slice(0, 12).join("\n") + "\n", "application/x-ndjson");
    const frozen = await world.python("llm_workloads.benchmark", [
      "freeze",
      "--benchmarks-uri",
      BENCHMARKS_URI,
      "--from",
      previous.file_uri,
      extra,
      "--reason",
      "e2e: harder items",
    ]);
    c.equal("benchmark freeze exits 0", frozen.code, 0);
    if (frozen.code !== 0) c.that("freeze stderr", false, frozen.stderr.slice(-500));
    const next = await currentBenchmark(world);
    c.equal("a new benchmark version", next.version, previous.version + 1);
    const run = await trigger(world, RETRAIN_DAG, { dataset_uri: world.bigDataset });
    const r = await rolloutOf(world, run, before);
    c.equal("the registry is unchanged", (await registryEntries(world)).length, registryBefore);
    c.equal("run state", run.state, "success");
    c.equal("branch taken", [r.tasks.promote, r.tasks.alert], ["skipped", "success"]);
    const decision = await world.s3.json<Decision>(`${runRoot(RETRAIN_DAG, run)}/decision.json`);
    c.equal("decision.json", decision.decision, "keep_champion");
    const manifest = await world.s3.json<AdapterManifest>(
      `${runRoot(RETRAIN_DAG, run)}/adapter-manifest.json`,
    );
    const removed = await judgedOnBenchmark(world, c, decision, manifest, next);
    c.that(
      "the new benchmark's training records were kept out of training",
      removed >= 12,
      `${removed} removed`,
    );
    c.equal(
      "the decision says the champion was re-evaluated on the new version",
      [decision.champion_reevaluated?.reevaluated, decision.champion_reevaluated?.note.split(" (")[0]],
      [true, `champion re-evaluated on benchmark v${next.version}`],
    );
    world.benchmark = next;
    const adapter = adapterOf(run);
    const texts = await postsSince(world, posts);
    c.that(
      "alert in Slack",
      texts.some((t) => t.startsWith(`:warning: Challenger \`${adapter}\` was not promoted`)),
    );
    c.that(
      "report posted",
      texts.some((t) => t.includes("decision *keep_champion*")),
    );
    c.equal("silent rollout at 0 % only", r.silent?.percents, [0]);
    c.equal(
      "the canary rolled back (teardown)",
      [r.tasks["cleanup.rollback_canary"], r.silent?.rolledBack],
      ["success", true],
    );
    await championServes(world, c, "after");
    return { runs: [run] };
  },
};

/** A step fails for good: the run fails, the canary (if any) is rolled back, the champion serves, one alert. */
/** How the canary of a failed run is cleaned up: by the teardown, by the failed rollout's own undo, or none made. */
type Cleanup = "teardown" | "undo" | "none";

function stepFails(name: string, step: string, faults: FaultSettings, expectCanary: Cleanup): Scenario {
  return {
    name,
    async run(world, c) {
      const before = await historyLength(world);
      const posts = (await world.slack.messages()).length;
      await world.emulator.setFaults(faults);
      let run: DagRun;
      try {
        run = await trigger(world, RETRAIN_DAG, { dataset_uri: world.bigDataset });
      } finally {
        await world.emulator.setFaults({ failingJobNames: [], unhealthyServiceNames: [] });
      }
      const r = await rolloutOf(world, run, before);
      c.equal("run state", run.state, "failed");
      c.equal(`${step} failed`, r.tasks[step], "failed");
      c.equal("nothing promoted", r.tasks.promote === "success", false);
      const alerts = await failureAlerts(world, run.dag_run_id, posts);
      c.that(
        "one alert, naming the failed step",
        alerts.length === 1 && (alerts[0] ?? "").includes(`step \`${step}\` failed`),
        alerts.join(" | ") || "(no alert)",
      );
      const teardown = r.tasks["cleanup.rollback_canary"];
      if (expectCanary === "teardown") {
        c.equal("a canary was deployed at 0 %", r.silent?.percents, [0]);
        c.equal("teardown ran and rolled it back", [teardown, r.silent?.rolledBack], ["success", true]);
      } else if (expectCanary === "undo") {
        // The setup itself failed, so Airflow does not run its teardown (a teardown runs once a setup succeeded);
        // the rollout undid its own canary before failing, which the emulator's history shows.
        c.equal("a canary was deployed at 0 %", r.silent?.percents, [0]);
        c.equal(
          "the failed rollout rolled its canary back; teardown not run",
          [teardown, r.silent?.rolledBack],
          ["upstream_failed", true],
        );
      } else {
        c.equal("no canary was deployed", r.silent, undefined);
        c.equal("teardown not run (its setup never ran)", teardown, "upstream_failed");
      }
      await championServes(world, c, "after");
      return { runs: [run] };
    },
  };
}

export const SCENARIOS: readonly Scenario[] = [
  fineTuneAndDeploy,
  dataUpdate,
  promotes("challenger better", 1),
  promotes("second promotion", 2),
  challengerWorse,
  stepFails(
    "fine-tune fails",
    "finetune.train_challenger",
    { failingJobNames: ["llm-finetune-challenger"] },
    "none",
  ),
  stepFails(
    "canary never healthy",
    "deploy.silent_rollout",
    { unhealthyServiceNames: [SERVICE_NAME] },
    "undo",
  ),
  stepFails(
    "evaluation fails",
    "evaluate.champion_and_challenger",
    { failingJobNames: ["llm-evaluate-champion-challenger"] },
    "teardown",
  ),
  rollback,
];

/**
 * What was left running beyond the champion once the scenario's runs ended: every job still alive and every
 * service version other than the current primary, counted from the end of the scenario's last run until it stopped
 * (or until now), in hours. Waits up to SETTLE_MS for stops that were already under way.
 */
export async function leftRunning(
  world: World,
  endedMs: number,
): Promise<{ hours: number; alive: string[] }> {
  const primary = (await world.emulator.service(SERVICE_NAME))?.primary_version?.version;
  const extra = async () =>
    (await world.emulator.processes()).filter(
      (p) => (p.kind === "job" || p.version !== primary) && (p.alive || (p.endedMs ?? 0) > endedMs),
    );
  const deadline = Date.now() + SETTLE_MS;
  let found = await extra();
  while (found.some((p) => p.alive) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    found = await extra();
  }
  const now = Date.now();
  const ms = found.reduce((sum, p) => sum + Math.max(0, (p.alive ? now : (p.endedMs ?? now)) - endedMs), 0);
  return {
    hours: ms / 3_600_000,
    alive: found.filter((p) => p.alive).map((p) => `${p.kind} ${p.name}${p.version ? ` ${p.version}` : ""}`),
  };
}
