/** `graph`: a Mermaid diagram per DAG (Markdown with fenced blocks), for PR descriptions. */
import { Command } from "commander";
import { z } from "zod";
import { mermaidGraph } from "../../graph/mermaid.js";
import { DagId } from "../../model/tasks.js";
import type { CliIo } from "../io.js";
import { loadSelected } from "../load.js";

export const GraphOptions = z.strictObject({
  definitions: z.string().min(1).optional(),
  only: DagId.optional(),
});

export async function runGraph(raw: unknown, io: CliIo): Promise<void> {
  const opts = GraphOptions.parse(raw);
  const { selected } = await loadSelected(io, opts);
  const sections = selected.map(
    (d) =>
      `### ${d.pipeline.dagId}\n\n${d.pipeline.description}\n\n\`\`\`mermaid\n${mermaidGraph(d.pipeline)}\`\`\`\n`,
  );
  io.out(sections.join("\n"));
}

export function graphCommand(io: CliIo): Command {
  return new Command("graph")
    .description("print a Mermaid diagram per pipeline (Markdown)")
    .option("--definitions <dir>", "folder of definition modules (default pipelines/definitions/)")
    .option("--only <dag_id>", "only this pipeline")
    .action(async (options: unknown) => runGraph(options, io));
}
