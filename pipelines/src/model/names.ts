/**
 * Naming rules that Airflow and Anyscale enforce (or that we enforce more strictly so that a name that passes
 * here is accepted everywhere it is rendered: DAG files, Anyscale YAML, S3 paths).
 */

/** Airflow `KEY_REGEX` for dag_id / task_id (airflow.sdk `validate_key`), max 250 characters. */
export const AIRFLOW_KEY_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const AIRFLOW_KEY_MAX = 250;

/**
 * A task id or group id as written in a definition: Airflow's key alphabet minus the dot, because Airflow joins
 * group and task ids with a dot (`group.task`) and a dotted local id would be ambiguous.
 */
export const LOCAL_TASK_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A reference to a task or group by its full id (`task` or `group.task`). */
export const TASK_REF_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?$/;

/**
 * Anyscale job and service names. The provider's CI documents services as "≤ 57 chars, alphanumerics, `-`, `_`";
 * we are stricter (lowercase letters, digits and single dashes, starting with a letter, ending with a letter or
 * digit) because the same name is used as a file name, in URLs and as a Kubernetes-style label, and because
 * a `dagIdPrefix` may be prepended for PR previews (keep room: see ANYSCALE_NAME_MAX).
 */
export const ANYSCALE_NAME_PATTERN = /^[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;
export const ANYSCALE_NAME_MAX = 57;

/** Compute config reference: `name` (latest version) or `name:version`. Names may not contain `:`. */
export const COMPUTE_CONFIG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*(?::[1-9][0-9]*)?$/;

/** Environment variable names (POSIX portable). */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Param names: used as `params.<name>` in Jinja, so they must be Python identifiers. */
export const PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Airflow connection ids (rendered into `{{ conn.<id> }}` expressions, so identifier-like only). */
export const CONNECTION_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const PY_KEYWORDS = new Set(
  (
    "False None True and as assert async await break class continue def del elif else except finally for from " +
    "global if import in is lambda nonlocal not or pass raise return try while with yield"
  ).split(" "),
);

/** Python's hard keywords (`keyword.kwlist`): never valid as a module, function or variable name. */
export function isPythonKeyword(name: string): boolean {
  return PY_KEYWORDS.has(name);
}

/** The first Python keyword among the dotted/colon-separated names of an import path, or undefined. */
export function keywordInImportPath(path: string): string | undefined {
  return path.split(/[.:]/).find(isPythonKeyword);
}

/**
 * Dag ids become file names (`dags/<dag_id>.py`): a leading `.` would hide the file and `..` reads as a parent
 * directory to tools that handle the path, so both are refused although Airflow's key rule allows them.
 */
export function dagIdFileProblem(id: string): string | undefined {
  return id.startsWith(".") || id.includes("..")
    ? "must not contain '..' or start with '.' (the dag id is the DAG file's name)"
    : undefined;
}

/** Python callables in the workload package, `module.path:function`. */
export const CALLABLE_PATTERN = /^llm_workloads(?:\.[A-Za-z_][A-Za-z0-9_]*)+:[A-Za-z_][A-Za-z0-9_]*$/;

/** Ray Serve import path: `module.sub:attr` with exactly one colon. */
export const IMPORT_PATH_PATTERN =
  /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_.]*$/;

/** Airflow's limit on an asset's URI (and name, which defaults to the URI): longer ones fail the DAG's import. */
export const ASSET_URI_MAX = 1500;

/** Python's `timedelta.max` in whole seconds (999999999 days, 23:59:59): larger durations overflow at import. */
export const TIMEDELTA_MAX_SECONDS = 999_999_999 * 86_400 + 86_399;

/** Counts Airflow stores in 32-bit integer columns (retries, max_active_runs, max_active_tasks). */
export const INT32_MAX = 2_147_483_647;

/** Asset URIs: `scheme://rest`, lowercase scheme, no whitespace; `airflow://` is reserved by Airflow. */
export const ASSET_URI_PATTERN = /^(?!airflow:)[a-z][a-z0-9+.-]*:\/\/[^\s{}]+$/;

/** Slack channel ids or names (`C0123ABC`, `#ai-team`). */
export const SLACK_CHANNEL_PATTERN = /^(?:#[a-z0-9_-]{1,80}|[CGD][A-Z0-9]{6,})$/;
