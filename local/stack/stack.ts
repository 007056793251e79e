// `startLocalStack`: the whole platform on one machine, loopback only, free ports. The Anyscale emulator and
// the sinks run in this process; moto and the Airflow components are child process groups. `stop()` ends
// all of it (and is what Ctrl-C calls in `npm run dev`).
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator, type RunningEmulator } from "../anyscale-emulator/server.js";
import { loadScript, startSinks, type RunningSinks } from "../sinks/index.js";
import { ARTIFACT_ROOT } from "../../pipelines/definitions/shared/platform.js";
import { runRenderDags } from "../../pipelines/src/cli/commands/render-dags.js";
import { CliError } from "../../pipelines/src/cli/errors.js";
import { startAirflow, type RunningAirflow } from "./airflow.js";
import { cloudNames, createComputeConfigs, devComputeConfigs } from "./computeConfigs.js";
import { freePort } from "./ports.js";
import { stopLeftovers, type ManagedProcess } from "./processes.js";
import { S3_CREDENTIALS, seedS3, startS3, type RunningS3, type SeedReport } from "./s3.js";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** Git-ignored home of the stack's state (AIRFLOW_HOME, logs, emulator work dir, cached metadata DB). */
export const DEFAULT_STATE_DIR = join(REPO, ".local-stack");
/** Zendesk needs a `<subdomain>.zendesk.com` host; zenpy is pointed at the sink by ZENPY_FORCE_*. */
export const ZENDESK_HOST = "localstack.zendesk.com";
export const ZENDESK_EMAIL = "agent@localstack.test";
/** Default model behaviour of the emulator's service versions: every adapter right on 75 % of the items. */
export const DEFAULT_MODEL_SCENARIO = join(REPO, "local", "stack", "fixtures", "models.json");

export interface LocalStackOptions {
  /** Where this run's state goes (default .local-stack/run); wiped at start. */
  stateDir?: string;
  /** Where the migrated Airflow DB is cached across runs (default .local-stack/cache). */
  cacheDir?: string;
  /** Airflow API server port (0 = a free port). */
  airflowPort?: number;
  /** The sinks' script (default local/sinks/fixtures/support-desk.json). */
  sinkScript?: string;
  /** Model behaviour per adapter that the emulator's service versions play (llm_workloads/testing/local_service.py). */
  modelScenario?: string;
  /** Extra AIRFLOW__* settings. */
  airflowConfig?: Record<string, string>;
  /** One line per service as it becomes ready. */
  onProgress?: (event: ProgressEvent) => void;
}

export interface ProgressEvent {
  service: string;
  detail: string;
  /** Since startLocalStack was called ("ready"), or how long stopping took ("stopped"). */
  elapsedMs: number;
  phase?: "ready" | "stopped";
}

export interface LocalStack {
  airflow: { url: string; username: string; password: string; token(): Promise<string> };
  anyscale: { url: string; token: string; emulator: RunningEmulator };
  s3: { endpoint: string; artifactRoot: string; seeded: SeedReport };
  slack: { url: string; apiUrl: string; adminUrl: string };
  zendesk: { url: string; adminUrl: string };
  sinks: RunningSinks;
  /** The environment a local process needs to reach the stack (endpoints and credentials; secrets included). */
  env: Record<string, string>;
  /** Every child process (Airflow components, moto). */
  processes: ManagedProcess[];
  stateDir: string;
  /** Rejects when a child process exits while the stack runs. */
  failed: Promise<never>;
  stop(): Promise<void>;
}

function secret(prefix: string): string {
  return `${prefix}${randomBytes(18).toString("hex")}`;
}

async function renderDags(outDir: string): Promise<number> {
  const out: string[] = [];
  await runRenderDags({ out: outDir }, { out: (t) => out.push(t), err: (t) => out.push(t), cwd: REPO });
  return readdirSync(join(outDir, "dags")).filter((f) => f.endsWith(".py")).length;
}

/** The connections and endpoints every Airflow process gets (AIRFLOW_CONN_* as JSON). */
export function wiring(w: {
  anyscaleUrl: string;
  anyscaleToken: string;
  s3Endpoint: string;
  slackApiUrl: string;
  slackToken: string;
  zendeskUrl: string;
  zendeskToken: string;
  mrFieldId: number;
}): Record<string, string> {
  const conn = (value: Record<string, unknown>) => JSON.stringify(value);
  return {
    ...S3_CREDENTIALS,
    AWS_ENDPOINT_URL: w.s3Endpoint,
    AWS_ENDPOINT_URL_S3: w.s3Endpoint,
    ANYSCALE_HOST: w.anyscaleUrl,
    LLM_LOCAL_STACK: "1",
    ZENPY_FORCE_SCHEME: "http",
    ZENPY_FORCE_NETLOC: new URL(w.zendeskUrl).host,
    ZENDESK_MR_FIELD_ID: String(w.mrFieldId),
    AIRFLOW_CONN_ANYSCALE_CONN: conn({ conn_type: "anyscale", password: w.anyscaleToken }),
    AIRFLOW_CONN_AWS_DEFAULT: conn({
      conn_type: "aws",
      login: S3_CREDENTIALS.AWS_ACCESS_KEY_ID,
      password: S3_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      extra: { endpoint_url: w.s3Endpoint, region_name: S3_CREDENTIALS.AWS_DEFAULT_REGION },
    }),
    AIRFLOW_CONN_SLACK_API_DEFAULT: conn({
      conn_type: "slack",
      password: w.slackToken,
      extra: { base_url: w.slackApiUrl },
    }),
    AIRFLOW_CONN_ZENDESK_DEFAULT: conn({
      conn_type: "zendesk",
      host: ZENDESK_HOST,
      login: ZENDESK_EMAIL,
      password: w.zendeskToken,
      extra: { use_token: true },
    }),
  };
}

/** Marks a directory as a stack state dir, the only kind `startLocalStack` wipes. */
const STATE_MARKER = ".local-stack-state";
/** Group leaders started by a run (see processes.ts `stopLeftovers`). */
export const PID_FILE = "pids.jsonl";

/** Empties the state dir of an earlier run; refuses a non-empty directory that is not one. */
function prepareStateDir(stateDir: string): void {
  if (existsSync(stateDir) && readdirSync(stateDir).length > 0 && !existsSync(join(stateDir, STATE_MARKER))) {
    throw new CliError(`--state-dir ${stateDir}: not empty and not a local-stack state dir; choose another`);
  }
  // Process groups an earlier run could not stop (it was killed) go first; a pid must also match its start time.
  stopLeftovers(join(stateDir, PID_FILE));
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, STATE_MARKER), "state of `npm run dev`; wiped at each start\n");
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const started = Date.now();
  const progress = (service: string, detail: string) =>
    options.onProgress?.({ service, detail, elapsedMs: Date.now() - started });
  const stateDir = resolve(options.stateDir ?? join(DEFAULT_STATE_DIR, "run"));
  const cacheDir = resolve(options.cacheDir ?? join(DEFAULT_STATE_DIR, "cache"));
  // Bad input is refused before anything is touched or started.
  const script = loadScript(options.sinkScript);
  const modelScenario = resolve(options.modelScenario ?? DEFAULT_MODEL_SCENARIO);
  if (!existsSync(modelScenario)) throw new CliError(`${modelScenario}: model scenario file not found`);
  const venv = join(REPO, ".venv");
  for (const tool of ["airflow", "moto_server", "python"]) {
    if (!existsSync(join(venv, "bin", tool))) {
      throw new CliError(
        `${join(venv, "bin", tool)}: missing; build the environment with npm run setup:python`,
      );
    }
  }
  prepareStateDir(stateDir);
  const logDir = join(stateDir, "logs");
  mkdirSync(logDir, { recursive: true });

  const anyscaleToken = secret("sss_local_");
  const slackToken = secret("xoxb-local-");
  const zendeskToken = secret("zd-local-");
  /** What to stop, by name; Airflow's components stop first (they use the rest), then the rest together. */
  const stoppers: { name: string; first: boolean; stop: () => Promise<void> }[] = [];
  const processes: ManagedProcess[] = [];
  let stopping: Promise<void> | undefined;
  const timedStop = async (entry: (typeof stoppers)[number]) => {
    const at = Date.now();
    await entry.stop().catch(() => undefined);
    options.onProgress?.({
      service: entry.name,
      detail: "stopped",
      elapsedMs: Date.now() - at,
      phase: "stopped",
    });
  };
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(stoppers.filter((e) => e.first).map(timedStop));
      await Promise.all(stoppers.filter((e) => !e.first).map(timedStop));
    })());

  try {
    const [s3Port, airflowPort] = [await freePort(), options.airflowPort || (await freePort())];
    const s3Endpoint = `http://127.0.0.1:${s3Port}`;
    const rendering = renderDags(join(stateDir, "build"));
    const s3: RunningS3 = await startS3(venv, s3Port, logDir, stateDir, join(stateDir, PID_FILE));
    stoppers.push({ name: s3.process.name, first: false, stop: () => s3.process.stop() });
    processes.push(s3.process);
    progress("s3 (moto)", s3.endpoint);
    const seeding = seedS3({ venv, repo: REPO, endpoint: s3.endpoint, artifactRoot: ARTIFACT_ROOT });

    const sinks = await startSinks({ slackToken, zendeskEmail: ZENDESK_EMAIL, zendeskToken, script });
    stoppers.push({ name: "sinks", first: false, stop: () => sinks.close() });
    progress("slack sink", sinks.slack.apiUrl);
    progress("zendesk sink", sinks.zendesk.url);

    // Jobs run as local processes in .venv with the stack's S3 (the emulator adds ANYSCALE_HOST, its token
    // and LLM_LOCAL_STACK=1, which selects the stand-in trainer); service versions play the model scenario.
    const computeConfigs = devComputeConfigs(REPO);
    const clouds = cloudNames(computeConfigs).map((name, i) => ({
      id: `cld_local${i + 1}`,
      name,
      provider: "AWS" as const,
      region: "us-west-2",
      isDefault: i === 0,
    }));
    const emulator = await startEmulator({
      port: 0,
      token: anyscaleToken,
      clouds,
      workDir: join(stateDir, "anyscale"),
      env: { ...S3_CREDENTIALS, AWS_ENDPOINT_URL: s3Endpoint, AWS_ENDPOINT_URL_S3: s3Endpoint },
      scenarioPath: modelScenario,
    });
    stoppers.push({ name: "anyscale emulator", first: false, stop: () => emulator.close() });
    const created = await createComputeConfigs(
      { url: emulator.url, token: anyscaleToken },
      computeConfigs,
      Object.fromEntries(clouds.map((c) => [c.name, c.id])),
    );
    progress("anyscale emulator", `${emulator.url} (compute configs ${created.join(", ")})`);

    const env = wiring({
      anyscaleUrl: emulator.url,
      anyscaleToken,
      s3Endpoint,
      slackApiUrl: sinks.slack.apiUrl,
      slackToken,
      zendeskUrl: sinks.zendesk.url,
      zendeskToken,
      mrFieldId: sinks.mrFieldId,
    });
    const dags = await rendering;
    progress("dags", `${dags} rendered to ${join(stateDir, "build", "dags")}`);

    const airflow: RunningAirflow = await startAirflow(
      {
        repo: REPO,
        venv,
        home: join(stateDir, "airflow"),
        dagsFolder: join(stateDir, "build", "dags"),
        logDir,
        cacheDir,
        pidFile: join(stateDir, PID_FILE),
        port: airflowPort,
        wiring: env,
        ...(options.airflowConfig ? { config: options.airflowConfig } : {}),
      },
      (component, detail) => progress(`airflow ${component}`, detail),
    ).catch(async (e: unknown) => {
      await seeding.catch(() => undefined);
      throw e;
    });
    for (const p of airflow.processes) stoppers.push({ name: p.name, first: true, stop: () => p.stop() });
    processes.push(...airflow.processes);
    const parsed = await airflow.dagsParsed(dags);
    progress("airflow dags", `${parsed.dags.length} parsed: ${parsed.dags.join(", ")}`);
    for (const error of parsed.importErrors) progress("airflow import error", error);
    const seeded = await seeding;
    progress(
      "s3 seeded",
      Object.values(seeded.datasets)
        .map((d) => `${d.dataset_uri} (${d.count})`)
        .join(", "),
    );

    const failed = new Promise<never>((_, reject) => {
      for (const p of processes) {
        void p.exited.then((code) => {
          if (!stopping) reject(new Error(`${p.name} exited (${code}); log: ${p.logFile}`));
        });
      }
    });
    failed.catch(() => undefined); // observed by whoever awaits it
    return {
      airflow: {
        url: airflow.url,
        username: airflow.username,
        password: airflow.password,
        token: () => airflow.token(),
      },
      anyscale: { url: emulator.url, token: anyscaleToken, emulator },
      s3: { endpoint: s3.endpoint, artifactRoot: ARTIFACT_ROOT, seeded },
      slack: { url: sinks.slack.url, apiUrl: sinks.slack.apiUrl, adminUrl: `${sinks.slack.url}/_sink` },
      zendesk: { url: sinks.zendesk.url, adminUrl: `${sinks.zendesk.url}/_sink` },
      sinks,
      env,
      processes,
      stateDir,
      failed,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
