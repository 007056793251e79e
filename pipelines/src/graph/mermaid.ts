/**
 * Mermaid flowchart of a pipeline, for PR descriptions. Node ids are positional (`t0`, `t1`, ...) because
 * Mermaid ids cannot contain dots; labels carry the Airflow task ids. Output is deterministic.
 */
import type { Pipeline } from "../model/pipeline.js";
import type { Task } from "../model/tasks.js";
import { flattenTasks, taskEdges } from "./tasks.js";

const KIND_LABEL: Record<Task["kind"], string> = {
  anyscaleJob: "Anyscale job",
  anyscaleService: "service rollout",
  serviceTeardown: "teardown",
  python: "python",
  branch: "branch",
  slack: "Slack",
  emitAsset: "asset",
  triggerPipeline: "trigger",
};

function escape(text: string): string {
  return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

function label(text: string): string {
  return `"${escape(text)}"`;
}

function nodeShape(id: string, task: Task, display: string): string {
  const text = `"${escape(display)}<br/><i>${escape(detail(task))}</i>"`;
  switch (task.kind) {
    case "branch":
      return `${id}{${text}}`;
    case "serviceTeardown":
      return `${id}[/${text}/]`;
    case "emitAsset":
    case "triggerPipeline":
      return `${id}>${text}]`;
    case "slack":
      return `${id}([${text}])`;
    default:
      return `${id}[${text}]`;
  }
}

function detail(task: Task): string {
  switch (task.kind) {
    case "anyscaleJob":
      return `${KIND_LABEL[task.kind]}: ${task.name}`;
    case "anyscaleService":
      return `${task.name}, canary ${task.canaryPercent}%`;
    case "serviceTeardown":
      return `${task.action} ${task.service}`;
    case "emitAsset":
      return `asset ${task.asset}`;
    case "triggerPipeline":
      return `trigger ${task.dagId}`;
    default:
      return KIND_LABEL[task.kind];
  }
}

function scheduleText(p: Pipeline): string {
  switch (p.schedule.kind) {
    case "manual":
      return "manual";
    case "cron":
      return `cron ${p.schedule.cron}`;
    case "asset":
      return `on ${p.schedule.assets.join(", ")}`;
  }
}

/** A `flowchart TD` for one pipeline (no code fence). */
export function mermaidGraph(p: Pipeline): string {
  const flat = flattenTasks(p);
  const nodeId = new Map(flat.tasks.map((t, i) => [t.fullId, `t${i}`]));
  const lines = ["flowchart TD", `  %% ${p.dagId} (${scheduleText(p)})`];
  const topLevel = flat.tasks.filter((t) => t.group === undefined);
  for (const t of topLevel) lines.push(`  ${nodeShape(nodeId.get(t.fullId)!, t.task, t.fullId)}`);
  flat.groups.forEach((g, gi) => {
    lines.push(`  subgraph g${gi}[${label(g.id)}]`);
    for (const id of g.taskIds) {
      const t = flat.tasks.find((x) => x.fullId === id)!;
      lines.push(`    ${nodeShape(nodeId.get(id)!, t.task, t.task.id)}`);
    }
    lines.push("  end");
  });

  // Branch edges carry the case that selects them; setup → teardown edges are dotted.
  const edgeLabel = new Map<string, string>();
  for (const t of flat.tasks) {
    if (t.task.kind !== "branch") continue;
    for (const c of t.task.cases) {
      const rhs = typeof c.value === "object" ? `params.${c.value.param}` : JSON.stringify(c.value);
      for (const target of c.goTo) edgeLabel.set(`${t.fullId}\u0000${target}`, `${c.op} ${rhs}`);
    }
    for (const target of t.task.otherwise) edgeLabel.set(`${t.fullId}\u0000${target}`, "otherwise");
  }
  const setupEdges = new Set<string>();
  for (const t of flat.tasks)
    if (t.task.kind === "serviceTeardown")
      for (const s of t.task.setups) setupEdges.add(`${s}\u0000${t.fullId}`);

  for (const [from, to] of taskEdges(flat)) {
    const key = `${from}\u0000${to}`;
    const a = nodeId.get(from)!;
    const b = nodeId.get(to)!;
    const text = edgeLabel.get(key);
    if (setupEdges.has(key)) lines.push(`  ${a} -.-> ${b}`);
    else if (text !== undefined) lines.push(`  ${a} -- ${label(text)} --> ${b}`);
    else lines.push(`  ${a} --> ${b}`);
  }
  return lines.join("\n") + "\n";
}
