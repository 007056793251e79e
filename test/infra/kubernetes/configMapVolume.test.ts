// The DAGs ConfigMap as the kubelet materialises it (`..<timestamp>/` with the files, `..data` symlink,
// top-level symlinks into `..data`), scanned by the real Airflow DAG-file discovery from .venv.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { dagConfigMap, type DagConfigMap } from "../../../infra/kubernetes/dagFiles.js";

const python = join(process.cwd(), ".venv/bin/python");

/** Lay out a ConfigMap volume the way the kubelet's atomic writer does. */
function materialise(root: string, cm: DagConfigMap, options: { withAirflowIgnore: boolean }): void {
  const payload = "..2026_11_28_15_00_00.000000001";
  // No item list: every key is a file of that name.
  const keys = Object.keys(cm.data).filter((k) => options.withAirflowIgnore || k !== ".airflowignore");
  mkdirSync(join(root, payload));
  for (const key of keys) writeFileSync(join(root, payload, key), cm.data[key] ?? "");
  symlinkSync(payload, join(root, "..data"));
  for (const key of keys) symlinkSync(join("..data", key), join(root, key));
}

describe("DAGs ConfigMap volume", () => {
  it.skipIf(!existsSync(python))(
    "is scanned once per DAG file by Airflow thanks to the generated .airflowignore",
    () => {
      const cm = dagConfigMap({
        "llm_finetune.py": "from airflow.sdk import dag  # DAG\n",
        "pr_1__weekly_report.py": "from airflow.sdk import dag  # DAG\n",
      });
      const base = mkdtempSync(join(tmpdir(), "dags-volume-"));
      try {
        const withIgnore = join(base, "with");
        const without = join(base, "without");
        mkdirSync(withIgnore);
        mkdirSync(without);
        materialise(withIgnore, cm, { withAirflowIgnore: true });
        materialise(without, cm, { withAirflowIgnore: false });
        const script = [
          "import json, sys",
          "from airflow.utils.file import list_py_file_paths",
          "out = {}",
          "for name in ('with', 'without'):",
          "    try:",
          "        out[name] = sorted(list_py_file_paths(sys.argv[1] + '/' + name, safe_mode=False))",
          "    except Exception as e:",
          "        out[name] = 'error: ' + str(e)",
          "print(json.dumps(out))",
        ].join("\n");
        const r = spawnSync(python, ["-c", script, base], {
          encoding: "utf8",
          env: { PATH: process.env["PATH"] ?? "", AIRFLOW_HOME: join(base, "home") },
        });
        expect(r.status, r.stderr).toBe(0);
        const got = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
        // With the rule: each DAG file exactly once, through the user-visible symlinks.
        expect(got["with"]).toEqual([
          join(withIgnore, "llm_finetune.py"),
          join(withIgnore, "pr_1__weekly_report.py"),
        ]);
        // Without it Airflow walks ..data and ..<timestamp> (the same directory) and gives up.
        expect(String(got["without"])).toMatch(/^error: .*recursive loop/i);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  );
});
