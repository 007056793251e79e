// Files uploaded into an S3 bucket, one object per file: the DAGs folder of an MWAA environment (under
// `dags/`), the reference copies beside it, and the DAGs of a PR preview uploaded into the base
// environment's existing bucket.
import { createHash } from "node:crypto";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { fail, MwaaArgsError } from "./errors.js";

/** Pulumi type token of the component. */
export const DAG_OBJECTS_TYPE = "llmops:mwaa:DagObjects";

/** S3 keys are at most 1024 bytes (UTF-8). */
const S3_KEY_MAX_BYTES = 1024;

/** Arguments of {@link DagObjects}. */
export interface DagObjectsArgs {
  /** Bucket name (or id) to upload into. */
  readonly bucket: pulumi.Input<string>;
  /** Prepended to every path to form the key: `""` (bucket root) or a folder ending in `/`, e.g. `dags/`. */
  readonly keyPrefix: string;
  /**
   * Path relative to `keyPrefix` (e.g. `llm_data_update.py`, `llm_workloads/storage.py`, `.airflowignore`)
   * → file content. Paths must be known now (they fix the set of resources); contents may be outputs.
   */
  readonly files: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * Why `path` is not a valid relative object path, or undefined when it is: non-empty, relative (no leading
 * `/`), no trailing `/`, no empty, `.` or `..` segments, no backslashes or control characters.
 */
export function objectPathProblem(path: string): string | undefined {
  if (path === "") return "is empty";
  if (path.startsWith("/")) return "must be relative (no leading '/')";
  if (path.endsWith("/")) return "must name a file (no trailing '/')";
  if (path.includes("\\")) return "must use '/' as separator (no '\\')";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return "contains control characters";
  const segments = path.split("/");
  if (segments.some((s) => s === "")) return "has an empty segment ('//')";
  if (segments.some((s) => s === "." || s === "..")) return "has a '.' or '..' segment";
  if (Buffer.byteLength(path, "utf8") > S3_KEY_MAX_BYTES)
    return `is longer than an S3 key (${S3_KEY_MAX_BYTES} bytes)`;
  return undefined;
}

/** Throws a `MwaaArgsError` naming `field` when the key prefix is neither `""` nor `folder/.../`. */
export function validateKeyPrefix(keyPrefix: string, field = "keyPrefix"): void {
  if (keyPrefix === "") return;
  const problem = keyPrefix.endsWith("/") ? objectPathProblem(keyPrefix.slice(0, -1)) : "must end with '/'";
  if (problem !== undefined) {
    fail(`\`${field}\` must be "" or a folder like "dags/": ${problem}; got ${JSON.stringify(keyPrefix)}`);
  }
}

/** Content type S3 serves the object with (only informative for MWAA, which syncs bytes). */
export function contentTypeFor(path: string): string {
  if (path.endsWith(".py")) return "text/x-python";
  if (path.endsWith(".yaml") || path.endsWith(".yml")) return "application/yaml";
  return "text/plain";
}

/**
 * Stable child resource name for `path`: readable (`/` → `--`) plus the first 10 hex digits of the path's
 * SHA-256. The readable part alone is not injective (`a/b` and `a--b` both give `a--b`); the hash tells
 * them apart, and {@link objectResourceNames} checks a whole set for collisions anyway. The name depends
 * only on the path, so renaming a file replaces its object and editing it updates the object in place.
 */
export function objectResourceName(componentName: string, path: string): string {
  const digest = createHash("sha256").update(path, "utf8").digest("hex").slice(0, 10);
  return `${componentName}-${path.replace(/\//g, "--")}-${digest}`;
}

/** Child names for all `paths`; throws if two paths ever mapped to one name (a hash-prefix collision). */
export function objectResourceNames(componentName: string, paths: readonly string[]): Map<string, string> {
  const byName = new Map<string, string>();
  const out = new Map<string, string>();
  for (const path of paths) {
    const name = objectResourceName(componentName, path);
    const other = byName.get(name);
    if (other !== undefined) fail(`\`files\`: ${JSON.stringify(other)} and ${JSON.stringify(path)} collide`);
    byName.set(name, path);
    out.set(path, name);
  }
  return out;
}

/** Validate `files` paths; throws a `MwaaArgsError` naming `field["<path>"]`. Returns the sorted paths. */
export function validateObjectPaths(files: Readonly<Record<string, unknown>>, field = "files"): string[] {
  const paths = Object.keys(files).sort();
  for (const path of paths) {
    const problem = objectPathProblem(path);
    if (problem !== undefined) fail(`\`${field}[${JSON.stringify(path)}]\`: the path ${problem}`);
  }
  return paths;
}

/**
 * One `aws.s3.BucketObjectv2` per file, keyed `keyPrefix + path`. The object's `content` is its input,
 * so Pulumi diffs the text itself: an unchanged file means an unchanged input and no update, a changed
 * file updates exactly its object. No etag or source hash is needed for that (those exist for `source`
 * assets, whose bytes Pulumi does not see as an input).
 */
export class DagObjects extends pulumi.ComponentResource {
  /** The object keys, sorted. */
  public readonly keys!: pulumi.Output<string[]>;
  /** Number of objects. */
  public readonly count!: pulumi.Output<number>;

  constructor(name: string, args: DagObjectsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(DAG_OBJECTS_TYPE, name, {}, opts);
    if (opts?.urn) return;

    let paths: string[];
    let names: Map<string, string>;
    try {
      validateKeyPrefix(args.keyPrefix);
      paths = validateObjectPaths(args.files);
      names = objectResourceNames(name, paths);
      const tooLong = paths.find((p) => Buffer.byteLength(args.keyPrefix + p, "utf8") > S3_KEY_MAX_BYTES);
      if (tooLong !== undefined) {
        fail(`\`files[${JSON.stringify(tooLong)}]\`: the key is longer than ${S3_KEY_MAX_BYTES} bytes`);
      }
    } catch (err) {
      if (err instanceof MwaaArgsError) throw new pulumi.ResourceError(err.message, this);
      throw err;
    }

    const keys = paths.map((path) => `${args.keyPrefix}${path}`);
    const objects = paths.map(
      (path, i) =>
        new aws.s3.BucketObjectv2(
          names.get(path)!,
          {
            bucket: args.bucket,
            key: keys[i]!,
            content: args.files[path]!,
            contentType: contentTypeFor(path),
          },
          { parent: this },
        ),
    );

    // Keys are known now; tying them to the objects makes `keys` resolve only once every upload is done.
    this.keys = pulumi.all(objects.map((o) => o.key)).apply(() => keys);
    this.count = this.keys.apply((k) => k.length);
    this.registerOutputs({ keys: this.keys, count: this.count });
  }
}
