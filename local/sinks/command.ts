// `tsx local/sinks/main.ts --slack-token-env VAR ...`: serve both sinks on 127.0.0.1 until SIGINT/SIGTERM.
// Used by the Python tests that drive them with the real slack_sdk / zenpy / Airflow hooks. Tokens come from
// environment variables (never from flags, which show in process listings).
import { Command } from "commander";
import { z } from "zod";
import type { CliIo } from "../../pipelines/src/cli/io.js";
import { CliError } from "../../pipelines/src/cli/errors.js";
import { DEFAULT_SCRIPT_FILE, loadScript, startSinks } from "./index.js";

const Port = z.coerce.number().int().min(0).max(65535);
export const SinksCliOptions = z.strictObject({
  slackPort: Port.default(0),
  zendeskPort: Port.default(0),
  script: z.string().min(1).default(DEFAULT_SCRIPT_FILE),
  zendeskEmail: z.string().email().default("agent@localstack.test"),
  zendeskPageSize: z.coerce.number().int().min(1).max(1000).optional(),
});

function secretFromEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new CliError(`${name}: not set (the sink's credential comes from the environment)`);
  return value;
}

export async function runSinks(raw: unknown, io: CliIo, signal: Promise<unknown>): Promise<void> {
  const opts = SinksCliOptions.parse(raw);
  const sinks = await startSinks({
    slackPort: opts.slackPort,
    zendeskPort: opts.zendeskPort,
    script: loadScript(opts.script),
    slackToken: secretFromEnv("LOCAL_SLACK_TOKEN"),
    zendeskEmail: opts.zendeskEmail,
    zendeskToken: secretFromEnv("LOCAL_ZENDESK_TOKEN"),
    ...(opts.zendeskPageSize ? { zendeskPageSize: opts.zendeskPageSize } : {}),
  });
  // One line per sink that scripts and tests wait for.
  io.out(`slack sink listening on ${sinks.slack.url}\n`);
  io.out(`zendesk sink listening on ${sinks.zendesk.url}\n`);
  await signal;
  await sinks.close();
}

export function sinksCommand(io: CliIo, signal: Promise<unknown>): Command {
  return new Command("sinks")
    .description(
      "serve the Slack and Zendesk API sinks on 127.0.0.1 (tokens: LOCAL_SLACK_TOKEN, LOCAL_ZENDESK_TOKEN)",
    )
    .option("--slack-port <n>", "Slack sink port (0 = any free port)")
    .option("--zendesk-port <n>", "Zendesk sink port (0 = any free port)")
    .option("--script <file>", "sink script (JSON): Slack channel history and Zendesk tickets")
    .option("--zendesk-email <email>", "the agent email the Zendesk sink accepts")
    .option("--zendesk-page-size <n>", "tickets per export page (default 1000, as Zendesk)")
    .action(async (options: unknown) => runSinks(options, io, signal));
}
