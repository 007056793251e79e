/** JSON Schema of a pipeline definition (input side: defaults are optional), for editors. */
import { z } from "zod";
import { PipelineSchema } from "./pipeline.js";

export const SCHEMA_ID = "https://llm-retraining-platform.invalid/pipelines/pipeline.schema.json";

/** Deterministic JSON text (2-space indent, trailing newline) of the pipeline JSON Schema. */
export function pipelineJsonSchemaText(): string {
  const schema = z.toJSONSchema(PipelineSchema, { io: "input", target: "draft-2020-12", reused: "ref" });
  return JSON.stringify({ $id: SCHEMA_ID, title: "Pipeline definition", ...schema }, null, 2) + "\n";
}
