/**
 * Anyscale job and service YAML (`anyscale job submit -f`, `anyscale service deploy -f`). Keys are exactly the
 * SDK's `JobConfig` / `ServiceConfig` field names, in the SDK's field order, and the values are the ones the DAG's
 * operator submits. Run-time references stay as the Jinja text Airflow renders (`{{ params.epochs }}`), secrets as
 * `{{ conn.<id>.password }}` references: the files never contain a secret value.
 */
import type { AnyscaleJobTask, AnyscaleServiceTask } from "../model/tasks.js";
import { applications } from "./dag.js";
import type { Naming } from "./names.js";
import { shellQuote, shellWordTemplate, hasRefs, jinjaData } from "./templating.js";
import { toYaml } from "./yaml.js";

/** Shared workload fields, in JobConfig/ServiceConfig field order. */
function workload(
  task: AnyscaleJobTask | AnyscaleServiceTask,
  computeConfigs: Readonly<Record<string, string>>,
): [string, unknown][] {
  const env = Object.keys(task.env).length > 0 ? jinjaData(task.env) : undefined;
  return [
    ["image_uri", task.imageUri],
    ["containerfile", task.containerfile],
    ["compute_config", computeConfigs[task.computeConfig] ?? task.computeConfig],
    ["working_dir", task.workingDir],
    ["excludes", task.excludes],
    ["requirements", task.requirements],
    ["env_vars", env],
    ["cloud", task.cloud],
    ["project", task.project],
  ];
}

function defined(pairs: [string, unknown][]): Record<string, unknown> {
  return Object.fromEntries(pairs.filter(([, v]) => v !== undefined));
}

/** Entrypoint command line; identical to the operator's `entrypoint` before Jinja rendering. */
export function entrypointText(argv: readonly unknown[]): string {
  return hasRefs(argv)
    ? argv.map(shellWordTemplate).join(" ")
    : argv.map((a) => shellQuote(a as string)).join(" ");
}

export function jobConfig(
  task: AnyscaleJobTask,
  naming: Naming,
  computeConfigs: Readonly<Record<string, string>>,
  file: string,
  path: readonly (string | number)[],
): Record<string, unknown> {
  return defined([
    ["name", naming.anyscaleName(task.name, file, [...path, "name"])],
    ["entrypoint", entrypointText(task.entrypoint)],
    ...workload(task, computeConfigs),
    ["max_retries", task.maxRetries],
    ["timeout_s", task.timeoutSeconds],
    ["tags", task.tags],
  ]);
}

export function serviceConfig(
  task: AnyscaleServiceTask,
  naming: Naming,
  computeConfigs: Readonly<Record<string, string>>,
  file: string,
  path: readonly (string | number)[],
): Record<string, unknown> {
  return defined([
    ["name", naming.anyscaleName(task.name, file, [...path, "name"])],
    ...workload(task, computeConfigs),
    ["applications", jinjaData(applications(task))],
    ["query_auth_token_enabled", task.queryAuthTokenEnabled],
    ["tags", task.tags],
  ]);
}

export function anyscaleYaml(header: string, config: Record<string, unknown>): string {
  return `${header}\n${toYaml(config)}`;
}
