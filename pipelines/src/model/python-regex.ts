/**
 * Param `pattern`s are checked here with JavaScript's RegExp (the `u` flag, as JSON Schema and Airflow's trigger
 * form do), but Airflow validates params with Python's `re` (jsonschema's `pattern` is `re.search`), at DAG
 * import for the default and at trigger time for every value. A pattern must therefore mean the same in both:
 * syntax only one of them knows is refused here, naming the construct and what to write instead.
 *
 * The shorthand classes (`\d`, `\w`, `\s`, `\b` and their negations) are Unicode-aware in Python and mostly ASCII
 * in JavaScript, so they only agree on ASCII text other than \x1c-\x1f: `shorthandDefaultProblem` refuses a
 * default outside that range with a pattern using them (the default is matched at DAG import, by Python).
 */

const SHORTHAND = /\\[dDwWsSbB]/;
/** Characters on which JavaScript's and Python's shorthand classes may disagree. */
// eslint-disable-next-line no-control-regex -- the control range is the point: \x1c-\x1f are disputed
const DISPUTED = /[^\x00-\x1b\x20-\x7f]/u;

/** Why `defaultValue` may match `pattern` in JavaScript but not in Python, or undefined. */
export function shorthandDefaultProblem(pattern: string, defaultValue: string): string | undefined {
  // An escaped backslash (`\\d`) is not a shorthand: drop escaped backslashes before looking.
  const shorthand = SHORTHAND.exec(pattern.replaceAll("\\\\", ""));
  const odd = DISPUTED.exec(defaultValue);
  if (!shorthand || !odd) return undefined;
  return (
    `${shorthand[0]} reads U+${odd[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} in the default ` +
    "differently in JavaScript and Python; use explicit classes such as [0-9] or [A-Za-z_] with non-ASCII defaults"
  );
}

/** Why `pattern` is not portable to Python's `re`, or undefined. Assumes it already compiles as a JS `u` RegExp. */
export function pythonRegexProblem(pattern: string): string | undefined {
  let inClass = false;
  let lookbehindDepth: number | undefined; // group depth at which the innermost open lookbehind started
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "\\") {
      const next = pattern[i + 1] ?? "";
      if (next === "p" || next === "P")
        return `\\${next}{...} Unicode property escapes are JavaScript-only (Python's re has no \\${next}); use explicit ranges such as [A-Za-z]`;
      if (next === "k")
        return "\\k<name> named backreferences are JavaScript-only (Python writes (?P=name)); use a numbered backreference \\1";
      if (next === "c") return "\\c control escapes are JavaScript-only; write \\x01-\\x1f escapes instead";
      if (next === "u" && pattern[i + 2] === "{")
        return "\\u{...} code point escapes are JavaScript-only; write \\uXXXX or \\UXXXXXXXX";
      if (lookbehindDepth !== undefined && /[1-9]/.test(next))
        return "backreferences inside a lookbehind are not allowed by Python's re";
      i++;
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      // Python warns (FutureWarning) that these will mean nested sets and set operations in a future version.
      else if (ch === "[")
        return "an unescaped '[' inside a character class reads as a nested set to Python; write \\[";
      else if (/^(?:&&|--|~~|\|\|)/.test(pattern.slice(i, i + 2)))
        return `"${pattern.slice(i, i + 2)}" inside a character class reads as a set operation to Python; escape one of them`;
      continue;
    }
    if (ch === "[") {
      const rest = pattern.slice(i + 1);
      if (rest.startsWith("]") || rest.startsWith("^]"))
        return "[] and [^] mean 'nothing' and 'anything' in JavaScript, but Python reads the ']' as a literal; use (?!) or [\\s\\S]";
      inClass = true;
      if (rest.startsWith("^")) i++;
      continue;
    }
    if (ch === "(") {
      depth++;
      if (pattern[i + 1] !== "?") continue;
      const head = pattern.slice(i + 2);
      if (head.startsWith(":") || head.startsWith("=") || head.startsWith("!")) {
        i += 2; // past `?:`, `?=`, `?!`
        continue;
      }
      if (head.startsWith("<=") || head.startsWith("<!")) {
        lookbehindDepth ??= depth;
        i += 3; // past `?<=`, `?<!`
        continue;
      }
      if (head.startsWith("<"))
        return "named groups (?<name>...) are JavaScript syntax that Python's re refuses (Python writes (?P<name>...), which JavaScript refuses); use an unnamed group (...)";
      return `inline flags or group syntax "(?${head.slice(0, 2)}" differ between JavaScript and Python; leave them out`;
    }
    if (ch === ")") {
      if (lookbehindDepth === depth) lookbehindDepth = undefined;
      depth--;
      continue;
    }
    if (lookbehindDepth !== undefined && (ch === "*" || ch === "+" || ch === "?" || ch === "{" || ch === "|"))
      return "a lookbehind must have a fixed width in Python's re (no *, +, ?, {n,m} or | inside (?<=...) / (?<!...))";
  }
  return undefined;
}
