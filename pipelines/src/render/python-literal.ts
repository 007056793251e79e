/**
 * Python literals for generated code. Every value that reaches a rendered DAG file goes through here, so that any
 * JavaScript string (quotes, backslashes, NUL, lone surrogates, U+2028, `'''`, ...) becomes Python source that
 * evaluates to exactly the same string (`ast.literal_eval`), and the source itself stays valid UTF-8 and readable.
 */

/** Raised for values that have no faithful Python literal (NaN, ±Infinity, unsafe integers, functions, ...). */
export class LiteralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LiteralError";
  }
}

/**
 * Characters written as themselves inside a quoted literal (Python or YAML): visible characters and the plain
 * space. Everything else (controls, format characters such as U+200B/U+FEFF, line/paragraph separators, other
 * spaces, unassigned and private-use code points, surrogates) is escaped, so the output shows no invisible text and
 * no tool can treat a character as a line break.
 */
const VISIBLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

export function isVisibleChar(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp === 0x20) return true;
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp < 0x7f) return true;
  if (cp >= 0x80 && cp <= 0xa0) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false; // lone surrogate (paired ones arrive as one code point)
  if (cp === 0xfffe || cp === 0xffff) return false;
  return VISIBLE.test(ch);
}

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, "0");
}

/** `\xhh`, `\uhhhh` or `\Uhhhhhhhh`: the shortest escape that both Python and YAML double-quoted scalars accept. */
export function codePointEscape(cp: number): string {
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

const PY_NAMED: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * A double-quoted Python `str` literal. Iterating a JS string by code point yields lone surrogates as single
 * units, which are escaped (`\ud800`) because they cannot be written as UTF-8.
 */
export function pyStr(value: string): string {
  let out = '"';
  for (const ch of value) {
    const named = PY_NAMED[ch];
    if (named !== undefined) out += named;
    else if (isVisibleChar(ch)) out += ch;
    else out += codePointEscape(ch.codePointAt(0)!);
  }
  return out + '"';
}

/** A Python int/float literal; refuses values JSON and Python would disagree on. */
export function pyNumber(value: number): string {
  if (!Number.isFinite(value)) throw new LiteralError(`${value} has no Python literal (non-finite number)`);
  if (Number.isInteger(value)) {
    if (!Number.isSafeInteger(value))
      throw new LiteralError(`${value} is an integer beyond 2^53; it cannot be represented exactly`);
    return Object.is(value, -0) ? "0" : String(value);
  }
  // JS shortest round-trip form; Python reads `1e-7`, `1.5e+21` and `0.1` as the same double.
  return String(value);
}

/** A Python literal for JSON-like data. Object keys are sorted unless `keepOrder` says their order matters. */
export function pyValue(value: unknown, opts: { keepOrder?: boolean } = {}): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return pyStr(value);
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  if (Array.isArray(value)) return `[${value.map((v) => pyValue(v, opts)).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!opts.keepOrder) entries.sort(([a], [b]) => compareStrings(a, b));
    return `{${entries.map(([k, v]) => `${pyStr(k)}: ${pyValue(v, opts)}`).join(", ")}}`;
  }
  throw new LiteralError(`a ${typeof value} has no Python literal`);
}

/** Code-unit order (not locale order), so sorting is the same on every machine. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
