// `npm run dev`: start the local stack, show each service as it becomes ready, print the Airflow URL and
// login, and stop everything on Ctrl-C (SIGINT) or SIGTERM.
import { relative } from "node:path";
import { Command } from "commander";
import { z } from "zod";
import type { CliIo } from "../../pipelines/src/cli/io.js";
import { REPO, startLocalStack, type LocalStack, type ProgressEvent } from "./stack.js";

export const DevOptions = z.strictObject({
  stateDir: z.string().min(1).optional(),
  airflowPort: z.coerce.number().int().min(0).max(65535).default(0),
  sinkScript: z.string().min(1).optional(),
  modelScenario: z.string().min(1).optional(),
});

function line(e: ProgressEvent): string {
  const seconds = `(${(e.elapsedMs / 1000).toFixed(1)} s)`;
  if (e.phase === "stopped") return `  stopped  ${e.service.padEnd(24)} ${seconds}\n`;
  return `  ready  ${e.service.padEnd(24)} ${e.detail}  ${seconds}\n`;
}

function summary(stack: LocalStack): string {
  const rel = (p: string) => (p.startsWith(`${REPO}/`) ? relative(REPO, p) : p);
  return [
    "",
    `Airflow   ${stack.airflow.url}`,
    `login     ${stack.airflow.username} / ${stack.airflow.password}`,
    `S3        ${stack.s3.endpoint} (${stack.s3.artifactRoot})`,
    `Slack     ${stack.slack.adminUrl}/messages (messages posted by the DAGs)`,
    `Zendesk   ${stack.zendesk.adminUrl}/tickets`,
    `logs      ${rel(stack.stateDir)}/logs (Airflow task logs under airflow/logs)`,
    "DAGs start paused: unpause and trigger them in the UI. Ctrl-C stops everything.",
    "",
  ].join("\n");
}

/** Resolves with the signal that asked the stack to stop. */
export type StopSignal = Promise<string>;

export function processStopSignal(): StopSignal {
  return new Promise((resolve) => {
    // `on`, not `once`: Ctrl-C reaches this process more than once (from the terminal, relayed by npm), and
    // a second signal without a listener would kill it before its children are stopped.
    // SIGHUP too: closing the terminal would otherwise end this process and orphan the stack.
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => resolve(sig));
  });
}

export async function runDev(raw: unknown, io: CliIo, stopSignal: StopSignal): Promise<void> {
  const opts = DevOptions.parse(raw);
  io.out("local stack: starting (loopback only)\n");
  const stack = await startLocalStack({
    ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
    airflowPort: opts.airflowPort,
    ...(opts.sinkScript ? { sinkScript: opts.sinkScript } : {}),
    ...(opts.modelScenario ? { modelScenario: opts.modelScenario } : {}),
    onProgress: (e) => io.out(line(e)),
  });
  io.out(summary(stack));
  let crashed: Error | undefined;
  const reason = await Promise.race([
    stopSignal,
    stack.failed.catch((e: unknown) => (crashed = e instanceof Error ? e : new Error(String(e)))),
  ]);
  io.out(
    crashed
      ? "local stack: a service stopped, stopping the rest\n"
      : `local stack: ${String(reason)}, stopping\n`,
  );
  await stack.stop();
  io.out("local stack: stopped\n");
  if (crashed) throw crashed;
}

export function devCommand(io: CliIo, stopSignal: StopSignal): Command {
  return new Command("dev")
    .description(
      "run the whole platform locally: Airflow, the Anyscale emulator, S3 (moto), Slack and Zendesk sinks",
    )
    .option(
      "--state-dir <dir>",
      "state of this run: AIRFLOW_HOME, logs (default .local-stack/run; wiped at start)",
    )
    .option("--airflow-port <n>", "Airflow API server port on 127.0.0.1 (default: a free port)")
    .option("--sink-script <file>", "Slack history and Zendesk tickets the sinks serve (JSON)")
    .option("--model-scenario <file>", "model behaviour per adapter for the emulator's service versions")
    .action(async (options: unknown) => runDev(options, io, stopSignal));
}
