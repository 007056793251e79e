/**
 * Pipeline definition model: zod schemas (strict), inferred types, validation and authoring helpers.
 * Renderers: see refs.ts (MACROS, refExpression, is*Ref guards), tasks.ts (task kinds and their doc comments)
 * and ../graph/tasks.ts (flattenTasks, taskEdges, topoOrder) for the task-level view.
 */
export * from "./names.js";
export * from "./cron.js";
export * from "./refs.js";
export * from "./params.js";
export * from "./tasks.js";
export * from "./secrets.js";
export * from "./errors.js";
export {
  AssetScheduleSchema,
  CronScheduleSchema,
  DefaultArgsSchema,
  definePipeline,
  ManualScheduleSchema,
  PipelineSchema,
  ScheduleSchema,
  type Pipeline,
  type PipelineInput,
  type Schedule,
} from "./pipeline.js";
export { checkPipelineSemantics, serviceSpecKey, walk, type SemanticIssue } from "./semantics.js";
export { parsePipeline, validatePipelines, type LoadedDefinition } from "./validate.js";
export { pipelineJsonSchemaText, SCHEMA_ID } from "./json-schema.js";
