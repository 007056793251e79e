/**
 * Names the renderer derives from a definition: prefixed ids for PR previews, Python variable names, file names.
 */
import { ANYSCALE_NAME_MAX } from "../model/names.js";

/** A render problem tied to a definition file and a field path (same shape as the model's errors). */
export class RenderError extends Error {
  constructor(
    readonly file: string,
    readonly path: readonly (string | number)[],
    message: string,
  ) {
    super(`${file}: ${path.length > 0 ? path.join(".") + ": " : ""}${message}`);
    this.name = "RenderError";
  }
}

/** PR-preview prefixes end up in dag ids, Anyscale names and asset URIs, so only this alphabet is accepted. */
export const PREFIX_PATTERN = /^[a-z0-9_-]*$/;

export interface Naming {
  readonly prefix: string;
  dagId(id: string): string;
  /** Anyscale job/service name with the prefix; refuses names Anyscale would reject. */
  anyscaleName(name: string, file: string, path: readonly (string | number)[]): string;
  /** Asset URI with the prefix put after `scheme://`, so preview assets never collide with production ones. */
  assetUri(uri: string): string;
}

export function naming(prefix = ""): Naming {
  if (!PREFIX_PATTERN.test(prefix))
    throw new Error(`dagIdPrefix ${JSON.stringify(prefix)} must match ${PREFIX_PATTERN} (e.g. "pr_123__")`);
  return {
    prefix,
    dagId: (id) => prefix + id,
    anyscaleName: (name, file, path) => {
      const full = prefix + name;
      if (full.length > ANYSCALE_NAME_MAX)
        throw new RenderError(
          file,
          path,
          `Anyscale name "${full}" (with prefix "${prefix}") is longer than ${ANYSCALE_NAME_MAX} characters`,
        );
      return full;
    },
    assetUri: (uri) => {
      if (prefix === "") return uri;
      const i = uri.indexOf("://");
      return `${uri.slice(0, i + 3)}${prefix}${uri.slice(i + 3)}`;
    },
  };
}

export { isPythonKeyword } from "../model/names.js";

/** Assigns unique, stable Python identifiers to task ids (definition order decides who gets a suffix). */
export class VariableNames {
  private readonly used = new Set<string>();
  private readonly byId = new Map<string, string>();

  constructor(reserved: readonly string[] = []) {
    for (const r of reserved) this.used.add(r);
  }

  assign(id: string, prefix: string): string {
    const base = prefix + id.replace(/[^A-Za-z0-9_]/g, "_");
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}_${n}`;
    this.used.add(name);
    this.byId.set(id, name);
    return name;
  }

  get(id: string): string {
    const v = this.byId.get(id);
    if (v === undefined) throw new Error(`no variable for task ${id}`);
    return v;
  }
}
