/** Runs the CLI with the central error handler; sets process.exitCode (never process.exit). */
import type { Command } from "commander";
import { reportError } from "./errors.js";
import type { CliIo } from "./io.js";
import { createProgram } from "./program.js";

/** Parses `argv` (user arguments only, without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    return reportError(e, io);
  }
}

/** Runs a stand-alone command (one-command entry points such as `npm run plan`) the same way. */
export async function runCommand(command: Command, argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await command
      .exitOverride()
      .configureOutput({ writeOut: io.out, writeErr: io.err })
      .parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    return reportError(e, io);
  }
}
