/** Loading definitions for a command: folder resolution and `--only` selection. */
import path from "node:path";
import { loadDefinitions, type LoadedDefinition } from "../definitions-loader.js";
import { CliError } from "./errors.js";
import type { CliIo } from "./io.js";

export async function loadSelected(
  io: CliIo,
  opts: { definitions?: string | undefined; only?: string | undefined },
): Promise<{ all: LoadedDefinition[]; selected: LoadedDefinition[] }> {
  const all = await loadDefinitions(
    opts.definitions === undefined ? undefined : path.resolve(io.cwd, opts.definitions),
  );
  if (opts.only === undefined) return { all, selected: all };
  const selected = all.filter((d) => d.pipeline.dagId === opts.only);
  if (selected.length === 0)
    throw new CliError(
      `--only ${opts.only}: no such dag id (known: ${all.map((d) => d.pipeline.dagId).join(", ")})`,
    );
  return { all, selected };
}
