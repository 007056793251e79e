/**
 * Storage root per deployment. Definitions are written against one artifact root (the `ARTIFACT_ROOT` of
 * `pipelines/definitions/shared/platform.ts`); each environment keeps its artefacts in its own bucket, so the
 * renderer rebases every URI under that root onto the environment's root before rendering. Only whole
 * root prefixes move (`s3://root`, `s3://root/...`), never a longer bucket name that merely starts the same.
 */
import type { Pipeline } from "../model/pipeline.js";

/** Moves URIs from one storage root to another, e.g. `s3://llm-platform-artifacts` → `s3://acme-ml-prod`. */
export interface StorageRoot {
  readonly from: string;
  readonly to: string;
}

const ROOT = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._-]+)*$/;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Checks both roots (`s3://bucket[/prefix]`, no trailing slash); throws naming the bad one. */
export function validateStorageRoot(root: StorageRoot): void {
  for (const [field, value] of [
    ["from", root.from],
    ["to", root.to],
  ] as const) {
    if (!ROOT.test(value)) {
      throw new Error(
        `storage root ${field} ${JSON.stringify(value)} must look like s3://bucket or s3://bucket/prefix`,
      );
    }
  }
}

/** `value` with every string rebased (objects and arrays copied; other values unchanged). */
export function rebaseStrings<T>(value: T, root: StorageRoot): T {
  validateStorageRoot(root);
  const pattern = new RegExp(`${escapeRegex(root.from)}(?=$|/|[^A-Za-z0-9._-])`, "g");
  const visit = (v: unknown): unknown => {
    if (typeof v === "string") return v.replace(pattern, root.to);
    if (Array.isArray(v)) return v.map(visit);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    }
    return v;
  };
  return visit(value) as T;
}

/** The pipeline with its storage URIs moved to `root.to`. */
export function rebasePipeline(pipeline: Pipeline, root: StorageRoot): Pipeline {
  return rebaseStrings(pipeline, root);
}
