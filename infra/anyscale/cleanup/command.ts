// `anyscale:cleanup-preview`: stop what a pr-<n> preview left running on Anyscale (run by the PR-close
// workflow before `pulumi destroy`). Credentials come from ANYSCALE_CLI_TOKEN / ANYSCALE_HOST, never flags.
import { Command } from "commander";
import { z } from "zod";

import type { CliIo } from "../../../pipelines/src/cli/io.js";
import { loadDefinitions } from "../../../pipelines/src/definitions-loader.js";
import { renderAllSync } from "../../../pipelines/src/render/index.js";
import { classifyStack } from "../../config/load.js";
import { createAnyscaleClient } from "../client.js";
import {
  anyscaleNamesFromRendered,
  cleanupPreview,
  computeConfigPrefix,
  type CleanupClient,
} from "./previewCleanup.js";

export const CleanupOptions = z.strictObject({
  stack: z.string().regex(/^pr-[1-9][0-9]*$/, "must be a preview stack name like pr-123"),
  dryRun: z.boolean().optional(),
});

export async function runCleanup(
  raw: unknown,
  io: CliIo,
  makeClient: () => CleanupClient = () => createAnyscaleClient({}),
): Promise<void> {
  const opts = CleanupOptions.parse(raw);
  const kind = classifyStack(opts.stack);
  if (kind.kind !== "preview") throw new Error(`${opts.stack} is not a preview stack`);
  const prefix = `pr_${kind.prNumber}__`;
  const names = anyscaleNamesFromRendered(renderAllSync(await loadDefinitions(), { dagIdPrefix: prefix }));
  if (opts.dryRun) {
    for (const s of names.services) io.out(`would terminate service ${s} (if running)\n`);
    for (const j of names.jobs) io.out(`would terminate job ${j} (if running)\n`);
    io.out(`would also terminate every service and running job named ${prefix}*\n`);
    io.out(`would archive every compute config named ${computeConfigPrefix(prefix)}*\n`);
    return;
  }
  const report = await cleanupPreview(makeClient(), names, prefix);
  for (const s of report.servicesTerminated) io.out(`terminated service ${s}\n`);
  for (const j of report.jobsTerminated) io.out(`terminated job ${j}\n`);
  for (const c of report.computeConfigsArchived) io.out(`archived compute config ${c}\n`);
  for (const c of report.computeConfigsInUse) io.out(`compute config still in use, not archived: ${c}\n`);
  io.out(
    `${opts.stack}: ${report.servicesTerminated.length} services and ${report.jobsTerminated.length} jobs terminated, ${report.alreadyStopped.length} already stopped, ${report.computeConfigsArchived.length} compute configs archived\n`,
  );
}

export function cleanupCommand(io: CliIo, makeClient?: () => CleanupClient): Command {
  return new Command("cleanup-preview")
    .description(
      "terminate the Anyscale services and running jobs of a pr-<n> preview and archive its compute configs (ANYSCALE_CLI_TOKEN)",
    )
    .requiredOption("--stack <name>", "preview stack, e.g. pr-123")
    .option("--dry-run", "list what would be terminated")
    .action(async (options: unknown) => runCleanup(options, io, makeClient));
}
