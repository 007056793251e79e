/**
 * Writing rendered files. The renderer owns two subdirectories of the output directory, `dags/` and `anyscale/`;
 * anything else in the output directory (e.g. other build artefacts in `build/`) is left alone.
 *
 * Atomicity: everything is rendered in memory first; then the new tree is written to a temporary directory inside
 * the output directory (same filesystem), and each owned subdirectory is swapped in with `rename`. A failure
 * before the swap leaves the previous output untouched; stale files (a removed pipeline) disappear with the old
 * subdirectory.
 */
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, posix, sep } from "node:path";

export interface RenderedFile {
  /** Relative to the output directory: `dags/<dag_id>.py`, `anyscale/jobs/<name>.yaml`, `anyscale/services/<name>.yaml`. */
  path: string;
  content: string;
}

/** The subdirectories of the output directory that the renderer owns (replaced as a whole). */
export const OWNED_DIRS = ["dags", "anyscale"] as const;

/** Refuses paths that would escape the owned subdirectories or collide, and ill-formed text; returns them sorted. */
export function validateRenderedPaths(files: readonly RenderedFile[]): RenderedFile[] {
  const seen = new Set<string>();
  for (const f of files) {
    const norm = posix.normalize(f.path);
    const top = norm.split("/")[0];
    if (
      norm !== f.path ||
      f.path.startsWith("/") ||
      norm.includes("..") ||
      !OWNED_DIRS.some((d) => d === top)
    )
      throw new Error(`rendered path ${JSON.stringify(f.path)} is not inside ${OWNED_DIRS.join("/ or ")}/`);
    if (seen.has(f.path)) throw new Error(`two rendered files have the same path ${f.path}`);
    // A lone surrogate would be silently replaced by U+FFFD when encoded as UTF-8.
    if (/\p{Cs}/u.test(f.content)) throw new Error(`rendered file ${f.path} contains a lone surrogate`);
    seen.add(f.path);
  }
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Writes `files` under `outDir`, replacing `dags/` and `anyscale/` atomically per directory (see module doc). */
export async function writeOutputAtomic(outDir: string, files: RenderedFile[]): Promise<void> {
  const sorted = validateRenderedPaths(files);
  await mkdir(outDir, { recursive: true });
  const staging = await mkdtemp(join(outDir, ".render-new-"));
  const retired = await mkdtemp(join(outDir, ".render-old-"));
  try {
    for (const d of OWNED_DIRS) await mkdir(join(staging, d), { recursive: true });
    for (const f of sorted) {
      const target = join(staging, ...f.path.split("/"));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.content, { encoding: "utf8" });
    }
    for (const d of OWNED_DIRS) {
      await rename(join(outDir, d), join(retired, d)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      await rename(join(staging, d), join(outDir, d));
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(retired, { recursive: true, force: true });
  }
}

async function listFiles(root: string, rel = ""): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries) {
    const childRel = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, childRel)));
    else out.push(childRel);
  }
  return out;
}

/**
 * Paths (relative, `/`-separated, sorted) where `outDir` differs from `files`: missing, different content, or present
 * in an owned subdirectory without being rendered (stale). Empty means up to date.
 */
export async function checkOutput(outDir: string, files: RenderedFile[]): Promise<string[]> {
  const sorted = validateRenderedPaths(files);
  const differing = new Set<string>();
  const wanted = new Set(sorted.map((f) => f.path));
  for (const f of sorted) {
    let current: string | undefined;
    try {
      current = await readFile(join(outDir, ...f.path.split("/")), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (current !== f.content) differing.add(f.path);
  }
  for (const d of OWNED_DIRS)
    for (const rel of await listFiles(outDir, d)) {
      const p = rel.split(sep).join("/");
      if (!wanted.has(p)) differing.add(p);
    }
  return [...differing].sort();
}
