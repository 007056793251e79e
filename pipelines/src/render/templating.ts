/**
 * Turning model values (literal text, typed references, concatenations, secrets) into Python source. Two targets:
 *
 * - Jinja mode, for operator fields Airflow renders with Jinja (`template_fields`): references become Jinja
 *   expressions generated here (never copied from user text); literal text is kept away from Jinja, either because
 *   it contains no `{` (Jinja markers all start with `{`; trailing newlines are kept by the DAG's
 *   `keep_trailing_newline`) or by wrapping it in `airflow.sdk.literal()` / escaping each `{` as `{{ "{" }}`.
 * - Python mode, for code inside `@task` bodies: references become Python expressions over the task context, so
 *   values keep their types (an integer param stays an int) and nothing is Jinja-rendered.
 */
import type { MacroName } from "../model/refs.js";
import {
  isConcat,
  isMacroRef,
  isParamRef,
  isRef,
  isSecretRef,
  isXcomRef,
  refExpression,
  type Ref,
} from "../model/refs.js";
import { compareStrings, pyNumber, pyStr } from "./python-literal.js";

/** Imports a rendered file needs, collected while rendering values. */
export interface ImportNeeds {
  literal: boolean;
}

/**
 * Literal text that Jinja renders unchanged: no `{` (every Jinja marker starts with one) and no carriage return
 * (Jinja's lexer turns `\r` and `\r\n` into `\n`). Trailing newlines are kept by the DAG's Jinja settings.
 */
export function isJinjaInert(text: string): boolean {
  return !text.includes("{") && !text.includes("\r");
}

/**
 * Literal text placed inside a Jinja template we build: each `{` and each carriage return becomes a Jinja
 * expression producing exactly that character (Jinja decodes `\r` escapes in its string literals).
 */
export function escapeJinjaText(text: string): string {
  return text.replaceAll("{", '{{ "{" }}').replaceAll("\r", '{{ "\\r" }}');
}

/** `{{ expr }}` for a reference. */
export function jinjaRef(ref: Ref): string {
  return `{{ ${refExpression(ref)} }}`;
}

/** A Python expression for a literal string passed to a templated field. */
export function pyTemplatedLiteral(text: string, needs: ImportNeeds): string {
  if (isJinjaInert(text)) return pyStr(text);
  needs.literal = true;
  return `literal(${pyStr(text)})`;
}

/**
 * Jinja template text for a string-like model value, or undefined when the value is plain literal text (which the
 * caller then emits with `pyTemplatedLiteral`).
 */
export function jinjaTemplate(value: unknown): string | undefined {
  if (typeof value === "string") return undefined;
  if (isRef(value)) return jinjaRef(value);
  if (isSecretRef(value)) return `{{ conn.${value.secret.connection}.${value.secret.field ?? "password"} }}`;
  if (isConcat(value))
    return value.concat.map((p) => (typeof p === "string" ? escapeJinjaText(p) : jinjaRef(p))).join("");
  throw new Error(`not a string, reference or concat: ${JSON.stringify(value)}`);
}

/** Python expression for a value of a Jinja-templated operator field (strings, refs, concats, secrets, JSON). */
export function pyJinjaValue(value: unknown, needs: ImportNeeds): string {
  if (typeof value === "string") return pyTemplatedLiteral(value, needs);
  if (value === null || value === undefined) return "None";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  if (Array.isArray(value)) return `[${value.map((v) => pyJinjaValue(v, needs)).join(", ")}]`;
  if (isRef(value) || isConcat(value) || isSecretRef(value)) return pyStr(jinjaTemplate(value)!);
  if (typeof value === "object") {
    // Keys are not Jinja-rendered by Airflow; only values are.
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareStrings(a, b));
    return `{${entries.map(([k, v]) => `${pyStr(k)}: ${pyJinjaValue(v, needs)}`).join(", ")}}`;
  }
  throw new Error(`cannot render ${typeof value}`);
}

/** Same value with references left as the Jinja text Airflow would render (for the Anyscale YAML files). */
export function jinjaData(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(jinjaData);
  if (isRef(value) || isConcat(value) || isSecretRef(value)) return jinjaTemplate(value);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([k, v]) => [k, jinjaData(v)]),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Shell words for Anyscale entrypoints

/** POSIX shell quoting, identical to Python's `shlex.quote` (the filter used for run-time values). */
export function shellQuote(word: string): string {
  if (word === "") return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * One argv element as shell text inside a Jinja template. Literal parts are quoted now; references are quoted at
 * run time by the DAG's `shell_quote` filter (`shlex.quote`), after Jinja produced their value, so a param holding
 * `x; rm -rf /` stays one argument. Adjacent quoted pieces form a single shell word.
 */
export function shellWordTemplate(value: unknown): string {
  if (typeof value === "string") return escapeJinjaText(shellQuote(value));
  const quoteRef = (ref: Ref): string => `{{ ${refExpression(ref)} | string | shell_quote }}`;
  if (isRef(value)) return quoteRef(value);
  if (isConcat(value))
    return value.concat
      .map((p) => (typeof p === "string" ? (p === "" ? "" : escapeJinjaText(shellQuote(p))) : quoteRef(p)))
      .join("");
  throw new Error(`not an entrypoint argument: ${JSON.stringify(value)}`);
}

/** Whether an argv list contains run-time references (then the entrypoint is a Jinja template). */
export function hasRefs(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (isRef(value) || isSecretRef(value)) return true;
  if (isConcat(value)) return value.concat.some((p) => typeof p !== "string");
  if (Array.isArray(value)) return value.some(hasRefs);
  return Object.values(value as Record<string, unknown>).some(hasRefs);
}

// ---------------------------------------------------------------------------------------------------------------
// Python mode (inside @task bodies; `context` is the task's `**context`)

const MACRO_PY: Readonly<Record<MacroName, string>> = {
  run_id: 'context["run_id"]',
  run_stamp: 'context["dag_run"].run_after.strftime("%Y%m%dt%H%M%S")',
  run_after_iso: 'context["dag_run"].run_after.isoformat()',
  run_after_minus_7d_iso: '(context["dag_run"].run_after - timedelta(days=7)).isoformat()',
  run_after_date: 'context["dag_run"].run_after.strftime("%Y-%m-%d")',
  dag_id: 'context["dag"].dag_id',
};

export function pyRef(ref: Ref): string {
  if (isParamRef(ref)) return `context["params"][${pyStr(ref.param)}]`;
  if (isMacroRef(ref)) return MACRO_PY[ref.macro];
  if (isXcomRef(ref)) {
    const { task, key, field } = ref.xcom;
    const pull = `context["ti"].xcom_pull(task_ids=${pyStr(task)}, key=${pyStr(key ?? "return_value")})`;
    return field === undefined ? pull : `${pull}[${pyStr(field)}]`;
  }
  throw new Error(`unknown reference ${JSON.stringify(ref)}`);
}

/** Python expression for a model value inside a task body: literals as literals, references resolved from context. */
export function pyRuntimeValue(value: unknown): string {
  if (typeof value === "string") return pyStr(value);
  if (value === null || value === undefined) return "None";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  if (Array.isArray(value)) return `[${value.map(pyRuntimeValue).join(", ")}]`;
  if (isRef(value)) return pyRef(value);
  if (isConcat(value))
    return `"".join([${value.concat.map((p) => (typeof p === "string" ? pyStr(p) : `str(${pyRef(p)})`)).join(", ")}])`;
  if (isSecretRef(value)) throw new Error("secret references are only allowed in Anyscale env vars");
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareStrings(a, b));
  return `{${entries.map(([k, v]) => `${pyStr(k)}: ${pyRuntimeValue(v)}`).join(", ")}}`;
}
