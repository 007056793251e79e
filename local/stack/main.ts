// Entry point of `npm run dev` (see command.ts). Run as `node --import tsx`, not through the tsx CLI: that CLI
// relays Ctrl-C to its child and SIGKILLs it when the child is slow to acknowledge (a loaded 2-core machine),
// which would leave the stack's process groups running.
import { processIo } from "../../pipelines/src/cli/io.js";
import { runCommand } from "../../pipelines/src/cli/run.js";
import { devCommand, processStopSignal } from "./command.js";

const io = processIo();
process.exitCode = await runCommand(devCommand(io, processStopSignal()), process.argv.slice(2), io);
