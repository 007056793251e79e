// Entry point of `npm run anyscale:cleanup-preview -- --stack pr-<n> [--dry-run]`.
import { processIo } from "../../../pipelines/src/cli/io.js";
import { runCommand } from "../../../pipelines/src/cli/run.js";
import { cleanupCommand } from "./command.js";

const io = processIo();
process.exitCode = await runCommand(cleanupCommand(io), process.argv.slice(2), io);
