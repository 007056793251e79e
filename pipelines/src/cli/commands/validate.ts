/** `validate`: load and validate every definition and render them in memory (nothing is written). */
import { Command } from "commander";
import { z } from "zod";
import { renderAll } from "../../render/index.js";
import type { CliIo } from "../io.js";
import { loadSelected } from "../load.js";

export const ValidateOptions = z.strictObject({ definitions: z.string().min(1).optional() });

export async function runValidate(raw: unknown, io: CliIo): Promise<void> {
  const opts = ValidateOptions.parse(raw);
  const { all } = await loadSelected(io, opts);
  const files = await renderAll(all);
  for (const d of all) io.out(`ok: ${d.file}: ${d.pipeline.dagId}\n`);
  io.out(`${all.length} pipelines valid (${files.length} files would be rendered)\n`);
}

export function validateCommand(io: CliIo): Command {
  return new Command("validate")
    .description("validate pipeline definitions (schema, graph, names, templates, secrets) without writing")
    .option("--definitions <dir>", "folder of definition modules (default pipelines/definitions/)")
    .action(async (options: unknown) => runValidate(options, io));
}
