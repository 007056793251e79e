"""The product's pipelines, rendered by the CLI (conftest.py), import into real Airflow 3 with the structure
the definitions promise (setup/teardown, join trigger rule, branch, retries, one run at a time).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAG_IDS = ("llm_data_update", "llm_finetune_deploy", "llm_retrain_rollout")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory, rendered_dags: Path):
    # Parsing needs no database; keep any Airflow settings another test module chose first (setdefault).
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.2
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(rendered_dags))


def test_all_three_import_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == sorted(DAG_IDS)
    for dag in dagbag.dags.values():
        assert dag.tags
        assert dag.default_args["retries"] >= 2


def test_retrain_rollout_structure(dagbag) -> None:
    dag = dagbag.dags["llm_retrain_rollout"]
    assert dag.max_active_runs == 1
    tasks = {t.task_id: t for t in dag.tasks}
    assert tasks["deploy.silent_rollout"].is_setup
    teardown = tasks["cleanup.rollback_canary"]
    assert teardown.is_teardown
    assert "deploy.silent_rollout" in teardown.upstream_task_ids
    assert tasks["report.build"].trigger_rule == "none_failed_min_one_success"
    assert tasks["decide.route"].downstream_task_ids == {"registry.record_promotion", "alert"}
    # The registry is written before the service is promoted: a stale run fails before touching the service.
    assert tasks["registry.record_promotion"].downstream_task_ids == {"promote"}
    assert "champion.read" in tasks["finetune.train_challenger"].upstream_task_ids
    # Every version the run rolls out maps the stable model name to the run's adapter.
    for task_id in ("deploy.silent_rollout", "promote"):
        args = tasks[task_id].applications[0]["args"]
        assert args["model_alias"] == "viggo"
        assert args["alias_adapter"].startswith("viggo-{{ dag_run.run_after")
    assert tasks["deploy.silent_rollout"].canary_percent == 0
    assert tasks["promote"].canary_percent == 100


def test_data_update_structure(dagbag) -> None:
    dag = dagbag.dags["llm_data_update"]
    tasks = {t.task_id: t for t in dag.tasks}
    assert tasks["gate.enough_records"].downstream_task_ids == {"gate.trigger_retraining"}
    assert tasks["gate.trigger_retraining"].trigger_dag_id == "llm_retrain_rollout"
    assert dag.params["retrain_threshold"] == 500
