// Entry point of `npm run plan -- --stack <name> [--json]`.
import { processIo } from "../../pipelines/src/cli/io.js";
import { runCommand } from "../../pipelines/src/cli/run.js";
import { planCommand } from "./command.js";

const io = processIo();
process.exitCode = await runCommand(planCommand(io), process.argv.slice(2), io);
