"""Loading rendered output: golden roots, DagBag, expected graphs, resolving model values like Jinja would."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "test" / "golden"


@dataclass(frozen=True)
class RenderedRoot:
    """A directory as `npm run render-dags -- --out DIR` writes it, plus the model's expected graphs."""

    name: str
    root: Path
    graphs_file: Path

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    def dag_files(self) -> list[Path]:
        return sorted(self.dags.glob("*.py"))

    def yaml_files(self) -> list[Path]:
        return sorted((self.root / "anyscale").glob("*/*.yaml"))

    def graphs(self) -> dict[str, dict[str, Any]]:
        return {g["dag_id"]: g for g in json.loads(self.graphs_file.read_text(encoding="utf-8"))}


def rendered_roots() -> list[RenderedRoot]:
    """Golden pipelines, golden table cases, and an extra directory named by RENDERED_DIR (bench, ad hoc)."""
    roots: list[RenderedRoot] = []
    if (GOLDEN / "render" / "dags").is_dir() and (GOLDEN / "render-graphs.json").is_file():
        roots.append(RenderedRoot("render", GOLDEN / "render", GOLDEN / "render-graphs.json"))
    for case in sorted((GOLDEN / "cases").glob("*")):
        if (case / "expected-graph.json").is_file():
            roots.append(RenderedRoot(f"cases/{case.name}", case, case / "expected-graph.json"))
    extra = os.environ.get("RENDERED_DIR")
    if extra:
        root = Path(extra)
        roots.append(RenderedRoot(f"env:{root.name}", root, root / "expected-graph.json"))
    return roots


class NetworkAtParseTime(RuntimeError):
    pass


@cache
def dagbag(dags_dir: str) -> Any:
    """A DagBag of the directory, built with outbound connections refused: parsing must stay offline."""
    import socket

    from airflow.dag_processing.dagbag import DagBag  # Airflow >= 3.2 location

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise NetworkAtParseTime("a rendered DAG file opened a network connection at import time")

    original = (socket.socket.connect, socket.create_connection)
    socket.socket.connect, socket.create_connection = refuse, refuse  # type: ignore[method-assign,assignment]
    try:
        # No include_examples: removed in 3.3.0 (AIRFLOW__CORE__LOAD_EXAMPLES=False instead).
        return DagBag(dag_folder=dags_dir)
    finally:
        socket.socket.connect, socket.create_connection = original  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------------------
# A hostile run-time context: every value a reference can produce contains shell and Jinja metacharacters.

HOSTILE = 'x y\'; rm -rf / $(id) `id` "q" \\ {{ 7*7 }} {% raw %} \n\u2028\ud800 end'


class _XcomValue(str):
    """What `ti.xcom_pull(...)` returns: usable as a string, and subscriptable for `['field']`."""

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        return f"{HOSTILE}|xcom-field:{key}"


class _FakeTI:
    def xcom_pull(self, task_ids: str, key: str = "return_value") -> _XcomValue:
        return _XcomValue(f"{HOSTILE}|xcom:{task_ids}:{key}")


class _FakeConn:
    def __getattr__(self, conn_id: str) -> Any:
        return type("C", (), {"password": f"secret-of-{conn_id}", "login": f"login-of-{conn_id}"})()


def fake_context(dag: Any) -> dict[str, Any]:
    import pendulum
    from airflow.sdk import macros

    run_after = pendulum.datetime(2026, 11, 28, 15, 27, 53, tz="UTC")
    return {
        "params": {name: f"{HOSTILE}|param:{name}" for name in dag.params},
        "ti": _FakeTI(),
        "task_instance": _FakeTI(),
        "run_id": f"{HOSTILE}|run_id",
        "dag_run": type("R", (), {"run_after": run_after})(),
        "dag": dag,
        "conn": _FakeConn(),
        "macros": macros,
    }


def resolve(value: Any, ctx: dict[str, Any]) -> Any:
    """The text Jinja must produce for a model value (references stringified, literal text untouched)."""
    if isinstance(value, list):
        return [resolve(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    keys = set(value)
    if keys == {"param"}:
        return str(ctx["params"][value["param"]])
    if keys == {"macro"}:
        run_after = ctx["dag_run"].run_after
        return {
            "run_id": ctx["run_id"],
            "run_stamp": run_after.strftime("%Y%m%dt%H%M%S"),
            "run_after_iso": run_after.isoformat(),
            "run_after_minus_7d_iso": run_after.subtract(days=7).isoformat(),
            "run_after_date": run_after.strftime("%Y-%m-%d"),
            "dag_id": ctx["dag"].dag_id,
        }[value["macro"]]
    if keys == {"xcom"}:
        x = value["xcom"]
        pulled = ctx["ti"].xcom_pull(task_ids=x["task"], key=x.get("key", "return_value"))
        return str(pulled[x["field"]] if "field" in x else pulled)
    if keys == {"concat"}:
        return "".join(str(resolve(p, ctx)) for p in value["concat"])
    if keys == {"secret"}:
        s = value["secret"]
        return getattr(getattr(ctx["conn"], s["connection"]), s.get("field", "password"))
    return {k: resolve(v, ctx) for k, v in value.items()}


def render_field(task: Any, field: str, ctx: dict[str, Any]) -> Any:
    """Render one template field as Airflow does before execute() (same Jinja env, filters, literal())."""
    env = task.dag.get_template_env()
    return task.render_template(getattr(task, field), ctx, env)


def shell_split(command: str) -> list[str]:
    return shlex.split(command)
