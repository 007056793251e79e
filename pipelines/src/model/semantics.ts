/**
 * Semantic checks on a schema-valid pipeline: ids, dependencies, cycles, branches and joins, template
 * references, secrets and Anyscale-specific rules. Each problem is returned with the field path it concerns.
 */
import {
  findCycle,
  Reachability,
  flattenTasks,
  taskEdges,
  topoOrder,
  type Edge,
  type FlatGroup,
  type FlatTask,
} from "../graph/tasks.js";
import { AIRFLOW_KEY_MAX } from "./names.js";
import type { PipelineShape } from "./pipeline.js";
import { isConcat, isParamRef, isSecretRef, isXcomRef } from "./refs.js";
import {
  looksRandom,
  requirementProblem,
  SECRET_ENV_NAME,
  SECRET_FLAG,
  secretLiteralKind,
} from "./secrets.js";
import { JOIN_TRIGGER_RULES, type AnyscaleServiceTask, type TriggerRule } from "./tasks.js";

export interface SemanticIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

export function checkPipelineSemantics(p: PipelineShape): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const add = (path: readonly (string | number)[], message: string): void => {
    issues.push({ path: [...path], message });
  };

  // Literal secrets anywhere in the definition (docs included: they are rendered into the DAG file).
  walk(p, [], (value, path) => {
    // Every number is written as a Python literal; doubles beyond 2^53 are not exact integers any more.
    if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value))
      add(
        path,
        `${value} is beyond 2^53 and cannot be represented exactly; numbers must be at most ` +
          `${Number.MAX_SAFE_INTEGER} in absolute value`,
      );
    // A concat's literal parts are joined at run time: a token split across parts is still a token.
    const text = typeof value === "string" ? value : isConcat(value) ? literalText(value) : undefined;
    if (text === undefined) return;
    const kind = secretLiteralKind(text);
    if (kind)
      add(path, `looks like ${kind}; secrets must be { secret: { connection } } references, never literals`);
    // Env values have their own message (below); every other literal reaches a rendered file too.
    else if (path[path.length - 2] !== "env" && looksRandomAnywhere(text))
      add(
        path,
        "looks like a secret key or token (a long random mix of letters and digits); secrets must be " +
          "{ secret: { connection } } references in env, never literals",
      );
  });

  const flat = flattenTasks(p);
  const taskById = new Map<string, FlatTask>();
  const groupIds = new Set(flat.groups.map((g) => g.id));

  // Duplicate ids (a group id also occupies the namespace of top-level task ids).
  const seen = new Set<string>();
  for (const g of flat.groups) {
    if (seen.has(g.id)) add([...g.path, "id"], `duplicate id "${g.id}"`);
    seen.add(g.id);
  }
  for (const t of flat.tasks) {
    if (seen.has(t.fullId)) add([...t.path, "id"], `duplicate task id "${t.fullId}"`);
    seen.add(t.fullId);
    if (!taskById.has(t.fullId)) taskById.set(t.fullId, t);
    if (t.fullId.length > AIRFLOW_KEY_MAX)
      add([...t.path, "id"], `full task id "${t.fullId}" is longer than ${AIRFLOW_KEY_MAX} characters`);
  }
  const exists = (ref: string): boolean => taskById.has(ref) || groupIds.has(ref);

  // Dependencies by id.
  for (const g of flat.groups) {
    g.dependsOn.forEach((ref, k) => {
      if (!exists(ref)) add([...g.path, "dependsOn", k], `unknown task or group id "${ref}"`);
      else if (ref === g.id || taskById.get(ref)?.group === g.id)
        add([...g.path, "dependsOn", k], `group "${g.id}" cannot depend on itself or its own task "${ref}"`);
    });
  }
  for (const t of flat.tasks) {
    t.task.dependsOn.forEach((ref, k) => {
      const path = [...t.path, "dependsOn", k];
      if (!exists(ref)) add(path, `unknown task or group id "${ref}"`);
      else if (ref === t.fullId) add(path, `task "${t.fullId}" cannot depend on itself`);
      else if (t.group !== undefined && ref === t.group)
        add(path, `task "${t.fullId}" cannot depend on its own group "${ref}"`);
    });
  }

  const edges = taskEdges(flat);
  const ids = flat.tasks.map((t) => t.fullId);
  const cycle = findCycle(ids, edges);
  if (cycle) add(["tasks"], `dependency cycle: ${cycle.join(" -> ")}`);

  const reach = new Reachability(edges);
  for (const t of flat.tasks) checkTask(t, p, taskById, reach, add);

  if (!cycle) checkBranches(flat.tasks, flat.groups, taskById, edges, add);

  // Anyscale job names identify YAML files: unique within a pipeline (and across pipelines, see validate.ts).
  const jobNames = new Map<string, string>();
  const services = new Map<string, FlatTask>();
  for (const t of flat.tasks) {
    if (t.task.kind === "anyscaleJob") {
      const other = jobNames.get(t.task.name);
      if (other)
        add([...t.path, "name"], `Anyscale job name "${t.task.name}" is also used by task "${other}"`);
      else jobNames.set(t.task.name, t.fullId);
    }
    if (t.task.kind === "anyscaleService") {
      const first = services.get(t.task.name);
      if (!first) services.set(t.task.name, t);
      else if (serviceSpecKey(first.task as AnyscaleServiceTask) !== serviceSpecKey(t.task))
        add(
          [...t.path, "name"],
          `service "${t.task.name}" is also rolled out by task "${first.fullId}" with a different spec ` +
            "(applications, image, compute config, working dir, requirements, env, auth must match)",
        );
    }
  }
  return issues;
}

/** The part of a service task that goes into `anyscale/services/<name>.yaml`; must agree between tasks. */
export function serviceSpecKey(t: AnyscaleServiceTask): string {
  const { applications, imageUri, containerfile, computeConfig, workingDir, excludes, requirements, env } = t;
  return JSON.stringify({
    applications,
    imageUri,
    containerfile,
    computeConfig,
    workingDir,
    excludes,
    requirements,
    env,
    cloud: t.cloud,
    project: t.project,
    tags: t.tags,
    auth: t.queryAuthTokenEnabled,
  });
}

type Add = (path: readonly (string | number)[], message: string) => void;

function checkTask(
  t: FlatTask,
  p: PipelineShape,
  taskById: ReadonlyMap<string, FlatTask>,
  reach: Reachability,
  add: Add,
): void {
  const task = t.task;
  const path = t.path;

  // Template references: params declared, XComs pulled from upstream tasks only.
  walk(task, [...path], (value, at) => {
    if (isParamRef(value) && !Object.hasOwn(p.params, value.param))
      add([...at, "param"], `unknown param "${value.param}" (declare it in params)`);
    if (isXcomRef(value)) {
      const src = value.xcom.task;
      if (!taskById.has(src)) add([...at, "xcom", "task"], `unknown task id "${src}"`);
      else if (src === t.fullId || !reach.reaches(src, t.fullId))
        add(
          [...at, "xcom", "task"],
          `task "${t.fullId}" reads the XCom of "${src}", which is not upstream of it (the value would be missing)`,
        );
    }
  });

  if (task.kind === "anyscaleJob" || task.kind === "anyscaleService") {
    if ((task.imageUri === undefined) === (task.containerfile === undefined))
      add(path, "set exactly one of imageUri and containerfile");
    task.requirements?.forEach((entry, k) => {
      const problem = requirementProblem(entry);
      if (problem) add([...path, "requirements", k], problem);
    });
    for (const [name, value] of Object.entries(task.env)) {
      if (isSecretRef(value)) continue;
      if (SECRET_ENV_NAME.test(name))
        add(
          [...path, "env", name],
          `"${name}" looks like a secret: give it as { secret: { connection: "<conn id>" } }, never as a value`,
        );
      else if (typeof value === "string" && looksRandom(value))
        add(
          [...path, "env", name],
          "value looks like a secret key; use a { secret: { connection } } reference",
        );
    }
  }

  if (task.kind === "anyscaleJob") {
    task.entrypoint.forEach((arg, k) => {
      const text = typeof arg === "string" ? arg : isConcat(arg) ? literalText(arg) : "";
      if (SECRET_FLAG.test(text))
        add(
          [...path, "entrypoint", k],
          `"${text}" passes a secret on the command line; the workload must resolve it at run time (env/SDK)`,
        );
    });
  }

  if (task.kind === "anyscaleService" && task.inPlace) {
    if (task.canaryPercent !== 100)
      add([...path, "canaryPercent"], "inPlace upgrades cannot use a canary: set canaryPercent to 100");
    if (task.maxSurgePercent !== undefined)
      add([...path, "maxSurgePercent"], "maxSurgePercent is not allowed with inPlace");
  }

  if (task.kind === "serviceTeardown") {
    if (task.triggerRule !== undefined)
      add(
        [...path, "triggerRule"],
        "teardown tasks get their trigger rule from Airflow's setup/teardown; remove it",
      );
    // Without work between setup and teardown, Airflow would run the teardown right after the rollout.
    const scoped = task.dependsOn.some((d) => task.setups.some((s) => d !== s && reach.reaches(s, d)));
    if (!scoped)
      add(
        [...path, "dependsOn"],
        "a teardown must depend on the last task of its setups' scope (else it runs right after the setup)",
      );
    task.setups.forEach((ref, k) => {
      const setup = taskById.get(ref);
      if (!setup) add([...path, "setups", k], `unknown task id "${ref}"`);
      else if (setup.task.kind !== "anyscaleService")
        add(
          [...path, "setups", k],
          `setup "${ref}" must be an anyscaleService task (got ${setup.task.kind})`,
        );
      else if (setup.task.name !== task.service)
        add([...path, "setups", k], `setup "${ref}" rolls out "${setup.task.name}", not "${task.service}"`);
    });
  }
}

/** Trigger rules under which a task is skipped as soon as one upstream is skipped. */
const SKIP_ON_ANY: readonly TriggerRule[] = ["all_success", "none_skipped", "all_failed", "one_failed"];

function checkBranches(
  tasks: readonly FlatTask[],
  groups: readonly FlatGroup[],
  taskById: ReadonlyMap<string, FlatTask>,
  edges: readonly Edge[],
  add: Add,
): void {
  const upstream = new Map<string, string[]>(tasks.map((t) => [t.fullId, []]));
  for (const [a, b] of edges) upstream.get(b)?.push(a);
  const order = topoOrder({ tasks, groups: [] }, edges);

  for (const b of tasks) {
    if (b.task.kind !== "branch") continue;
    const branch = b.task;
    const outcomes: { path: (string | number)[]; targets: string[] }[] = [
      ...branch.cases.map((c, i) => ({ path: [...b.path, "cases", i, "goTo"], targets: c.goTo })),
      { path: [...b.path, "otherwise"], targets: branch.otherwise },
    ];
    const allTargets = new Set<string>();
    for (const o of outcomes) {
      o.targets.forEach((ref, k) => {
        allTargets.add(ref);
        const target = taskById.get(ref);
        if (!target)
          add([...o.path, k], `branch target "${ref}" does not exist (groups are not valid targets)`);
        else if (!target.task.dependsOn.includes(b.fullId))
          add([...o.path, k], `branch target "${ref}" must list "${b.fullId}" in its dependsOn`);
      });
    }
    // A group depending on the branch puts the branch upstream of the group's root tasks; unless one of the
    // group's tasks is a target, the branch skips all of them on every outcome.
    for (const g of groups) {
      const k = g.dependsOn.indexOf(b.fullId);
      if (k >= 0 && !g.taskIds.some((id) => allTargets.has(id)))
        add(
          [...g.path, "dependsOn", k],
          `group "${g.id}" depends on branch "${b.fullId}" but none of its tasks is a target of the branch: ` +
            `Airflow would always skip the group (make the branch target its first task, or depend on a join)`,
        );
    }
    for (const t of tasks) {
      if (t.task.dependsOn.includes(b.fullId) && !allTargets.has(t.fullId))
        add(
          [...t.path, "dependsOn"],
          `"${t.fullId}" depends on branch "${b.fullId}" but is none of its targets: Airflow would always skip it`,
        );
    }

    // Simulate each outcome: which tasks run, with skip propagation by trigger rule.
    const ran = outcomes.map((o) => simulate(b.fullId, new Set(o.targets), order, upstream, taskById));
    for (const t of tasks) {
      const ups = upstream.get(t.fullId) ?? [];
      if (ups.length < 2 || t.task.kind === "serviceTeardown") continue;
      const isJoin = ups.some((u1) =>
        ups.some(
          (u2) =>
            u1 !== u2 &&
            ran.some((r1) => r1.has(u1) && !r1.has(u2)) &&
            ran.some((r2) => r2.has(u2) && !r2.has(u1)),
        ),
      );
      const rule = t.task.triggerRule ?? "all_success";
      if (isJoin && !JOIN_TRIGGER_RULES.includes(rule))
        add(
          [...t.path, "triggerRule"],
          `"${t.fullId}" joins paths of branch "${b.fullId}" and would be skipped with trigger rule ${rule}; ` +
            `use none_failed_min_one_success (or one of ${JOIN_TRIGGER_RULES.join(", ")})`,
        );
    }
  }
}

function simulate(
  branchId: string,
  chosen: ReadonlySet<string>,
  order: readonly string[],
  upstream: ReadonlyMap<string, string[]>,
  taskById: ReadonlyMap<string, FlatTask>,
): Set<string> {
  const skipped = new Set<string>();
  for (const id of order) {
    const ups = upstream.get(id) ?? [];
    if (ups.includes(branchId)) {
      if (!chosen.has(id)) skipped.add(id);
      continue;
    }
    const rule = taskById.get(id)?.task.triggerRule ?? "all_success";
    const nSkipped = ups.filter((u) => skipped.has(u)).length;
    if (rule === "always" || nSkipped === 0) continue;
    if (SKIP_ON_ANY.includes(rule) || nSkipped === ups.length) skipped.add(id);
  }
  return new Set(order.filter((id) => !skipped.has(id)));
}

/** The literal parts of a concat joined (references left out): the text a reviewer would see. */
function literalText(c: { concat: unknown }): string {
  // Semantic checks also run on input with schema issues (zod runs refinements on continuable issues).
  if (!Array.isArray(c.concat)) return "";
  return c.concat.filter((x): x is string => typeof x === "string").join("");
}

/** `looksRandom` on the whole text and on each word of it (a token inside a sentence or after `key=`). */
function looksRandomAnywhere(text: string): boolean {
  return looksRandom(text) || text.split(/[\s=:,;"'()[\]{}]+/).some(looksRandom);
}

/** Visits every value in a JSON-like tree with its path. */
export function walk(
  value: unknown,
  path: (string | number)[],
  visit: (value: unknown, path: (string | number)[]) => void,
): void {
  visit(value, path);
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i], visit));
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) walk(v, [...path, k], visit);
}
