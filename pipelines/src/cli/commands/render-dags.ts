/** `render-dags`: render every definition into `<out>/dags/*.py` and `<out>/anyscale/**.yaml`, or check drift. */
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { z } from "zod";
import { DagId } from "../../model/tasks.js";
import type { LoadedDefinition } from "../../definitions-loader.js";
import { COMPUTE_CONFIG_PATTERN } from "../../model/names.js";
import {
  checkOutput,
  referencedComputeConfigs,
  renderAll,
  writeOutputAtomic,
  type RenderedFile,
} from "../../render/index.js";
import { validateStorageRoot, type StorageRoot } from "../../render/storage.js";
import { CliError } from "../errors.js";
import type { CliIo } from "../io.js";
import { loadSelected } from "../load.js";

export const RenderDagsOptions = z.strictObject({
  out: z.string().min(1).default("build"),
  check: z.boolean().default(false),
  only: DagId.optional(),
  definitions: z.string().min(1).optional(),
  dagIdPrefix: z
    .string()
    .regex(/^[a-z0-9_-]*$/, { message: "must be lowercase letters, digits, '_' or '-'" })
    .optional(),
  computeConfig: z
    .array(z.string().regex(/^[^=\s]+=[^=\s]+$/, { message: "must be key=name:version" }))
    .default([]),
  storageRoot: z
    .string()
    .regex(/^s3:\/\/[^=\s]+=s3:\/\/[^=\s]+$/, { message: "must be s3://from-root=s3://to-root" })
    .optional(),
});
export type RenderDagsOptions = z.infer<typeof RenderDagsOptions>;

const OWNED = ["dags", "anyscale"] as const;

/**
 * `--compute-config key=name[:version]` as a map. Each key must be one the definitions use (all of them, also with
 * `--only`; a typo would otherwise be silently ignored), given once, and each value an Anyscale compute config
 * reference.
 */
function computeConfigOverrides(
  given: readonly string[],
  defs: readonly LoadedDefinition[],
): Record<string, string> {
  const used = referencedComputeConfigs(defs);
  const out: Record<string, string> = {};
  for (const kv of given) {
    const [key, value] = kv.split("=") as [string, string];
    if (!used.includes(key))
      throw new CliError(
        `--compute-config ${kv}: unknown compute config key "${key}" (the definitions use: ${used.join(", ") || "none"})`,
      );
    if (!COMPUTE_CONFIG_PATTERN.test(value))
      throw new CliError(
        `--compute-config ${kv}: "${value}" must be an Anyscale compute config name or name:version (version >= 1)`,
      );
    if (Object.hasOwn(out, key)) throw new CliError(`--compute-config ${kv}: key "${key}" is given twice`);
    out[key] = value;
  }
  return out;
}

/** Files currently in the renderer-owned subdirectories of `outDir`. */
async function existingOutput(outDir: string): Promise<RenderedFile[]> {
  const files: RenderedFile[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(outDir, rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) await visit(child);
      else files.push({ path: child, content: await readFile(path.join(outDir, child), "utf8") });
    }
  };
  for (const d of OWNED) await visit(d);
  return files;
}

/** Refuses an `--out` that is a file or lies below one, before anything is loaded or written. */
async function checkOutDir(outDir: string, shown: string): Promise<void> {
  try {
    if (!(await stat(outDir)).isDirectory()) throw new CliError(`--out ${shown}: is a file, not a directory`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return; // created by the write
    throw new CliError(`--out ${shown}: cannot write there (${outDirReason(e)})`);
  }
}

function outDirReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOTDIR") return "a parent path is a file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** Runs a file-system step on `--out`, turning its errors into one `error: --out <dir>: ...` line. */
async function onOutDir<T>(shown: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof CliError || !(e instanceof Error) || !("code" in e)) throw e;
    throw new CliError(`--out ${shown}: cannot write there (${outDirReason(e)})`);
  }
}

export async function runRenderDags(raw: unknown, io: CliIo): Promise<void> {
  const opts = RenderDagsOptions.parse(raw);
  const outDir = path.resolve(io.cwd, opts.out);
  await checkOutDir(outDir, opts.out);
  const { all, selected } = await loadSelected(io, opts);
  const computeConfigs = computeConfigOverrides(opts.computeConfig, all);
  let storageRoot: StorageRoot | undefined;
  if (opts.storageRoot !== undefined) {
    const [from, to] = opts.storageRoot.split("=") as [string, string];
    storageRoot = { from, to };
    try {
      validateStorageRoot(storageRoot);
    } catch (e) {
      throw new CliError(`option storageRoot: ${(e as Error).message}`);
    }
  }
  const files = await renderAll(selected, {
    computeConfigs,
    ...(opts.dagIdPrefix !== undefined ? { dagIdPrefix: opts.dagIdPrefix } : {}),
    ...(storageRoot !== undefined ? { storageRoot } : {}),
  });

  if (opts.check) {
    let differing: string[];
    if (opts.only === undefined) differing = await onOutDir(opts.out, () => checkOutput(outDir, files));
    else {
      // Only this DAG's files are compared; other DAGs' files on disk are not stale for `--only`.
      const existing = await onOutDir(opts.out, () => existingOutput(outDir));
      const current = new Map(existing.map((f) => [f.path, f.content]));
      differing = files.filter((f) => current.get(f.path) !== f.content).map((f) => f.path);
    }
    if (differing.length > 0)
      throw new CliError(
        `${opts.out}: differs from a fresh render (run \`npm run render-dags\`):\n` +
          differing.map((p) => `  ${p}`).join("\n"),
      );
    io.out(`up to date: ${files.length} files in ${opts.out}\n`);
    return;
  }

  let toWrite = files;
  if (opts.only !== undefined) {
    // Keep the other DAGs' files: replace only what this DAG renders.
    const fresh = new Set(files.map((f) => f.path));
    const existing = await onOutDir(opts.out, () => existingOutput(outDir));
    toWrite = [...existing.filter((f) => !fresh.has(f.path)), ...files];
  }
  await onOutDir(opts.out, () => writeOutputAtomic(outDir, toWrite));
  io.out(`rendered ${files.length} files (${selected.length} pipelines) to ${opts.out}\n`);
}

export function renderDagsCommand(io: CliIo): Command {
  return new Command("render-dags")
    .description("render pipeline definitions into Airflow DAG files and Anyscale job/service YAML")
    .option("--out <dir>", "output directory", "build")
    .option("--check", "exit non-zero when the output on disk differs from a fresh render", false)
    .option("--only <dag_id>", "render only this pipeline")
    .option("--definitions <dir>", "folder of definition modules (default pipelines/definitions/)")
    .option("--dag-id-prefix <prefix>", "prefix for dag ids, assets and Anyscale names (PR previews)")
    .option(
      "--compute-config <key=name:version>",
      "override a compute config key (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      "--storage-root <from=to>",
      "render artifact URIs under another root, e.g. s3://llm-platform-artifacts=s3://acme-ml-prod (what a stack's artifactBucket does)",
    )
    .action(async (options: unknown) => runRenderDags(options, io));
}
