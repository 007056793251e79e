// Entry point of the sinks CLI (see command.ts).
import { processIo } from "../../pipelines/src/cli/io.js";
import { runCommand } from "../../pipelines/src/cli/run.js";
import { sinksCommand } from "./command.js";

const io = processIo();
const stopped = new Promise((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
});
process.exitCode = await runCommand(sinksCommand(io, stopped), process.argv.slice(2), io);
