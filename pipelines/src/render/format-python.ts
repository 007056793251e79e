/**
 * In-process ruff (the WebAssembly build, same version as the ruff in .venv) to format rendered DAG files, and to
 * lint them in tests. A formatter failure means the renderer produced invalid Python: it is a hard error, never
 * "write the unformatted text anyway".
 */
import { PositionEncoding, Workspace } from "@astral-sh/ruff-wasm-nodejs";

/** Same line length and target as the repository's pyproject.toml, so rendered files look like hand-written ones. */
const SETTINGS = {
  "line-length": 110,
  "target-version": "py311",
  format: { "quote-style": "double", "indent-style": "space", "line-ending": "lf" },
};

let formatter: Workspace | undefined;
const linters = new Map<string, Workspace>();

export class PythonFormatError extends Error {
  constructor(what: string, cause: unknown) {
    super(`ruff could not format ${what}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "PythonFormatError";
  }
}

/** `ruff format` of one file's text. `what` names the file in the error. */
export function formatPython(source: string, what: string): string {
  formatter ??= new Workspace(SETTINGS, PositionEncoding.Utf16);
  try {
    return formatter.format(source);
  } catch (e) {
    throw new PythonFormatError(what, e);
  }
}

export interface LintFinding {
  code: string | null;
  message: string;
  row: number;
  column: number;
}

/** `ruff check --select <rules>` of one file's text (no fixes applied). */
export function lintPython(source: string, select: readonly string[]): LintFinding[] {
  const key = select.join(",");
  let ws = linters.get(key);
  if (!ws) {
    ws = new Workspace({ ...SETTINGS, lint: { select: [...select] } }, PositionEncoding.Utf16);
    linters.set(key, ws);
  }
  const diagnostics = ws.check(source) as {
    code: string | null;
    message: string;
    start_location: { row: number; column: number };
  }[];
  return diagnostics.map((d) => ({
    code: d.code,
    message: d.message,
    row: d.start_location.row,
    column: d.start_location.column,
  }));
}

export function ruffVersion(): string {
  return Workspace.version();
}
