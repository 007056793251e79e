// Rendered DAG files → one ConfigMap mounted whole at the DAGs folder.
// The volume has no item list and no `subPath`: each key is a file name, so the pod templates never name a
// file (adding one changes only the ConfigMap) and the kubelet swaps in new content without restarting any
// pod. ConfigMap keys are flat (`[-._a-zA-Z0-9]+`), so only files at the root of the DAGs folder are accepted;
// the `llm_workloads` package the tasks import is installed in the image (infra/kubernetes/image/).

/**
 * The kubelet materialises a ConfigMap volume as `..<timestamp>/` (the files), `..data -> ..<timestamp>`
 * and top-level symlinks into `..data`. Airflow walks the DAGs folder following symlinks and raises
 * "Detected recursive loop" when two directories resolve to the same path (`..data` and `..<timestamp>`),
 * so the folder always carries an `.airflowignore` that skips the `..*` bookkeeping entries.
 */
export const AIRFLOWIGNORE_PATH = ".airflowignore";
export const AIRFLOWIGNORE_HEADER =
  "# Added by infra/kubernetes: skip the kubelet's ConfigMap bookkeeping entries (..data, ..<timestamp>).\n..*\n";

/** Kubernetes rejects a ConfigMap whose keys + values exceed 1 MiB (API validation, `MaxSecretSize`). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** What the component needs to create the ConfigMap. */
export interface DagConfigMap {
  /** ConfigMap `data` (`.airflowignore` first, then file names sorted) for a stable diff. */
  readonly data: Readonly<Record<string, string>>;
  /** Bytes the API server counts against {@link CONFIGMAP_MAX_BYTES}. */
  readonly totalBytes: number;
}

/** A problem with `dagFiles`; the component re-raises it as a `pulumi.ResourceError`. */
export class DagFilesError extends Error {
  override readonly name = "DagFilesError";
}

// A file name: letters, digits, '.', '_' and '-' (the ConfigMap key alphabet), not starting with '.' (the
// kubelet's own `..data` entries start with dots and the API server rejects keys starting with "..").
// `pr_123__llm_finetune.py` (PR-prefixed names) stays valid.
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function validatePath(path: string): void {
  const problem = (why: string): never => {
    throw new DagFilesError(`\`dagFiles\` path ${JSON.stringify(path)} ${why}`);
  };
  if (path === "") problem("is empty");
  if (path.includes("/")) {
    problem(
      "is not at the root of the DAGs folder: the ConfigMap is mounted without an item list, so only flat file names are possible (ship packages in the image)",
    );
  }
  if (path.length > 253) problem("is longer than 253 characters (ConfigMap key limit)");
  if (!FILE_NAME.test(path)) {
    problem("may contain only letters, digits, '.', '_' and '-', and must not start with '.'");
  }
}

/**
 * Validate the rendered files and compute the ConfigMap data.
 * Throws {@link DagFilesError} for an invalid path, no files, or a total above 1 MiB (with the size).
 */
export function dagConfigMap(dagFiles: Readonly<Record<string, string>>): DagConfigMap {
  const paths = Object.keys(dagFiles)
    .filter((p) => p !== AIRFLOWIGNORE_PATH)
    .sort();
  if (paths.length === 0) {
    throw new DagFilesError("`dagFiles` is empty: render the DAGs first (npm run render-dags)");
  }
  // The renderer's own root .airflowignore (if any) is kept, after our rule.
  const userIgnore = dagFiles[AIRFLOWIGNORE_PATH];
  const ignore = userIgnore === undefined ? AIRFLOWIGNORE_HEADER : `${AIRFLOWIGNORE_HEADER}${userIgnore}`;
  const data: Record<string, string> = { [AIRFLOWIGNORE_PATH]: ignore };
  let totalBytes = Buffer.byteLength(AIRFLOWIGNORE_PATH, "utf8") + Buffer.byteLength(ignore, "utf8");
  for (const path of paths) {
    validatePath(path);
    const content = dagFiles[path] ?? "";
    data[path] = content;
    totalBytes += Buffer.byteLength(path, "utf8") + Buffer.byteLength(content, "utf8");
  }
  if (totalBytes > CONFIGMAP_MAX_BYTES) {
    throw new DagFilesError(
      `\`dagFiles\` total ${totalBytes} bytes (${paths.length} files) exceeds the 1 MiB ConfigMap limit ` +
        `(${CONFIGMAP_MAX_BYTES} bytes); ship DAGs another way (S3 DAG bundle or an image), see infra/kubernetes/README.md`,
    );
  }
  return { data, totalBytes };
}
