/**
 * Plain strings and typed template references.
 *
 * Airflow renders Jinja in templated operator fields at run time. A plain string containing `{{`, `{%` or `{#`
 * would be evaluated there, so definitions may not contain them: every run-time value is an explicit reference
 * (`{ param }`, `{ xcom }`, `{ macro }`), optionally concatenated with literal text (`{ concat: [...] }`).
 * Renderers turn references into Jinja expressions; literal text is escaped/quoted by the renderer.
 */
import { z } from "zod";
import { CONNECTION_ID_PATTERN, PARAM_NAME_PATTERN, TASK_REF_PATTERN } from "./names.js";

const JINJA_MARKERS = /\{\{|\{%|\{#/;

/** Any string the user writes literally. Refuses Jinja markers (see module doc). */
export const PlainString = z
  .string()
  .regex(/^(?![\s\S]*(?:\{\{|\{%|\{#))/, {
    message:
      "contains '{{', '{%' or '{#': Airflow would evaluate it as a Jinja template at run time; " +
      "use a typed reference ({ param }, { xcom }, { macro }) instead",
  })
  .describe("Literal text; '{{', '{%' and '{#' are refused (use a typed reference).");

export function containsJinja(text: string): boolean {
  return JINJA_MARKERS.test(text);
}

/**
 * Allowed macros and the Jinja expression each renders to (without the braces). Closed list on purpose:
 * `ds`, `logical_date` and `data_interval_*` are absent in asset-triggered runs on Airflow 3, and the removed
 * Airflow 2 names (`execution_date`, `next_ds`, ...) must never appear.
 */
export const MACROS = {
  /** The Airflow run id, e.g. `manual__2026-11-28T15:27:53+00:00`. Not path-safe: use `run_stamp` in names/paths. */
  run_id: "run_id",
  /** `dag_run.run_after` as `YYYYMMDDtHHMMSS` (UTC): lowercase, path- and name-safe, unique per run. */
  run_stamp: "dag_run.run_after.strftime('%Y%m%dt%H%M%S')",
  /** `dag_run.run_after` as ISO-8601 (always set, also for asset-triggered runs). */
  run_after_iso: "dag_run.run_after.isoformat()",
  /**
   * `dag_run.run_after` minus 7 days, ISO-8601: the start of an overlapping look-back window for incremental
   * source reads (records are de-duplicated downstream, so overlap is harmless and a few failed days are caught up).
   */
  run_after_minus_7d_iso: "(dag_run.run_after - macros.timedelta(days=7)).isoformat()",
  /** `dag_run.run_after` as `YYYY-MM-DD`. */
  run_after_date: "dag_run.run_after.strftime('%Y-%m-%d')",
  /** The (possibly prefixed) DAG id of the running DAG. */
  dag_id: "dag.dag_id",
} as const;
export type MacroName = keyof typeof MACROS;
export const MACRO_NAMES = Object.keys(MACROS) as [MacroName, ...MacroName[]];

/** `{ param: "epochs" }` → `{{ params.epochs }}`. The param must be declared in the pipeline's `params`. */
export const ParamRefSchema = z
  .strictObject({
    param: z.string().regex(PARAM_NAME_PATTERN).describe("Name of a param declared in the pipeline."),
  })
  .describe("Run-time value of a DAG param.");
export type ParamRef = z.infer<typeof ParamRefSchema>;

/**
 * `{ xcom: { task: "compare.read_decision", key?: "return_value", field?: "decision" } }` →
 * `{{ ti.xcom_pull(task_ids='compare.read_decision', key='return_value')['decision'] }}`.
 * The task must be upstream (directly or transitively) of the task using the reference.
 */
export const XcomRefSchema = z
  .strictObject({
    xcom: z.strictObject({
      task: z
        .string()
        .regex(TASK_REF_PATTERN)
        .describe("Full id of the upstream task (`group.task` inside a group)."),
      key: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional()
        .describe("XCom key; default `return_value`."),
      field: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional()
        .describe("Item of a dict-valued XCom to use (e.g. `dataset_uri`)."),
    }),
  })
  .describe("Run-time value pulled from an upstream task's XCom.");
export type XcomRef = z.infer<typeof XcomRefSchema>;

/** `{ macro: "run_stamp" }` → `{{ dag_run.run_after.strftime(...) }}` (see MACROS). */
export const MacroRefSchema = z
  .strictObject({ macro: z.enum(MACRO_NAMES).describe("One of the allowed macros.") })
  .describe("Run-time Airflow macro from a closed list.");
export type MacroRef = z.infer<typeof MacroRefSchema>;

export const RefSchema = z.union([ParamRefSchema, XcomRefSchema, MacroRefSchema]);
export type Ref = z.infer<typeof RefSchema>;

/** `{ concat: ["s3://b/adapters/challenger-", { macro: "run_stamp" }] }`: literal parts and references joined. */
export const ConcatSchema = z
  .strictObject({
    concat: z
      .array(z.union([PlainString, RefSchema]))
      .min(1)
      .describe("Parts joined without separator."),
  })
  .describe("String built at run time from literal text and references.");
export type Concat = z.infer<typeof ConcatSchema>;

/** A string value that may be resolved at run time. */
export const TemplatedString = z.union([PlainString, RefSchema, ConcatSchema]);
export type TemplatedString = z.infer<typeof TemplatedString>;

/**
 * `{ secret: { connection: "hf_default", field: "password" } }` → `{{ conn.hf_default.password }}`, resolved by the
 * Airflow worker at run time (and masked in logs/rendered fields by Airflow's secrets masker). The only way to
 * give a secret to a workload; literals that look like secrets are refused.
 */
export const SecretRefSchema = z
  .strictObject({
    secret: z.strictObject({
      connection: z
        .string()
        .regex(CONNECTION_ID_PATTERN)
        .superRefine((v, ctx) => {
          const problem = templateConnectionProblem(v);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        })
        .describe("Airflow connection id."),
      field: z
        .enum(["password", "login"])
        .default("password")
        .describe("Connection field holding the secret (default `password`)."),
    }),
  })
  .describe("A secret read from an Airflow connection at run time.");
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** Environment variable value: literal/templated text or a secret reference. */
export const EnvValue = z.union([PlainString, RefSchema, ConcatSchema, SecretRefSchema]);
export type EnvValue = z.infer<typeof EnvValue>;

/** Keys an object may not use in free-form JSON, so that a JSON object is never mistaken for a reference. */
export const RESERVED_KEYS = ["param", "xcom", "macro", "concat", "secret"] as const;

/** Free-form JSON whose leaves may be references (service application args, python task kwargs, trigger conf). */
export type JsonTemplated =
  string | number | boolean | null | Ref | Concat | JsonTemplated[] | { [key: string]: JsonTemplated };

export const JsonTemplated: z.ZodType<JsonTemplated> = z.lazy(() =>
  z.union([
    PlainString,
    z.number(),
    z.boolean(),
    z.null(),
    RefSchema,
    ConcatSchema,
    z.array(JsonTemplated),
    z.record(z.string(), JsonTemplated).refine((o) => !RESERVED_KEYS.some((k) => Object.hasOwn(o, k)), {
      message:
        `not a valid reference (objects using the keys ${RESERVED_KEYS.join(", ")} must be exactly ` +
        `{ param: <declared param> }, { xcom: { task, key?, field? } }, { macro: ${MACRO_NAMES.join("|")} } ` +
        "or { concat: [...] }; { secret } is only allowed in env)",
    }),
  ]),
);

export function isParamRef(v: unknown): v is ParamRef {
  return typeof v === "object" && v !== null && "param" in v && Object.keys(v).length === 1;
}
export function isXcomRef(v: unknown): v is XcomRef {
  return typeof v === "object" && v !== null && "xcom" in v && Object.keys(v).length === 1;
}
export function isMacroRef(v: unknown): v is MacroRef {
  return typeof v === "object" && v !== null && "macro" in v && Object.keys(v).length === 1;
}
export function isConcat(v: unknown): v is Concat {
  return typeof v === "object" && v !== null && "concat" in v && Object.keys(v).length === 1;
}
export function isSecretRef(v: unknown): v is SecretRef {
  return typeof v === "object" && v !== null && "secret" in v && Object.keys(v).length === 1;
}
export function isRef(v: unknown): v is Ref {
  return isParamRef(v) || isXcomRef(v) || isMacroRef(v);
}

/**
 * Attributes of Python's `dict` (Airflow's template `params` is a dict). Jinja's `params.items` looks the attribute
 * up first and would yield the bound method instead of the param, so such names are subscripted.
 */
export const DICT_ATTRIBUTES: ReadonlySet<string> = new Set([
  "clear",
  "copy",
  "fromkeys",
  "get",
  "items",
  "keys",
  "pop",
  "popitem",
  "setdefault",
  "update",
  "values",
]);

/**
 * `params.<name>` for ordinary names, `params['<name>']` for dict attribute names and names starting with `_`
 * (dunder attributes; Jinja's sandbox refuses underscore attributes): Jinja's subscript looks the key up first.
 * Param names are identifiers, so the quoted key needs no escaping.
 */
export function paramExpression(name: string): string {
  return DICT_ATTRIBUTES.has(name) || name.startsWith("_") ? `params['${name}']` : `params.${name}`;
}

/**
 * Connection ids that `{{ conn.<id> }}` cannot reach: Airflow's template `conn` accessor resolves unknown
 * attributes to connections, but its own attributes (`get`, dunders) win, and the sandbox refuses `_` names.
 */
export function templateConnectionProblem(id: string): string | undefined {
  if (id === "get" || id.startsWith("_"))
    return (
      `connection id "${id}" cannot be read in a template ({{ conn.${id} }} is an attribute of Airflow's ` +
      "connection accessor, not the connection); use an id that is not `get` and does not start with '_'"
    );
  return undefined;
}

/**
 * Jinja expression (without braces) for a reference. Renderers wrap it in `{{ ... }}`; for a concat, each literal
 * part must be emitted as escaped text and each reference as `{{ expr }}`.
 */
export function refExpression(ref: Ref): string {
  if (isParamRef(ref)) return paramExpression(ref.param);
  if (isMacroRef(ref)) return MACROS[ref.macro];
  const { task, key, field } = ref.xcom;
  const pull = `ti.xcom_pull(task_ids='${task}', key='${key ?? "return_value"}')`;
  return field ? `${pull}['${field}']` : pull;
}
