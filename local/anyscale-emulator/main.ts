// `npm run anyscale:emulator -- --port 8765 [--token sss_...] [--scenario F] [--workdir D] ...`: serve the Anyscale
// API emulator on 127.0.0.1 until SIGINT/SIGTERM, then stop every job and service process it started. Options are
// parsed through zod; errors go to one handler. Programmatic use: `startEmulator()` in ./server.ts.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { z } from "zod";
import { startEmulator } from "./server.js";

const OptionsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  token: z.string().min(1).optional(),
  faultRate: z.coerce.number().min(0).max(1).default(0),
  latencyMs: z.coerce.number().int().min(0).default(0),
  jobPendingMs: z.coerce.number().int().min(0).default(2000),
  jobRunningMs: z.coerce.number().int().min(0).default(5000),
  serviceStartMs: z.coerce.number().int().min(0).default(3000),
  serviceRolloutMs: z.coerce.number().int().min(0).default(5000),
  failJob: z.array(z.string()).default([]),
  unhealthyService: z.array(z.string()).default([]),
  seed: z.coerce.number().int().default(42),
  simulate: z.boolean().default(false),
  scenario: z.string().min(1).optional(),
  workdir: z.string().min(1).optional(),
  venv: z.string().min(1).optional(),
  workloadsDir: z.string().min(1).optional(),
  jobEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, "must be NAME=value")).default([]),
  healthTimeoutMs: z.coerce.number().int().min(1).default(30_000),
  logRequests: z.boolean().default(false),
});

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(): Command {
  return new Command("anyscale-emulator")
    .description(
      "Local Anyscale API emulator: jobs run as local processes, service versions as local servers",
    )
    .requiredOption("--port <n>", "port on 127.0.0.1 (0 = any free port)")
    .option("--token <token>", "accepted API token (default: $ANYSCALE_CLI_TOKEN)")
    .option("--fault-rate <share>", "share (0..1) of requests answered with an injected 429/5xx")
    .option("--latency-ms <ms>", "extra latency per request")
    .option("--job-pending-ms <ms>", "time a job spends in PENDING")
    .option("--job-running-ms <ms>", "time a job spends in RUNNING")
    .option("--service-start-ms <ms>", "time a service version spends in STARTING")
    .option("--service-rollout-ms <ms>", "time a rollout spends in ROLLING_OUT")
    .option("--fail-job <name>", "a job name that fails (repeatable)", collect)
    .option("--unhealthy-service <name>", "a service name that never becomes healthy (repeatable)", collect)
    .option("--seed <n>", "seed of the fault-injection random source")
    .option("--scenario <file>", "scenario JSON of the service versions' model behaviour (see README)")
    .option("--workdir <dir>", "where uploads, unpacked working dirs and logs go (kept; default: a temp dir)")
    .option("--venv <dir>", "virtualenv jobs and services run in (default: the repository's .venv)")
    .option("--workloads-dir <dir>", "put on PYTHONPATH after the working dir (default: pipelines/workloads)")
    .option("--job-env <NAME=value>", "extra env for every job and service (repeatable)", collect)
    .option("--health-timeout-ms <ms>", "a service version not healthy by then is UNHEALTHY")
    .option("--simulate", "do not run anything: jobs and services move through their states on timers")
    .option("--log-requests", "print one line per API request to stderr (method, path, status)")
    .action(async (raw: Record<string, unknown>) => {
      const o = OptionsSchema.parse(raw);
      const token = o.token ?? process.env.ANYSCALE_CLI_TOKEN;
      if (!token) throw new Error("no token: pass --token or set ANYSCALE_CLI_TOKEN");
      const env = Object.fromEntries(
        o.jobEnv.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      );
      if (o.scenario && !existsSync(o.scenario)) throw new Error(`--scenario: no file ${o.scenario}`);
      const emu = await startEmulator({
        port: o.port,
        token,
        runtime: o.simulate ? "simulated" : "local",
        scenarioPath: o.scenario ? resolve(o.scenario) : undefined,
        workDir: o.workdir ? resolve(o.workdir) : undefined,
        venv: o.venv ? resolve(o.venv) : undefined,
        workloadsDir: o.workloadsDir ? resolve(o.workloadsDir) : undefined,
        env,
        healthTimeoutMs: o.healthTimeoutMs,
        onExchange: o.logRequests
          ? (x) => console.error(`${x.method} ${x.path} -> ${x.status}${x.injected ? " (injected)" : ""}`)
          : undefined,
        seed: o.seed,
        jobSchedule: { pendingMs: o.jobPendingMs, runningMs: o.jobRunningMs },
        serviceSchedule: { startMs: o.serviceStartMs, rolloutMs: o.serviceRolloutMs },
        faults: {
          rate: o.faultRate,
          latencyMs: o.latencyMs,
          failingJobNames: o.failJob,
          unhealthyServiceNames: o.unhealthyService,
        },
      });
      // One line on stdout that scripts/tests wait for; the token is never printed.
      console.log(`anyscale emulator listening on ${emu.url}`);
      const stop = () =>
        void emu.close().then(
          () => process.exit(0),
          (e: unknown) => {
            console.error(`anyscale-emulator: shutdown: ${String(e)}`);
            process.exit(1);
          },
        );
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const msg =
      err instanceof z.ZodError
        ? err.issues
            .map(
              (i) =>
                `--${i.path.map((p) => String(p).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(".")}: ${i.message}`,
            )
            .join("\n")
        : err instanceof Error
          ? err.message
          : String(err);
    console.error(`anyscale-emulator: ${msg}`);
    process.exitCode = 1;
  });
