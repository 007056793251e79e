/**
 * Loads pipeline definition modules: every `*.ts` file directly in the folder (sorted, so output order is
 * stable), imported with dynamic `import()` (tsx is the loader). The default export must be a pipeline.
 * Modules that fail to import or validate are reported together in one DefinitionError, each issue naming its
 * file; nothing is returned unless every module is valid.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { DefinitionError, type DefinitionIssue } from "./model/errors.js";
import { parsePipeline, validatePipelines, type LoadedDefinition } from "./model/validate.js";

export type { LoadedDefinition };

/** Repository root (two levels above this file: pipelines/src → repo). */
export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..");
export const DEFAULT_DEFINITIONS_DIR = path.join(REPO_ROOT, "pipelines", "definitions");

/** Path shown in messages: repo-relative when inside the repo, else as resolved. */
export function displayPath(file: string): string {
  const rel = path.relative(REPO_ROOT, file);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel.split(path.sep).join("/") : file;
}

/**
 * Loads and validates every definition in `dir` (default `pipelines/definitions/`), including the checks that
 * span pipelines. Throws DefinitionError listing every problem found.
 */
export async function loadDefinitions(dir: string = DEFAULT_DEFINITIONS_DIR): Promise<LoadedDefinition[]> {
  const abs = path.resolve(dir);
  const shown = displayPath(abs);
  let entries: string[];
  try {
    if (!(await stat(abs)).isDirectory())
      throw new DefinitionError([{ file: shown, path: "", message: "is not a directory" }]);
    entries = await readdir(abs);
  } catch (e) {
    if (e instanceof DefinitionError) throw e;
    throw new DefinitionError([
      { file: shown, path: "", message: `cannot read definitions folder (${errText(e)})` },
    ]);
  }
  const files = entries
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.endsWith(".test.ts"))
    .sort();
  if (files.length === 0)
    throw new DefinitionError([{ file: shown, path: "", message: "contains no definition modules (*.ts)" }]);

  // Every module is tried, so one run reports the problems of all files (each naming its file).
  const loaded: LoadedDefinition[] = [];
  const issues: DefinitionIssue[] = [];
  for (const name of files) {
    const full = path.join(abs, name);
    const file = displayPath(full);
    // The path is written into every message and into the DAG file's header comment: a newline (or other
    // control character) would split the one error line and break the comment.
    if (CONTROL_CHAR.test(file)) {
      issues.push({
        file: JSON.stringify(file),
        path: "",
        message: "path contains a control character (rename it: letters, digits, '_', '-', '.')",
      });
      continue;
    }
    const imported = await importDefinition(pathToFileURL(full).href);
    if ("problem" in imported) {
      issues.push({ file, path: "", message: imported.problem });
      continue;
    }
    const mod = imported.module;
    if (mod.default === undefined || isCommonJsExports(mod)) {
      issues.push({
        file,
        path: "",
        message:
          "has no default export (export default definePipeline({...}))" +
          (mod.default === undefined ? "" : "; it is a CommonJS module whose exports are only named ones"),
      });
      continue;
    }
    try {
      loaded.push({ file, pipeline: parsePipeline(mod.default, file) });
    } catch (e) {
      if (!(e instanceof DefinitionError)) throw e;
      issues.push(...e.issues);
    }
  }
  if (issues.length > 0) throw new DefinitionError(issues);
  validatePipelines(loaded);
  return loaded;
}

/** How long one module's import may take (a top-level await that never settles would hang the CLI). */
function importTimeoutMs(): number {
  const fromEnv = Number(process.env.PIPELINES_IMPORT_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 30_000;
}

/** The argument of a `process.exit(...)` call as written back in messages. */
function exitArg(code: unknown): string {
  if (code === undefined) return "";
  return typeof code === "number" || typeof code === "string" ? String(code) : JSON.stringify(code);
}

class ExitDuringImport extends Error {
  constructor(readonly code: unknown) {
    super(`process.exit(${exitArg(code)})`);
    this.name = "ExitDuringImport";
  }
}

/**
 * Imports one definition module, guarded: `process.exit` called while it loads throws instead of ending the CLI
 * (which would end a render, or `--check`, with the module's exit code and nothing reported), and an import
 * that does not finish within the timeout is reported naming the module.
 */
async function importDefinition(
  url: string,
): Promise<{ module: Record<string, unknown> } | { problem: string }> {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, never called here
  const realExit = process.exit;
  const exits: unknown[] = [];
  process.exit = (code?: unknown): never => {
    exits.push(code);
    throw new ExitDuringImport(code);
  };
  let timer: NodeJS.Timeout | undefined;
  const ms = importTimeoutMs();
  try {
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
    const loading = import(url).then((m: Record<string, unknown>) => m);
    const result = await Promise.race([loading, timeout]);
    if (exits.length > 0) return { problem: exitProblem(exits[0]) };
    if (result === "timeout")
      return {
        problem:
          `import did not finish within ${ms / 1000} s (a top-level await that never settles?); ` +
          "a definition module must only build and export its pipeline",
      };
    return { module: result };
  } catch (e) {
    if (e instanceof ExitDuringImport || exits.length > 0) return { problem: exitProblem(exits[0]) };
    return { problem: `cannot import module: ${errText(e)}` };
  } finally {
    clearTimeout(timer);
    process.exit = realExit;
  }
}

function exitProblem(code: unknown): string {
  return (
    `called process.exit(${exitArg(code)}) while being imported; ` +
    "a definition module must only build and export its pipeline"
  );
}

/**
 * Node gives a CommonJS module's `module.exports` as `default` and its named exports beside it: a module with
 * only named exports (`exports.pipeline = ...`) then looks as if it had a default export, and validating that
 * object reported every pipeline field as missing.
 */
function isCommonJsExports(mod: Record<string, unknown>): boolean {
  const named = Object.keys(mod).filter((k) => k !== "default" && k !== "module.exports");
  const exports = mod.default;
  return (
    named.length > 0 &&
    typeof exports === "object" &&
    exports !== null &&
    named.every((k) => (exports as Record<string, unknown>)[k] === mod[k])
  );
}

const CONTROL_CHAR = /[\p{Cc}\p{Zl}\p{Zp}]/u;

function errText(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0]! : String(e);
}
