"""Parse cost as Airflow's own DAG processor measures it: `last_parse_duration` of each DAG, per run.

Usage: python dag_processor_parse.py DAGS_DIR REPEATS  → prints one JSON object
{"runs": [{dag_id: seconds, ...}, ...], "import_errors": {...}, "airflow": version}.

Each repeat is a fresh `airflow dag-processor --num-runs 1` with ONE parsing process, over the same DAGs
folder (the product's DAG files, one-task baseline DAGs and the `llm_workloads` package with its
`.airflowignore`, as infra delivers them), on a SQLite metadata database in a temporary AIRFLOW_HOME.
Every file is parsed in its own forked child, exactly as in production; the figure includes what the child
imports and the DAG's serialization, which is what the scheduler's machine pays on every parse.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    dags, repeats = Path(sys.argv[1]).resolve(), int(sys.argv[2])
    airflow = str(Path(sys.executable).with_name("airflow"))
    home = tempfile.mkdtemp(prefix="airflow-bench-dp-")
    try:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "0",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        runs = []
        db = Path(home) / "airflow.db"
        for _ in range(repeats):
            subprocess.run(
                [airflow, "dag-processor", "--num-runs", "1"], env=env, check=True, capture_output=True
            )
            with sqlite3.connect(db) as conn:
                runs.append(dict(conn.execute("SELECT dag_id, last_parse_duration FROM dag").fetchall()))
        with sqlite3.connect(db) as conn:
            errors = dict(conn.execute("SELECT filename, stacktrace FROM import_error").fetchall())
        version = subprocess.run([airflow, "version"], env=env, capture_output=True, text=True).stdout.strip()
        print(json.dumps({"runs": runs, "import_errors": errors, "airflow": version}))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
