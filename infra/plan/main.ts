// Entry point of `npm run plan -- --stack <name> [--json]`.
import { reportError } from "../../pipelines/src/cli/errors.js";
import { processIo } from "../../pipelines/src/cli/io.js";
import { planCommand } from "./command.js";

const io = processIo();
try {
  await planCommand(io)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .parseAsync(process.argv.slice(2), { from: "user" });
  process.exitCode = 0;
} catch (e) {
  process.exitCode = reportError(e, io);
}
