/**
 * The one place CLI errors are turned into messages and an exit code. Every message has the form
 * `error: <file>: <field.path>: <message>` when a file and field are known.
 */
import { CommanderError } from "commander";
import { z } from "zod";
import { DefinitionError, formatIssue, formatPath } from "../model/errors.js";
import type { CliIo } from "./io.js";

/** A failure the user can act on that is not about a definition file (bad option, drift found). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Shape of the renderer's RenderError (file + field path), matched structurally to keep the CLI decoupled. */
interface FileFieldError {
  readonly file: string;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

function isFileFieldError(e: unknown): e is FileFieldError & Error {
  return (
    e instanceof Error &&
    e.name === "RenderError" &&
    typeof (e as Partial<FileFieldError>).file === "string" &&
    Array.isArray((e as Partial<FileFieldError>).path)
  );
}

/** Prints the error and returns the exit code to set. */
export function reportError(e: unknown, io: CliIo): number {
  if (e instanceof CommanderError) {
    // Commander already printed its message (help, version, unknown option).
    return e.exitCode;
  }
  if (e instanceof DefinitionError) {
    for (const issue of e.issues) io.err(`error: ${formatIssue(issue)}\n`);
    return 1;
  }
  if (isFileFieldError(e)) {
    // RenderError's message already starts with `<file>: <path>: `.
    io.err(`error: ${e.message}\n`);
    return 1;
  }
  if (e instanceof z.ZodError) {
    for (const i of e.issues) io.err(`error: option ${formatPath(i.path) || "(options)"}: ${i.message}\n`);
    return 1;
  }
  if (e instanceof CliError) {
    io.err(`error: ${e.message}\n`);
    return e.exitCode;
  }
  // Anything else is a bug of ours, still reported as one line (no stack trace: the contract is one line per
  // problem); PIPELINES_DEBUG=1 shows the stack.
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const stack = process.env.PIPELINES_DEBUG === "1" && e instanceof Error ? `\n${e.stack ?? ""}` : "";
  io.err(`error: internal error (please report): ${text.replace(/\s*\n\s*/g, " ")}${stack}\n`);
  return 1;
}
