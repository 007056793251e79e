"""Imports rendered DAG files into the pinned Airflow and renders every task's template fields.

Usage: airflow_render.py <dags dir>. Prints one JSON object: `import_errors` (file -> error) and, per dag
id and task id, each templated field rendered with the DAG's own Jinja environment (user filters, sandbox)
and a run-time context whose params are the DAG's param defaults and whose `conn` is Airflow's real
ConnectionAccessor (only the lookup behind it is faked: connection `<id>` has password `password-of-<id>`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
sys.path.insert(0, str(REPO / "pipelines" / "workloads"))


def main(dags_dir: str) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions import connection as connection_module
    from airflow.sdk.execution_time.context import ConnectionAccessor

    class FakeConnection:
        def __init__(self, conn_id: str) -> None:
            self.password = f"password-of-{conn_id}"
            self.login = f"login-of-{conn_id}"

    connection_module.Connection.get = classmethod(lambda _cls, conn_id: FakeConnection(conn_id))  # type: ignore[method-assign,assignment]

    bag = DagBag(dag_folder=dags_dir)
    out: dict[str, object] = {"import_errors": {str(k): str(v)[-2000:] for k, v in bag.import_errors.items()}}
    dags: dict[str, object] = {}
    for dag_id, dag in sorted(bag.dags.items()):
        env = dag.get_template_env()
        context = {
            "params": {name: dag.params[name] for name in dag.params},
            "conn": ConnectionAccessor(),
        }
        tasks: dict[str, object] = {}
        for task in dag.tasks:
            fields: dict[str, object] = {}
            for field in task.template_fields:
                value = getattr(task, field, None)
                if value is None:
                    continue
                try:
                    fields[field] = task.render_template(value, context, env)
                except Exception as e:  # noqa: BLE001 (reported, the caller decides)
                    fields[field] = f"<render error {type(e).__name__}: {e}>"
            tasks[task.task_id] = json.loads(json.dumps(fields, default=repr))
        dags[dag_id] = {"tasks": tasks}
    out["dags"] = dags
    out["yaml_errors"] = load_anyscale_yaml(Path(dags_dir).parent / "anyscale")
    print(json.dumps(out))


def load_anyscale_yaml(root: Path) -> dict[str, str]:
    """Each Anyscale YAML file loaded with the SDK's own models (what `anyscale job submit -f` does)."""
    errors: dict[str, str] = {}
    files = sorted(root.glob("*/*.yaml")) if root.is_dir() else []
    if not files:
        return errors
    from anyscale.job.models import JobConfig
    from anyscale.service.models import ServiceConfig

    for path in files:
        model = JobConfig if path.parent.name == "jobs" else ServiceConfig
        try:
            model.from_yaml(str(path))
        except Exception as e:  # noqa: BLE001 (reported, the caller decides)
            errors[f"{path.parent.name}/{path.name}"] = f"{type(e).__name__}: {e}"[:2000]
    return errors


if __name__ == "__main__":
    main(sys.argv[1])
