/** `schema`: the pipeline JSON Schema (zod 4 `z.toJSONSchema`), to stdout or atomically to a file. */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { z } from "zod";
import { REPO_ROOT } from "../../definitions-loader.js";
import { pipelineJsonSchemaText } from "../../model/json-schema.js";
import type { CliIo } from "../io.js";

export const SchemaOptions = z.strictObject({ out: z.string().min(1).optional() });

/**
 * The schema text formatted with the repository's Prettier settings, so the committed file passes
 * `prettier --check` (the lint step) without being excluded from it.
 */
export async function formattedSchemaText(): Promise<string> {
  const prettier = await import("prettier");
  const config =
    (await prettier.resolveConfig(path.join(REPO_ROOT, "pipelines", "pipeline.schema.json"))) ?? {};
  return prettier.format(pipelineJsonSchemaText(), { ...config, parser: "json" });
}

export async function runSchema(raw: unknown, io: CliIo): Promise<void> {
  const opts = SchemaOptions.parse(raw);
  const text = await formattedSchemaText();
  if (opts.out === undefined) {
    io.out(text);
    return;
  }
  const target = path.resolve(io.cwd, opts.out);
  const tmpDir = await mkdtemp(path.join(path.dirname(target), ".schema-"));
  try {
    const tmp = path.join(tmpDir, "schema.json");
    await writeFile(tmp, text, "utf8");
    await rename(tmp, target);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
  io.out(`wrote ${opts.out}\n`);
}

export function schemaCommand(io: CliIo): Command {
  return new Command("schema")
    .description("print the JSON Schema of pipeline definitions (for editors)")
    .option("--out <file>", "write to this file instead of stdout")
    .action(async (options: unknown) => runSchema(options, io));
}
