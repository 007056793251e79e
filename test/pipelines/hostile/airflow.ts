/** Renders definitions to a temp folder and imports them into the pinned Airflow (airflow_render.py). */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { RenderedFile } from "../../../pipelines/src/render/index.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
export const PYTHON = join(ROOT, ".venv/bin/python");
const SCRIPT = join(ROOT, "test/pipelines/hostile/airflow_render.py");

export interface AirflowView {
  readonly import_errors: Record<string, string>;
  readonly dags: Record<string, { tasks: Record<string, Record<string, unknown>> }>;
  /** Anyscale YAML files (`jobs/x.yaml`) the SDK's JobConfig/ServiceConfig refused, with the error. */
  readonly yaml_errors: Record<string, string>;
}

/**
 * Writes the rendered files and returns what Airflow made of the DAG files (import errors, rendered fields) and
 * which Anyscale YAML files the SDK's models refused.
 */
export function importIntoAirflow(files: readonly RenderedFile[]): AirflowView {
  const dir = mkdtempSync(join(tmpdir(), "hostile-airflow-"));
  try {
    for (const f of files) {
      const target = join(dir, f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.content);
    }
    const r = spawnSync(PYTHON, [SCRIPT, join(dir, "dags")], {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`airflow_render.py failed (${r.status}): ${r.stderr.slice(-3000)}`);
    const line = r.stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(line) as AirflowView;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a Python snippet and returns its last stdout line parsed as JSON. */
export function pythonJson(code: string): unknown {
  const r = spawnSync(PYTHON, ["-c", code], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "null");
}
