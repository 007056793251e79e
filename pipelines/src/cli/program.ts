/** The `pipelines` CLI: one command per file under commands/, one error handler (errors.ts). */
import { Command } from "commander";
import { graphCommand } from "./commands/graph.js";
import { renderDagsCommand } from "./commands/render-dags.js";
import { schemaCommand } from "./commands/schema.js";
import { validateCommand } from "./commands/validate.js";
import type { CliIo } from "./io.js";

export function createProgram(io: CliIo): Command {
  const program = new Command("pipelines")
    .description("typed pipeline definitions → Airflow 3 DAG files and Anyscale job/service YAML")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const cmd of [renderDagsCommand(io), validateCommand(io), graphCommand(io), schemaCommand(io)]) {
    program.addCommand(cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err }));
  }
  return program;
}
