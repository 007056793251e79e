// Entry point of `npm run e2e` (see command.ts).
import { processIo } from "../../pipelines/src/cli/io.js";
import { runCommand } from "../../pipelines/src/cli/run.js";
import { e2eCommand } from "./command.js";

const io = processIo();
process.exitCode = await runCommand(e2eCommand(io), process.argv.slice(2), io);
