/**
 * Heuristics that refuse secrets written as literals. A secret must be a `{ secret: { connection } }` reference
 * (resolved by the worker at run time) or be resolved by the workload itself; never a literal in a definition,
 * because definitions are committed and rendered into DAG files, YAML, command lines and the Anyscale console.
 */

/** Well-known credential formats (provider prefixes, PEM blocks). Checked against every literal string. */
const SECRET_VALUE_PATTERNS: readonly [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/\bhooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/, "a Slack webhook URL"],
  [/\bsk-[A-Za-z0-9_-]{20,}/, "an API key (sk-...)"],
  [/\bhf_[A-Za-z0-9]{30,}/, "a Hugging Face token"],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/, "a GitHub token"],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/, "an AWS access key id"],
  [/\baph0_[A-Za-z0-9_-]{10,}/, "an Anyscale token"],
  [/:\/\/[^/\s:@]+:[^/\s@]+@/, "credentials in a URL"],
];

/** Returns what the literal looks like (e.g. "a Slack token"), or undefined. */
export function secretLiteralKind(value: string): string | undefined {
  for (const [re, kind] of SECRET_VALUE_PATTERNS) if (re.test(value)) return kind;
  return undefined;
}

/** Env var names that hold secrets; their value must be a secret reference, never literal text. */
export const SECRET_ENV_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY)/i;

/** A long random-looking literal (mixed letters and digits, no spaces) — typical of keys and tokens. */
export function looksRandom(value: string): boolean {
  if (value.length < 32 || /[\s/:.]/.test(value)) return false;
  if (!/^[A-Za-z0-9_+=-]+$/.test(value)) return false;
  return /[0-9]/.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value);
}

/**
 * Command-line options that carry secrets (`--token`, `--auth-token=...`, `--api-key`, `--api_key=...`,
 * `--password`, also as one argument `--api-key VALUE`); the last word decides, so `--max-tokens` or
 * `--token-file` are fine.
 */
export const SECRET_FLAG =
  /^--?(?:[A-Za-z0-9]+[-_])*?(token|secret|password|passwd|(?:api|access|private|secret)[-_]?key|credentials?)(?:[=\s]|$)/i;

/**
 * pip requirement specifiers as PEP 508 writes them: a name, optional extras, then version specifiers or
 * `@ <url>`, then an optional `; <marker>`. Printable ASCII only, no leading `-` (pip options such as
 * `--index-url` or `-e` would change where packages come from).
 */
const NAME = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?";
// Blanks are spaces only: JavaScript's \s would also let a newline through.
const SP = " *";
/** A PEP 440 public version, with an optional local part; `.*` only after `==` / `!=`. */
const VERSION =
  "(?:[0-9]+!)?[0-9]+(?:\\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\\.post[0-9]+)?(?:\\.dev[0-9]+)?" +
  "(?:\\+[a-z0-9]+(?:\\.[a-z0-9]+)*)?";
const SPEC = `(?:(?:==|!=)${SP}[0-9]+(?:\\.[0-9]+)*\\.\\*|(?:==|!=|~=|<=|>=|<|>)${SP}${VERSION})`;
const SPECS = `${SPEC}(?:${SP},${SP}${SPEC})*`;
const MARKER_VAR =
  "(?:python_version|python_full_version|os_name|sys_platform|platform_release|platform_system|" +
  "platform_version|platform_machine|platform_python_implementation|implementation_name|" +
  "implementation_version|extra)";
const MARKER_VALUE = `(?:${MARKER_VAR}|'[ -&(-~]*'|"[ !#-~]*")`;
const MARKER_OP = "(?:===|==|!=|~=|<=|>=|<|>|not +in|in)";
const MARKER_ATOM = `${MARKER_VALUE}${SP}${MARKER_OP}${SP}${MARKER_VALUE}`;
const MARKER = `${MARKER_ATOM}(?: +(?:and|or) +${MARKER_ATOM})*`;
export const REQUIREMENT_PATTERN = new RegExp(
  `^${NAME}(?:${SP}\\[${SP}(?:${NAME}(?:${SP},${SP}${NAME})*)?${SP}\\])?` +
    `(?:${SP}(?:${SPECS}|\\(${SP}${SPECS}${SP}\\))|${SP}@ *[A-Za-z][A-Za-z0-9+.-]*://[!-:<-~]+(?= ;| *$))?` +
    `(?:${SP};${SP}${MARKER})?${SP}$`,
);

/** Why a requirements entry is not a plain PEP 508 requirement, or undefined. */
export function requirementProblem(entry: string): string | undefined {
  if (entry.startsWith("-"))
    return `"${entry.split(/\s/)[0]}" is a pip option, not a requirement (index URLs and editable installs belong in the image)`;
  if (!REQUIREMENT_PATTERN.test(entry))
    return (
      "must be a PEP 508 requirement on one line, such as `name==1.2`, `name[extra]>=1,<2`, " +
      '`name @ https://host/x.whl` or `name; python_version >= "3.11"` (printable ASCII)'
    );
  return undefined;
}
