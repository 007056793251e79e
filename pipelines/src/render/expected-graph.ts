/**
 * What Airflow should report for a rendered DAG, computed from the MODEL (never from rendered text): task ids,
 * upstream ids, trigger rules, task groups, setup/teardown flags, operator classes, params. Tests load the rendered
 * file into a real DagBag and compare Airflow's own view with this.
 */
import { flattenTasks, taskEdges } from "../graph/tasks.js";
import type { Pipeline } from "../model/pipeline.js";
import type { Task } from "../model/tasks.js";
import { applications, dagDocMd, operatorName } from "./dag.js";
import type { Naming } from "./names.js";
import { compareStrings } from "./python-literal.js";

export interface ExpectedTask {
  group: string | null;
  doc_md: string | null;
  operator: string;
  trigger_rule: string;
  upstream: string[];
  is_setup: boolean;
  is_teardown: boolean;
}

/**
 * A templated operator field as the model describes it: `shell` = an argv list Airflow renders into one shell
 * command line; `value` = any value whose references Jinja renders to text.
 */
export type ExpectedField = { shell: unknown[] } | { value: unknown };

export interface ExpectedGraph {
  dag_id: string;
  dag_display_name: string;
  description: string;
  doc_md: string;
  file: string;
  schedule: string | null | string[];
  tags: string[];
  groups: string[];
  tasks: Record<string, ExpectedTask>;
  params: Record<string, { default: unknown; schema: Record<string, unknown>; description: string | null }>;
  /** Per task id: the Jinja-templated fields and the model values they must render to. */
  templated: Record<string, Record<string, ExpectedField>>;
}

function templatedFields(
  task: Task,
  naming: Naming,
  computeConfigs: Readonly<Record<string, string>>,
): Record<string, ExpectedField> | undefined {
  const fields: [string, ExpectedField | undefined][] = [];
  const value = (v: unknown): ExpectedField | undefined => (v === undefined ? undefined : { value: v });
  switch (task.kind) {
    case "anyscaleJob":
    case "anyscaleService":
      fields.push(
        ["name", value(naming.prefix + task.name)],
        ["compute_config", value(computeConfigs[task.computeConfig] ?? task.computeConfig)],
        ["image_uri", value(task.imageUri)],
        ["containerfile", value(task.containerfile)],
        ["working_dir", value(task.workingDir)],
        ["requirements", value(task.requirements)],
        ["excludes", value(task.excludes)],
        ["cloud", value(task.cloud)],
        ["project", value(task.project)],
        ["env_vars", Object.keys(task.env).length > 0 ? value(task.env) : undefined],
      );
      if (task.kind === "anyscaleJob") fields.push(["entrypoint", { shell: task.entrypoint }]);
      else fields.push(["applications", value(applications(task))]);
      break;
    case "slack":
      fields.push(
        ["slack_conn_id", value(task.connection)],
        ["channel", value(task.channel)],
        ["text", value(task.text)],
      );
      break;
    case "triggerPipeline":
      fields.push(["trigger_dag_id", value(naming.dagId(task.dagId))], ["conf", value(task.conf)]);
      break;
    default:
      return undefined;
  }
  return Object.fromEntries(fields.filter((f): f is [string, ExpectedField] => f[1] !== undefined));
}

export function expectedGraph(
  file: string,
  p: Pipeline,
  naming: Naming,
  computeConfigs: Readonly<Record<string, string>> = {},
): ExpectedGraph {
  const flat = flattenTasks(p);
  const edges = taskEdges(flat);
  const setups = new Set<string>();
  for (const t of flat.tasks)
    if (t.task.kind === "serviceTeardown") for (const s of t.task.setups) setups.add(s);
  const tasks: Record<string, ExpectedTask> = {};
  for (const t of [...flat.tasks].sort((a, b) => compareStrings(a.fullId, b.fullId))) {
    const teardown = t.task.kind === "serviceTeardown";
    tasks[t.fullId] = {
      group: t.group ?? null,
      doc_md: t.task.doc ?? null,
      operator: operatorName(
        t.task,
        edges.filter(([a]) => a === t.fullId).map(([, b]) => b),
      ),
      trigger_rule: teardown ? "all_done_setup_success" : (t.task.triggerRule ?? "all_success"),
      upstream: edges
        .filter(([, b]) => b === t.fullId)
        .map(([a]) => a)
        .sort(compareStrings),
      is_setup: setups.has(t.fullId),
      is_teardown: teardown,
    };
  }
  const templated: ExpectedGraph["templated"] = {};
  for (const t of [...flat.tasks].sort((a, b) => compareStrings(a.fullId, b.fullId))) {
    const f = templatedFields(t.task, naming, computeConfigs);
    if (f !== undefined) templated[t.fullId] = f;
  }
  const params: ExpectedGraph["params"] = {};
  for (const [name, spec] of Object.entries(p.params).sort(([a], [b]) => compareStrings(a, b))) {
    const { default: def, description, ...schema } = spec;
    params[name] = {
      default: def,
      description: description ?? null,
      schema: Object.fromEntries(
        Object.entries(schema)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => compareStrings(a, b)),
      ),
    };
  }
  const s = p.schedule;
  return {
    dag_id: naming.dagId(p.dagId),
    dag_display_name: p.displayName,
    description: p.description,
    doc_md: dagDocMd(p.doc),
    file,
    schedule:
      s.kind === "manual"
        ? null
        : s.kind === "cron"
          ? s.cron
          : [...new Set(s.assets.map((u) => naming.assetUri(u)))].sort(compareStrings),
    tags: [...new Set(p.tags)].sort(compareStrings),
    groups: flat.groups.map((g) => g.id).sort(compareStrings),
    tasks,
    params,
    templated,
  };
}
