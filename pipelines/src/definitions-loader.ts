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
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(full).href)) as { default?: unknown };
    } catch (e) {
      issues.push({ file, path: "", message: `cannot import module: ${errText(e)}` });
      continue;
    }
    if (mod.default === undefined) {
      issues.push({
        file,
        path: "",
        message: "has no default export (export default definePipeline({...}))",
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

const CONTROL_CHAR = /[\p{Cc}\p{Zl}\p{Zp}]/u;

function errText(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0]! : String(e);
}
