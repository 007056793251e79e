// `npm run e2e`: start the local stack headless, run every scenario through real Airflow, check each outcome
// from outside (S3, the emulator, the Slack sink, Airflow's records), print one line per scenario with its wall
// time and the service-hours left running beyond the champion, and exit non-zero when any check failed.
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { z } from "zod";
import type { CliIo } from "../../pipelines/src/cli/io.js";
import { CliError } from "../../pipelines/src/cli/errors.js";
import { S3_CREDENTIALS } from "../stack/s3.js";
import { DEFAULT_STATE_DIR, REPO, startLocalStack, type LocalStack } from "../stack/stack.js";
import { AirflowClient } from "./airflow.js";
import { EmulatorView, S3Reader, SlackSink, ZendeskSink } from "./observers.js";
import {
  Checks,
  DATA_DAG,
  FINETUNE_DAG,
  leftRunning,
  RETRAIN_DAG,
  SCENARIOS,
  type ModelScenario,
  type World,
} from "./scenarios.js";

export const E2eOptions = z.strictObject({
  stateDir: z.string().min(1).optional(),
  verbose: z.boolean().default(false),
});

/**
 * Airflow settings of the e2e stack. Retries stay as the definitions set them (2, with backoff), but Airflow's
 * own cap on a retry's delay (`[core] max_task_retry_delay`, applied to exponential backoff) keeps a failing
 * step's three tries within seconds instead of 5 + 10 minutes.
 */
export const E2E_AIRFLOW_CONFIG = {
  AIRFLOW__CORE__MAX_TASK_RETRY_DELAY: "2",
  // Every deferred wait ends within 15 s. A canary that never gets healthy is waited for until the deadline
  // (UNHEALTHY may recover, see airflow_runtime/states.py), three tries; local rollouts are healthy in 2-5 s.
  AIRFLOW__LLM_PLATFORM__MAX_WAIT_SECONDS: "15",
} as const;

/** `python -m module ...args` in .venv with `env` added (the stack's endpoints and credentials), captured. */
function runPython(
  module: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(join(REPO, ".venv", "bin", "python"), ["-m", module, ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? REPO, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

export interface ScenarioReport {
  name: string;
  wallMs: number;
  extraServiceHours: number;
  leftAlive: string[];
  failed: { name: string; detail: string }[];
  checks: number;
  error?: string;
}

/** The model scenario file the service versions play; they re-read it when it changes. */
function modelsFile(dir: string): { path: string; set: (m: ModelScenario) => void } {
  const path = join(dir, "models.json");
  const set = (m: ModelScenario) => {
    // references cover every dataset version, including those the data update writes during the run
    const scenario = {
      references: ["s3://llm-platform-artifacts/datasets/"],
      base_model: { accuracy: 0.1, prose_when_wrong: true },
      ...m,
    };
    writeFileSync(`${path}.tmp`, JSON.stringify(scenario, null, 2));
    renameSync(`${path}.tmp`, path); // a server never reads a half-written file
  };
  set({ default: { accuracy: 0.75 } });
  return { path, set };
}

export async function runE2e(raw: unknown, io: CliIo): Promise<ScenarioReport[]> {
  const opts = E2eOptions.parse(raw);
  const stateDir = resolve(io.cwd, opts.stateDir ?? join(DEFAULT_STATE_DIR, "e2e"));
  const started = Date.now();
  const modelsDir = mkdtempSync(join(tmpdir(), "llm-e2e-models-"));
  const models = modelsFile(modelsDir);
  let stack: LocalStack | undefined;
  const reports: ScenarioReport[] = [];
  try {
    io.out("e2e: starting the local stack\n");
    stack = await startLocalStack({
      stateDir,
      modelScenario: models.path,
      airflowConfig: E2E_AIRFLOW_CONFIG,
      onProgress: (e) => opts.verbose && io.out(`  ${e.service}: ${e.detail}\n`),
    });
    io.out(`e2e: stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (state ${stateDir})\n`);
    const live = stack;
    const world: World = {
      airflow: new AirflowClient(live.airflow.url, () => live.airflow.token()),
      s3: new S3Reader(live.s3.endpoint, {
        accessKeyId: S3_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: S3_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
        region: S3_CREDENTIALS.AWS_DEFAULT_REGION,
      }),
      slack: new SlackSink(live.slack.adminUrl),
      zendesk: new ZendeskSink(live.zendesk.adminUrl),
      emulator: new EmulatorView(live.anyscale.url, live.anyscale.token),
      setModels: models.set,
      python: (module, args) =>
        runPython(module, args, {
          ...live.env,
          ANYSCALE_CLI_TOKEN: live.anyscale.token,
          PYTHONPATH: join(REPO, "pipelines", "workloads"),
        }),
      log: (line) => opts.verbose && io.out(`    ${line}\n`),
    };
    for (const dag of [FINETUNE_DAG, RETRAIN_DAG]) await world.airflow.unpause(dag);
    void DATA_DAG; // unpaused by its scenario (the scheduler then starts its daily run)
    for (const scenario of SCENARIOS) {
      const checks = new Checks();
      const t0 = Date.now();
      let error: string | undefined;
      let endedMs = Date.now();
      try {
        const outcome = await Promise.race([scenario.run(world, checks), live.failed]);
        const ends = outcome.runs.map((r) => (r.end_date ? Date.parse(r.end_date) : Date.now()));
        endedMs = outcome.endedMs ?? (ends.length ? Math.max(...ends) : Date.now());
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      const wallMs = Date.now() - t0;
      const left = await leftRunning(world, endedMs);
      checks.that("nothing beyond the champion left running", left.alive.length === 0, left.alive.join(", "));
      const report: ScenarioReport = {
        name: scenario.name,
        wallMs,
        extraServiceHours: left.hours,
        leftAlive: left.alive,
        failed: checks.list.filter((c) => !c.ok).map(({ name, detail }) => ({ name, detail })),
        checks: checks.list.length,
        ...(error ? { error } : {}),
      };
      reports.push(report);
      io.out(line(report));
      if (opts.verbose)
        for (const c of checks.list)
          io.out(`    ${c.ok ? "ok  " : "FAIL"} ${c.name}${c.detail ? `: ${c.detail}` : ""}\n`);
    }
  } finally {
    await stack?.stop();
    rmSync(modelsDir, { recursive: true, force: true });
  }
  const failed = reports.filter((r) => r.error || r.failed.length > 0);
  const totalS = (Date.now() - started) / 1000;
  io.out(
    `e2e: ${reports.length - failed.length}/${reports.length} scenarios passed in ${totalS.toFixed(1)} s (target 300 s)\n`,
  );
  if (failed.length > 0) {
    for (const r of failed) {
      if (r.error) io.err(`e2e: ${r.name}: ${r.error}\n`);
      for (const f of r.failed) io.err(`e2e: ${r.name}: ${f.name}: ${f.detail}\n`);
    }
    throw new CliError(
      `e2e: ${failed.length} scenario(s) failed: ${failed.map((r) => r.name).join(", ")}; logs in ${stateDir}/logs`,
    );
  }
  return reports;
}

function line(r: ScenarioReport): string {
  const status = r.error || r.failed.length > 0 ? "FAIL" : "ok  ";
  return (
    `  ${status} ${r.name.padEnd(22)} ${(r.wallMs / 1000).toFixed(1).padStart(6)} s   ` +
    `${r.checks} checks   service-hours beyond the champion ${r.extraServiceHours.toFixed(4)}\n`
  );
}

export function e2eCommand(io: CliIo): Command {
  return new Command("e2e")
    .description("run the retraining loop's scenarios on the local stack and check them from outside")
    .option("--state-dir <dir>", "state of this run (default .local-stack/e2e; wiped at start)")
    .option("--verbose", "print every check and DAG run")
    .action(async (options: unknown) => {
      await runE2e(options, io);
    });
}
