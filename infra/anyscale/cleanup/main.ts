// Entry point of `npm run anyscale:cleanup-preview -- --stack pr-<n> [--dry-run]`.
import { reportError } from "../../../pipelines/src/cli/errors.js";
import { processIo } from "../../../pipelines/src/cli/io.js";
import { cleanupCommand } from "./command.js";

const io = processIo();
try {
  await cleanupCommand(io)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .parseAsync(process.argv.slice(2), { from: "user" });
  process.exitCode = 0;
} catch (e) {
  process.exitCode = reportError(e, io);
}
