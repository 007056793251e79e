// Rendered DAG files → one ConfigMap mounted at the DAGs folder.
// ConfigMap keys must be flat (`[-._a-zA-Z0-9]+`), so nested paths are stored under an encoded key and put
// back in place with the volume's `items` (key → path) projection. The volume is mounted without `subPath`,
// which is what lets the kubelet swap in new content without restarting any pod.

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

/** A key→path projection item of a ConfigMap volume. */
export interface KeyToPath {
  readonly key: string;
  readonly path: string;
}

/** What the component needs to create the ConfigMap and the volume. */
export interface DagConfigMap {
  /** ConfigMap `data` (`.airflowignore` first, then keys sorted) for a stable diff. */
  readonly data: Readonly<Record<string, string>>;
  /** Volume `items`, sorted by path. */
  readonly items: readonly KeyToPath[];
  /** Bytes the API server counts against {@link CONFIGMAP_MAX_BYTES}. */
  readonly totalBytes: number;
}

/** A problem with `dagFiles`; the component re-raises it as a `pulumi.ResourceError`. */
export class DagFilesError extends Error {
  override readonly name = "DagFilesError";
}

// A path segment: starts and ends with a letter, digit, '_' or '-' and never contains "..". Those three
// rules make ".." an unambiguous separator in keys (and keep keys from starting with "..", which the API
// server rejects). `pr_123__llm-finetune.yaml` (PR-prefixed names) stays valid.
const SEGMENT = /^[A-Za-z0-9_-](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?$/;

/** The ConfigMap key for a relative path: `/` becomes `..` (never inside a valid segment, so 1:1). */
export function configMapKey(path: string): string {
  return path.split("/").join("..");
}

function validatePath(path: string): void {
  const problem = (why: string): never => {
    throw new DagFilesError(`\`dagFiles\` path ${JSON.stringify(path)} ${why}`);
  };
  if (path === "") problem("is empty");
  if (path.startsWith("/")) problem("must be relative to the DAGs folder");
  if (path.length > 253) problem("is longer than 253 characters (ConfigMap key limit)");
  for (const segment of path.split("/")) {
    if (segment === "" || segment === "." || segment === "..") problem("has an empty, '.' or '..' segment");
    if (!SEGMENT.test(segment) || segment.includes("..")) {
      problem(
        "segments may contain only letters, digits, '.', '_' and '-', must not start or end with '.', nor contain '..'",
      );
    }
  }
}

/**
 * Validate the rendered files and compute ConfigMap data + volume items.
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
  const items: KeyToPath[] = [{ key: AIRFLOWIGNORE_PATH, path: AIRFLOWIGNORE_PATH }];
  let totalBytes = Buffer.byteLength(AIRFLOWIGNORE_PATH, "utf8") + Buffer.byteLength(ignore, "utf8");
  for (const path of paths) {
    validatePath(path);
    const key = configMapKey(path);
    const content = dagFiles[path] ?? "";
    data[key] = content;
    items.push({ key, path });
    totalBytes += Buffer.byteLength(key, "utf8") + Buffer.byteLength(content, "utf8");
  }
  // A path cannot be both a file and a directory of another file in the mounted volume.
  const pathSet = new Set(paths);
  for (const path of paths) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (pathSet.has(dir)) {
        throw new DagFilesError(
          `\`dagFiles\` path ${JSON.stringify(dir)} is a file and also the directory of ${JSON.stringify(path)}`,
        );
      }
    }
  }
  if (totalBytes > CONFIGMAP_MAX_BYTES) {
    throw new DagFilesError(
      `\`dagFiles\` total ${totalBytes} bytes (${paths.length} files) exceeds the 1 MiB ConfigMap limit ` +
        `(${CONFIGMAP_MAX_BYTES} bytes); ship DAGs another way (S3 DAG bundle or an image), see infra/kubernetes/README.md`,
    );
  }
  return { data, items, totalBytes };
}
