// The DAGs-folder bundle: rendered DAGs + the workload package + .airflowignore, and real Airflow discovering
// exactly the DAG files in it (the package is importable but never parsed as DAGs).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import {
  anyscaleFiles,
  BUNDLE_AIRFLOWIGNORE,
  dagBundle,
  readWorkloadPackage,
} from "../../../infra/delivery/bundle.js";
import { loadDefinitions, REPO_ROOT } from "../../../pipelines/src/definitions-loader.js";
import { renderAllSync } from "../../../pipelines/src/render/index.js";

const WORKLOADS = path.join(REPO_ROOT, "pipelines", "workloads", "llm_workloads");
const PYTHON = path.join(REPO_ROOT, ".venv", "bin", "python");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("dagBundle", () => {
  const rendered = [
    { path: "dags/b.py", content: "b" },
    { path: "dags/a.py", content: "a" },
    { path: "anyscale/jobs/j.yaml", content: "name: j\n" },
  ];
  it("puts DAGs at the folder root, sorted, with the package and the ignore file", () => {
    const b = dagBundle(rendered, { "llm_workloads/__init__.py": "" });
    expect(Object.keys(b)).toEqual([".airflowignore", "a.py", "b.py", "llm_workloads/__init__.py"]);
    expect(b[".airflowignore"]).toBe(BUNDLE_AIRFLOWIGNORE);
    expect(anyscaleFiles(rendered)).toEqual({ "anyscale/jobs/j.yaml": "name: j\n" });
  });
  it("refuses a DAG that would shadow a package file", () => {
    expect(() => dagBundle([{ path: "dags/.airflowignore", content: "" }], {})).toThrow(/collides/);
  });
  it("reads the package without tests helpers or byte code", async () => {
    const files = await readWorkloadPackage(WORKLOADS);
    const paths = Object.keys(files);
    expect(paths).toContain("llm_workloads/__init__.py");
    expect(paths).toContain("llm_workloads/airflow_tasks/data_update.py");
    expect(paths.some((p) => p.includes("/testing/") || p.includes("__pycache__"))).toBe(false);
    expect(paths).toEqual([...paths].sort());
  });
});

describe("the bundle in a real Airflow DAGs folder", () => {
  it.skipIf(!existsSync(PYTHON))(
    "Airflow lists exactly the rendered DAG files and tasks can import llm_workloads",
    async () => {
      const defs = await loadDefinitions();
      const bundle = dagBundle(renderAllSync(defs), await readWorkloadPackage(WORKLOADS));
      const dir = mkdtempSync(path.join(tmpdir(), "dag-bundle-"));
      dirs.push(dir);
      const dags = path.join(dir, "dags");
      for (const [rel, content] of Object.entries(bundle)) {
        mkdirSync(path.dirname(path.join(dags, rel)), { recursive: true });
        writeFileSync(path.join(dags, rel), content);
      }
      const script = [
        "import json, sys",
        "from airflow.utils.file import list_py_file_paths",
        "dags = sys.argv[1]",
        "files = sorted(p[len(dags) + 1:] for p in list_py_file_paths(dags))",
        "sys.path.insert(0, dags)",
        "import llm_workloads.airflow_tasks.data_update as m",
        "print(json.dumps({'files': files, 'module': m.__file__[len(dags) + 1:]}))",
      ].join("\n");
      const out = execFileSync(PYTHON, ["-c", script, dags], {
        env: { ...process.env, AIRFLOW_HOME: path.join(dir, "home"), AIRFLOW__CORE__LOAD_EXAMPLES: "False" },
        encoding: "utf8",
      });
      const result = JSON.parse(out.trim().split("\n").pop()!) as { files: string[]; module: string };
      const expected = Object.keys(bundle).filter(
        (p) => p.endsWith(".py") && !p.startsWith("llm_workloads/"),
      );
      expect(result.files).toEqual(expected.sort());
      expect(result.module).toBe("llm_workloads/airflow_tasks/data_update.py");
    },
    120_000,
  );
});
