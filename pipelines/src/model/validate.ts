/**
 * Parsing one definition and validating a set of them together (things that span pipelines: unique DAG ids
 * and Anyscale job names, asset producers, trigger targets, shared service specs).
 */
import type { z } from "zod";
import { flattenTasks } from "../graph/tasks.js";
import { DefinitionError, formatPath, type DefinitionIssue } from "./errors.js";
import { PipelineSchema, type Pipeline } from "./pipeline.js";
import { serviceSpecKey } from "./semantics.js";

/** A definition module after loading: its file (repo-relative) and its validated pipeline. */
export interface LoadedDefinition {
  readonly file: string;
  readonly pipeline: Pipeline;
}

function issuesFromZod(file: string, error: z.ZodError): DefinitionIssue[] {
  return error.issues.map((i) => ({ file, path: formatPath(i.path), message: i.message }));
}

/** Parses (zod + semantic checks) one module's default export; throws DefinitionError naming `file`. */
export function parsePipeline(value: unknown, file: string): Pipeline {
  const result = PipelineSchema.safeParse(value);
  if (!result.success) throw new DefinitionError(issuesFromZod(file, result.error));
  return result.data;
}

/**
 * Re-validates each definition and checks the set as a whole. Returns the parsed pipelines in input order;
 * throws DefinitionError listing every problem (each naming its file and field).
 */
export function validatePipelines(loaded: readonly LoadedDefinition[]): Pipeline[] {
  const issues: DefinitionIssue[] = [];
  const pipelines: Pipeline[] = [];
  for (const def of loaded) {
    const result = PipelineSchema.safeParse(def.pipeline);
    if (result.success) pipelines.push(result.data);
    else issues.push(...issuesFromZod(def.file, result.error));
  }
  if (issues.length > 0) throw new DefinitionError(issues);

  const dagIds = new Map<string, string>();
  const jobs = new Map<string, string>();
  const services = new Map<string, { file: string; key: string }>();
  const emitted = new Set<string>();
  pipelines.forEach((p, i) => {
    const file = loaded[i]!.file;
    const other = dagIds.get(p.dagId);
    if (other !== undefined)
      issues.push({ file, path: "dagId", message: `dag id "${p.dagId}" is also used by ${other}` });
    else dagIds.set(p.dagId, file);
    for (const t of flattenTasks(p).tasks) {
      const at = formatPath(t.path);
      if (t.task.kind === "emitAsset") emitted.add(t.task.asset);
      if (t.task.kind === "anyscaleJob") {
        const prev = jobs.get(t.task.name);
        if (prev !== undefined && prev !== file)
          issues.push({
            file,
            path: `${at}.name`,
            message: `Anyscale job name "${t.task.name}" is also used in ${prev}`,
          });
        else jobs.set(t.task.name, file);
      }
      if (t.task.kind === "anyscaleService") {
        const key = serviceSpecKey(t.task);
        const prev = services.get(t.task.name);
        if (prev === undefined) services.set(t.task.name, { file, key });
        else if (prev.key !== key)
          issues.push({
            file,
            path: `${at}.name`,
            message: `service "${t.task.name}" has a different spec in ${prev.file} (one YAML file per service)`,
          });
      }
    }
  });
  pipelines.forEach((p, i) => {
    const file = loaded[i]!.file;
    if (p.schedule.kind === "asset") {
      p.schedule.assets.forEach((uri, k) => {
        if (!emitted.has(uri))
          issues.push({
            file,
            path: `schedule.assets.${k}`,
            message: `no loaded pipeline emits asset "${uri}" (add an emitAsset task to its producer)`,
          });
      });
    }
    for (const t of flattenTasks(p).tasks) {
      if (t.task.kind === "triggerPipeline" && !dagIds.has(t.task.dagId))
        issues.push({
          file,
          path: `${formatPath(t.path)}.dagId`,
          message: `no loaded pipeline has dag id "${t.task.dagId}"`,
        });
      if (t.task.kind === "triggerPipeline" && t.task.dagId === p.dagId)
        issues.push({
          file,
          path: `${formatPath(t.path)}.dagId`,
          message: "a pipeline cannot trigger itself",
        });
    }
  });
  if (issues.length > 0) throw new DefinitionError(issues);
  return pipelines;
}
