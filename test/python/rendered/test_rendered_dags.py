"""Rendered DAGs and Anyscale YAML checked by the real thing: Airflow 3.3's DagBag, ruff, the anyscale SDK.

Each golden root (test/golden/render, test/golden/cases/*) carries the expected graph the TypeScript side
computed from the MODEL; Airflow's own view of every DAG must equal it.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from render_harness import (  # noqa: E402
    RenderedRoot,
    dagbag,
    fake_context,
    render_field,
    rendered_roots,
    resolve,
    shell_split,
)

ROOTS = rendered_roots()
ROOT_IDS = [r.name for r in ROOTS]


def _dag_cases() -> list[Any]:
    return [pytest.param(r, dag_id, id=f"{r.name}:{dag_id}") for r in ROOTS for dag_id in r.graphs()]


def _yaml_cases() -> list[Any]:
    return [pytest.param(r, f, id=f"{r.name}:{f.relative_to(r.root)}") for r in ROOTS for f in r.yaml_files()]


def test_golden_roots_exist() -> None:
    assert any(r.name.startswith("cases/") for r in ROOTS), "no golden cases found under test/golden/cases"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_dagbag_imports_every_file_without_errors(root: RenderedRoot) -> None:
    bag = dagbag(str(root.dags))
    assert bag.import_errors == {}
    assert sorted(bag.dags) == sorted(root.graphs())
    assert len(root.dag_files()) == len(bag.dags)


@pytest.mark.parametrize(("root", "dag_id"), _dag_cases())
def test_airflow_view_equals_model_graph(root: RenderedRoot, dag_id: str) -> None:
    want = root.graphs()[dag_id]
    dag = dagbag(str(root.dags)).dags[dag_id]

    got_tasks = {
        t.task_id: {
            "group": t.task_group.group_id if t.task_group and t.task_group.group_id else None,
            "doc_md": t.doc_md,
            "operator": type(t).__name__,
            "trigger_rule": str(t.trigger_rule.value if hasattr(t.trigger_rule, "value") else t.trigger_rule),
            "upstream": sorted(t.upstream_task_ids),
            "is_setup": bool(t.is_setup),
            "is_teardown": bool(t.is_teardown),
        }
        for t in dag.tasks
    }
    assert got_tasks == want["tasks"]

    groups = sorted(g for g in dag.task_group_dict)
    assert groups == want["groups"]

    got_params = {
        name: {
            "default": dag.params.get_param(name).value,
            "schema": {k: v for k, v in dag.params.get_param(name).schema.items()},
            "description": dag.params.get_param(name).description,
        }
        for name in dag.params
    }
    assert got_params == want["params"]
    assert sorted(dag.tags) == want["tags"]
    assert (dag.dag_display_name, dag.description, dag.doc_md) == (
        want["dag_display_name"],
        want["description"],
        want["doc_md"],
    )
    assert dag.catchup is False
    assert dag.default_args["retries"] >= 2
    schedule = want["schedule"]
    if schedule is None:
        assert dag.timetable.can_be_scheduled is False
    elif isinstance(schedule, str):
        from airflow.sdk.definitions.timetables._cron import CRON_PRESETS

        # The task SDK's cron timetables keep the expression, with presets such as @daily expanded.
        assert dag.timetable.expression == CRON_PRESETS.get(schedule, schedule)
    else:
        condition = dag.timetable.asset_condition
        assert type(condition).__name__ == "AssetAll"  # a list schedule means: all of these assets
        assert sorted(a.uri for a in condition.objects) == schedule


@pytest.mark.parametrize(("root", "dag_id"), _dag_cases())
def test_templated_fields_render_to_model_values(root: RenderedRoot, dag_id: str) -> None:
    """Render every templated field with Airflow's own Jinja env and a hostile context.

    Literal text must come through untouched, references become their values, and an entrypoint must split
    back into exactly the model's argv (no injection through param/XCom values)."""
    want = root.graphs()[dag_id]
    dag = dagbag(str(root.dags)).dags[dag_id]
    ctx = fake_context(dag)
    for task_id, fields in want["templated"].items():
        task = dag.get_task(task_id)
        for field, spec in fields.items():
            assert field in task.template_fields, f"{task_id}.{field} is not templated"
            rendered = render_field(task, field, ctx)
            if "shell" in spec:
                assert shell_split(rendered) == [resolve(a, ctx) for a in spec["shell"]], f"{task_id}.{field}"
            else:
                assert rendered == resolve(spec["value"], ctx), f"{task_id}.{field}"


MODULE_LEVEL_IMPORTS = (
    "airflow.sdk",
    # Named so that the DAG processor pre-imports them before forking each parsing child (see dag.ts).
    "airflow.providers.amazon.aws.assets.s3",
    "airflow.providers.standard.decorators.",
    "llm_workloads.airflow_runtime.operators",
    "pendulum",
    "datetime",
    "shlex",
    "typing",
)
# What parsing a DAG file must never import: the SDK, the providers' operator modules, AWS and Slack clients.
# (An `s3://` Asset makes Airflow discover providers and load the amazon asset-URI module, boto3 included:
# that is Airflow's own cost for any s3 asset, so the probe pays it before measuring.)
HEAVY_AT_PARSE = (
    "anyscale",
    "anyscale_provider",
    "aiohttp",
    "boto3",
    "slack_sdk",
    "airflow.providers.slack",
    "airflow.providers.standard.operators.trigger_dagrun",
)


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_module_level_is_only_imports_helpers_and_the_dag(root: RenderedRoot) -> None:
    """Parse-time work stays minimal: workload modules and hooks are imported inside task bodies only."""
    for f in root.dag_files():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                is_from = isinstance(node, ast.ImportFrom)
                names = [node.module or ""] if is_from else [a.name for a in node.names]
                assert all(n.startswith(MODULE_LEVEL_IMPORTS) for n in names), (f, names)
            else:
                assert isinstance(node, ast.FunctionDef | ast.With), (f, ast.dump(node)[:200])


def test_operators_have_no_template_ext() -> None:
    """The renderer passes literal text without `literal()` when it has no `{`; that is only safe when no
    operator it uses treats strings ending in a template extension as file paths."""
    from llm_workloads.airflow_runtime import operators

    classes = [
        operators.AnyscaleJob,
        operators.AnyscaleServiceRollout,
        operators.AnyscaleServiceTeardown,
        operators.SlackPost,
        operators.TriggerPipeline,
    ]
    for op in classes:
        assert tuple(op.template_ext) == (), op.__name__


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_parsing_imports_nothing_heavy(root: RenderedRoot) -> None:
    """Each DAG file, executed in a fresh interpreter, leaves none of HEAVY_AT_PARSE in sys.modules."""
    probe = (
        "import json, runpy, sys\n"
        # Airflow's own work for an s3:// Asset (provider discovery, the amazon asset-URI module) is not the
        # DAG file's import cost: done first, so only what the file itself pulls in is counted.
        "from airflow.sdk import Asset\n"
        "Asset('s3://warm-up/asset')\n"
        "found = {}\n"
        "for path in sys.argv[1:]:\n"
        "    before = set(sys.modules)\n"
        "    runpy.run_path(path)\n"
        f"    heavy = {HEAVY_AT_PARSE!r}\n"
        "    new = set(sys.modules) - before\n"
        "    found[path] = sorted(m for m in new if m.split('.')[0] in heavy or m.startswith(heavy))\n"
        "print(json.dumps(found))\n"
    )
    # Each file in its own process, so one file's imports cannot hide another's.
    for f in root.dag_files():
        out = subprocess.run(
            [sys.executable, "-c", probe, str(f)], capture_output=True, text=True, check=False
        )
        assert out.returncode == 0, out.stderr[-3000:]
        assert json.loads(out.stdout.splitlines()[-1]) == {str(f): []}


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_ruff_air_and_pyflakes_find_nothing(root: RenderedRoot) -> None:
    files = [str(f) for f in root.dag_files()]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--preview",
            "--select",
            "AIR,F",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_rendered_files_start_with_generated_header_and_parse(root: RenderedRoot) -> None:
    for f in [*root.dag_files(), *root.yaml_files()]:
        text = f.read_text(encoding="utf-8")
        first = text.split("\n", 1)[0]
        assert first.startswith("# Code generated by npm run render-dags from ") and first.endswith(
            ". DO NOT EDIT."
        ), f
        if f.suffix == ".py":
            ast.parse(text, filename=str(f))


def _load_config(path: Path) -> Any:
    from anyscale.job.models import JobConfig
    from anyscale.service.models import ServiceConfig

    model = JobConfig if path.parent.name == "jobs" else ServiceConfig
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(model) if not f.name.startswith("_")}
    assert set(data) <= fields, f"keys not in {model.__name__}: {sorted(set(data) - fields)}"
    return model, data, model.from_yaml(str(path))


@pytest.mark.parametrize(("root", "path"), _yaml_cases())
def test_anyscale_yaml_loads_with_sdk_models(root: RenderedRoot, path: Path) -> None:
    model, data, config = _load_config(path)
    assert isinstance(config, model)
    for key, value in data.items():
        got = getattr(config, key)
        if key == "applications":
            assert [dict(a) for a in got] == value
        else:
            assert got == value, key
    assert path.stem == data["name"]
