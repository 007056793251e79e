/** Drives the CLI end to end (`program.parseAsync` through runCli) with captured output, in temp dirs. */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { runCli } from "../../../pipelines/src/cli/run.js";
import type { PipelineInput } from "../../../pipelines/src/model/index.js";

export interface RunResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function run(args: string[], cwd: string): Promise<RunResult> {
  let out = "";
  let err = "";
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t), cwd });
  return { code, out, err };
}

const created: string[] = [];
// Registered from each test file that imports the harness (vitest evaluates it per file).
afterAll(async () => {
  await Promise.all(created.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "pipelines-cli-"));
  created.push(dir);
  return dir;
}

/** Writes `defs/<name>.ts` modules exporting the given pipelines (or raw module text). */
export async function writeDefinitions(
  dir: string,
  modules: Record<string, PipelineInput | { source: string }>,
): Promise<string> {
  const defs = path.join(dir, "defs");
  await mkdir(defs, { recursive: true });
  for (const [name, mod] of Object.entries(modules)) {
    const text = "source" in mod ? mod.source : `export default ${JSON.stringify(mod, null, 2)};\n`;
    await writeFile(path.join(defs, `${name}.ts`), text, "utf8");
  }
  return defs;
}

/** Every file under `root` with its content, sorted by relative path (for "untouched" comparisons). */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else result[child] = await readFile(path.join(root, child), "utf8");
    }
  };
  await walk("");
  return Object.fromEntries(Object.entries(result).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
