// Entry point of `npm run dev` (see command.ts).
import { processIo } from "../../pipelines/src/cli/io.js";
import { runCommand } from "../../pipelines/src/cli/run.js";
import { devCommand, processStopSignal } from "./command.js";

const io = processIo();
process.exitCode = await runCommand(devCommand(io, processStopSignal()), process.argv.slice(2), io);
