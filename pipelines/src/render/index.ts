/**
 * Renderers: typed pipeline definitions → Airflow 3.3 DAG files and Anyscale job/service YAML.
 *
 * `renderAll` is pure (no file system): it returns every file's path and text, sorted by path, or throws a
 * `RenderError` naming the definition file and field. Writing is separate (`writeOutputAtomic`), so a failed render
 * never touches previous output.
 */
import { flattenTasks } from "../graph/tasks.js";
import { DefinitionError } from "../model/errors.js";
import { AIRFLOW_KEY_MAX, ASSET_URI_MAX, COMPUTE_CONFIG_PATTERN } from "../model/names.js";
import type { Pipeline } from "../model/pipeline.js";
import { pipelineIssues } from "../model/validate.js";
import type { AnyscaleServiceTask } from "../model/tasks.js";
import { anyscaleYaml, jobConfig, serviceConfig } from "./anyscale-yaml.js";
import { toYaml } from "./yaml.js";
import { headerLine, renderDag } from "./dag.js";
import { expectedGraph, type ExpectedGraph } from "./expected-graph.js";
import { naming, RenderError } from "./names.js";
import { validateRenderedPaths, type RenderedFile } from "./output.js";
import { rebasePipeline, type StorageRoot } from "./storage.js";
import { compareStrings } from "./python-literal.js";

export { checkOutput, writeOutputAtomic, type RenderedFile } from "./output.js";
export { RenderError } from "./names.js";
export { rebaseStrings, type StorageRoot } from "./storage.js";
export { expectedGraph, type ExpectedGraph } from "./expected-graph.js";

/** Same shape as definitions-loader's LoadedDefinition (kept structural so the renderer does not load modules). */
export interface LoadedDefinition {
  /** Repo-relative path of the definition module. */
  file: string;
  pipeline: Pipeline;
}

export interface RenderOptions {
  /** Logical compute-config key → "name:version" (e.g. from Pulumi outputs). */
  computeConfigs?: Record<string, string>;
  /** PR previews, e.g. "pr_123__": applied to dag ids, asset URIs, Anyscale job and service names. */
  dagIdPrefix?: string;
  /** The environment's artifact root: URIs under `from` (the definitions' root) are rendered under `to`. */
  storageRoot?: StorageRoot;
}

/** Every file for `defs`, sorted by path. Throws RenderError (file + field) on the first problem. */
export function renderAll(defs: LoadedDefinition[], opts: RenderOptions = {}): Promise<RenderedFile[]> {
  try {
    return Promise.resolve(renderAllSync(defs, opts));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

export function renderAllSync(input: readonly LoadedDefinition[], opts: RenderOptions = {}): RenderedFile[] {
  const root = opts.storageRoot;
  const defs =
    root === undefined || root.from === root.to
      ? input
      : input.map((d) => ({ file: d.file, pipeline: rebasePipeline(d.pipeline, root) }));
  if (defs !== input) {
    // Rebasing changes values (longer or different roots): what is rendered is validated again, so a default
    // pushed past its own maxLength or pattern is reported here instead of failing the DAG's import.
    const issues = defs.flatMap((d) =>
      pipelineIssues(d.pipeline, d.file).map((i) => ({
        ...i,
        message: `with storage root ${root!.from} -> ${root!.to}: ${i.message}`,
      })),
    );
    if (issues.length > 0) throw new DefinitionError(issues);
  }
  const names = naming(opts.dagIdPrefix ?? "");
  const computeConfigs = opts.computeConfigs ?? {};
  for (const [key, value] of Object.entries(computeConfigs))
    if (!COMPUTE_CONFIG_PATTERN.test(value))
      throw new Error(
        `compute config override ${key}=${JSON.stringify(value)}: must be an Anyscale compute config name or name:version`,
      );
  const files: RenderedFile[] = [];
  const owners = new Map<string, string>(); // output path -> definition file (for collision messages)
  const services = new Map<string, { body: string; files: Set<string> }>();

  const claim = (path: string, file: string, where: readonly (string | number)[], what: string): void => {
    const prev = owners.get(path);
    if (prev !== undefined)
      throw new RenderError(file, where, `${what} renders to ${path}, which ${prev} already renders`);
    owners.set(path, file);
  };

  for (const { file, pipeline } of [...defs].sort((a, b) => compareStrings(a.file, b.file))) {
    try {
      renderOne(file, pipeline);
    } catch (e) {
      // Emitters refuse what they cannot write exactly (LiteralError, ruff's PythonFormatError, ...): report it
      // against the definition file, like every other problem, instead of as a bare exception.
      if (e instanceof RenderError || !(e instanceof Error)) throw e;
      throw new RenderError(file, [], `${e.message.split("\n")[0]!} (${e.name})`);
    }
  }
  for (const [path, { body, files: from }] of services)
    files.push({ path, content: `${headerLine([...from].sort(compareStrings).join(", "))}\n${body}` });
  return validateRenderedPaths(files);

  function renderOne(file: string, pipeline: Pipeline): void {
    const dagId = names.dagId(pipeline.dagId);
    if (dagId.length > AIRFLOW_KEY_MAX)
      throw new RenderError(
        file,
        ["dagId"],
        `dag id "${dagId}" (with prefix "${names.prefix}") is longer than Airflow's ${AIRFLOW_KEY_MAX} characters; use a shorter prefix`,
      );
    const dagPath = `dags/${dagId}.py`;
    claim(dagPath, file, ["dagId"], `dag_id "${dagId}"`);
    files.push({ path: dagPath, content: renderDag({ file, pipeline, naming: names, computeConfigs }) });

    const assetTooLong = (uri: string, where: readonly (string | number)[]): void => {
      const full = names.assetUri(uri);
      if (full.length > ASSET_URI_MAX)
        throw new RenderError(
          file,
          where,
          `asset URI with prefix "${names.prefix}" is ${full.length} characters, over Airflow's ${ASSET_URI_MAX}; use a shorter prefix`,
        );
    };
    if (pipeline.schedule.kind === "asset")
      pipeline.schedule.assets.forEach((uri, k) => assetTooLong(uri, ["schedule", "assets", k]));

    const header = headerLine(file);
    for (const t of flattenTasks(pipeline).tasks) {
      if (t.task.kind === "emitAsset") assetTooLong(t.task.asset, [...t.path, "asset"]);
      if (t.task.kind === "anyscaleJob") {
        const config = jobConfig(t.task, names, computeConfigs, file, t.path);
        const path = `anyscale/jobs/${String(config.name)}.yaml`;
        claim(path, file, [...t.path, "name"], `Anyscale job "${String(config.name)}"`);
        files.push({ path, content: anyscaleYaml(header, config) });
      } else if (t.task.kind === "anyscaleService") {
        const task: AnyscaleServiceTask = t.task;
        const config = serviceConfig(task, names, computeConfigs, file, t.path);
        const path = `anyscale/services/${String(config.name)}.yaml`;
        const body = toYaml(config);
        const prev = services.get(path);
        if (prev === undefined) {
          claim(path, file, [...t.path, "name"], `Anyscale service "${String(config.name)}"`);
          services.set(path, { body, files: new Set([file]) });
        } else if (prev.body !== body) {
          // Several rollouts of one service (canary, then promote; or several pipelines) must describe the same
          // service: there is one YAML file per service name.
          throw new RenderError(
            file,
            t.path,
            `Anyscale service "${String(config.name)}" is rolled out with a different spec than in ${[...prev.files][0]}`,
          );
        } else prev.files.add(file);
      }
    }
  }
}

/** Logical compute-config key → the definition files whose Anyscale tasks use it (both sorted). */
export function computeConfigReferences(defs: readonly LoadedDefinition[]): Map<string, string[]> {
  const refs = new Map<string, Set<string>>();
  for (const { file, pipeline } of defs)
    for (const t of flattenTasks(pipeline).tasks)
      if (t.task.kind === "anyscaleJob" || t.task.kind === "anyscaleService") {
        const files = refs.get(t.task.computeConfig) ?? new Set<string>();
        refs.set(t.task.computeConfig, files.add(file));
      }
  return new Map(
    [...refs.keys()].sort(compareStrings).map((k) => [k, [...refs.get(k)!].sort(compareStrings)]),
  );
}

/** Sorted unique logical compute-config keys used by Anyscale tasks (infra maps them to `name:version`). */
export function referencedComputeConfigs(defs: readonly LoadedDefinition[]): string[] {
  return [...computeConfigReferences(defs).keys()];
}

/** Expected Airflow view of every pipeline (for tests), keyed by rendered dag_id. */
export function expectedGraphs(defs: readonly LoadedDefinition[], opts: RenderOptions = {}): ExpectedGraph[] {
  const names = naming(opts.dagIdPrefix ?? "");
  return [...defs]
    .map(({ file, pipeline }) => expectedGraph(file, pipeline, names, opts.computeConfigs ?? {}))
    .sort((a, b) => compareStrings(a.dag_id, b.dag_id));
}
