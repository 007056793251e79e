/**
 * Parsing one definition and validating a set of them together (things that span pipelines: unique DAG ids
 * and Anyscale job names, asset producers, trigger targets, shared service specs).
 */
import type { z } from "zod";
import { flattenTasks } from "../graph/tasks.js";
import { DefinitionError, formatPath, type DefinitionIssue } from "./errors.js";
import { PipelineSchema, type Pipeline } from "./pipeline.js";
import { plainDataProblem } from "./plain-data.js";
import { serviceSpecKey } from "./semantics.js";

/** A definition module after loading: its file (repo-relative) and its validated pipeline. */
export interface LoadedDefinition {
  readonly file: string;
  readonly pipeline: Pipeline;
}

type ZodIssue = z.core.$ZodIssue;

/**
 * Flattens zod issues into messages a user can act on: record-key and union issues carry their real cause in
 * nested issues ("Invalid key in record" / "Invalid input" alone would not say what is wrong).
 */
function explain(issue: ZodIssue, base: readonly PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  const path = [...base, ...issue.path];
  if (issue.code === "invalid_key") {
    return issue.issues.map((inner) => ({ path, message: `invalid key: ${inner.message}` }));
  }
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    // Report the problems of the alternative the input was meant to match: one whose failures are not a type
    // mismatch, an unknown key or a missing key at the value itself; the deepest such alternative wins.
    const plausible = issue.errors.filter((b) => b.length > 0 && b.every((i) => !implausible(i)));
    const best = Math.max(-1, ...plausible.map(depth));
    const chosen = plausible.filter((b) => depth(b) === best);
    if (chosen.length === 1) return chosen[0]!.flatMap((inner) => explain(inner, path));
    const what = [...new Set(expectedTypes(issue))].join(", ");
    return [{ path, message: `invalid value${what ? `: expected ${what}` : ""}` }];
  }
  return [{ path, message: issue.message }];
}

function implausible(i: ZodIssue): boolean {
  if (i.code === "invalid_type") return i.path.length === 0 || /received undefined/.test(i.message);
  if (i.code === "unrecognized_keys") return i.path.length === 0;
  if (i.code === "invalid_union" && i.path.length === 0)
    return !i.errors.some((b) => b.length > 0 && b.every((x) => !implausible(x)));
  return false;
}

function depth(branch: readonly ZodIssue[]): number {
  return Math.max(
    0,
    ...branch.map(
      (i) => i.path.length + (i.code === "invalid_union" ? Math.max(0, ...i.errors.map(depth)) : 0),
    ),
  );
}

function expectedTypes(issue: ZodIssue): string[] {
  if (issue.code === "invalid_type")
    return [
      issue.expected === "object" ? "a { param }, { xcom }, { macro } or { concat } object" : issue.expected,
    ];
  if (issue.code === "invalid_union")
    return issue.errors.flat().flatMap((i) => (i.path.length === 0 ? expectedTypes(i) : []));
  return [];
}

function issuesFromZod(file: string, error: z.ZodError): DefinitionIssue[] {
  return error.issues.flatMap((i) =>
    explain(i, []).map((e) => ({ file, path: formatPath(e.path), message: e.message })),
  );
}

/** Every problem of `value` as a pipeline (structure, schema, semantics), each naming `file`; empty when valid. */
export function pipelineIssues(value: unknown, file: string): DefinitionIssue[] {
  const structural = plainDataProblem(value);
  if (structural) return [{ file, path: formatPath(structural.path), message: structural.message }];
  const result = PipelineSchema.safeParse(value);
  return result.success ? [] : issuesFromZod(file, result.error);
}

/** Parses (zod + semantic checks) one module's default export; throws DefinitionError naming `file`. */
export function parsePipeline(value: unknown, file: string): Pipeline {
  const structural = plainDataProblem(value);
  if (structural)
    throw new DefinitionError([{ file, path: formatPath(structural.path), message: structural.message }]);
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
    const structural = plainDataProblem(def.pipeline);
    if (structural) {
      issues.push({ file: def.file, path: formatPath(structural.path), message: structural.message });
      continue;
    }
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
      if (t.task.kind === "triggerPipeline" && dagIds.has(t.task.dagId)) {
        // dag_run.conf overrides params; a key that is not a param of the target is a silent typo.
        const target = pipelines.find((q) => q.dagId === (t.task as { dagId: string }).dagId)!;
        for (const key of Object.keys(t.task.conf))
          if (!Object.hasOwn(target.params, key))
            issues.push({
              file,
              path: `${formatPath(t.path)}.conf.${key}`,
              message: `"${key}" is not a param of ${target.dagId} (params: ${Object.keys(target.params).join(", ")})`,
            });
      }
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
