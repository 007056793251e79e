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
 * Command-line options that carry secrets (`--token`, `--auth-token=...`, `--api-key`, `--password`); the last
 * word decides, so `--max-tokens` or `--token-file` are fine.
 */
export const SECRET_FLAG =
  /^--?(?:[A-Za-z0-9]+[-_])*(token|secret|password|passwd|api-?key|credentials?)(?:=|$)/i;
