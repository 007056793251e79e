// `plan`: what a stack would create, offline (Pulumi mocks + the stack's config file), for reviewers without
// cloud credentials.
import { Command } from "commander";
import { z } from "zod";

import { CliError } from "../../pipelines/src/cli/errors.js";
import type { CliIo } from "../../pipelines/src/cli/io.js";
import { REPO_ROOT } from "../../pipelines/src/definitions-loader.js";
import { formatText, planEntries } from "./format.js";
import { planStack } from "./run.js";

export const PlanOptions = z.strictObject({
  stack: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a stack name like dev, prod or pr-123"),
  json: z.boolean().optional(),
});

export async function runPlan(raw: unknown, io: CliIo, repoRoot = REPO_ROOT): Promise<void> {
  const opts = PlanOptions.parse(raw);
  let result;
  try {
    result = await planStack(repoRoot, opts.stack);
  } catch (e) {
    // Configuration problems (StackConfigError → pulumi.RunError) and unreadable stack files are the user's.
    if (
      e instanceof Error &&
      (e.name === "RunError" || e.name === "StackConfigError" || e.message.startsWith("no Pulumi."))
    ) {
      throw new CliError(e.message);
    }
    throw e;
  }
  const entries = planEntries(result.resources);
  if (opts.json) io.out(`${JSON.stringify(entries, null, 2)}\n`);
  else io.out(formatText({ ...result, entries }));
  if (opts.json) for (const n of result.notes) io.err(`note: ${n}\n`);
}

export function planCommand(io: CliIo, repoRoot?: string): Command {
  return new Command("plan")
    .description(
      "print every resource a stack would create (type, name, inputs) under Pulumi mocks; secrets as [secret]",
    )
    .requiredOption("--stack <name>", "stack to plan: dev, prod or pr-<number>")
    .option("--json", "print a JSON array of {type, name, inputs}")
    .action(async (options: unknown) => runPlan(options, io, repoRoot));
}
