"""`llm_retrain_rollout` really runs in Airflow 3 (`dag.test()`), with the Anyscale, Slack and decision calls
recorded instead of made: promote path, keep-champion path, and a failed evaluation (the teardown still rolls
the canary back and the run ends failed). Rendered by the CLI from pipelines/definitions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("retrain_scenarios.py")
SCENARIOS = {
    "promote": {"decision": "promote", "canary_left": None},
    "keep": {"decision": "keep_champion", "canary_left": "v2"},
    "eval_fails": {"decision": "promote", "canary_left": "v2", "fail": ["evaluate.champion_and_challenger"]},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, rendered_dags: Path) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow_home")
    result = tmp_path_factory.mktemp("result") / "runs.json"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(rendered_dags),
    }
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(rendered_dags), json.dumps(SCENARIOS), str(result)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(result.read_text())


def kinds(run: dict[str, Any], kind: str) -> list[list[Any]]:
    return [c for c in run["calls"] if c[0] == kind]


def test_promote_path(runs: dict[str, Any]) -> None:
    run = runs["promote"]
    assert run["state"] == "success"
    assert kinds(run, "service") == [["service", "deploy.silent_rollout", 0], ["service", "promote", 100]]
    assert run["tasks"]["alert"] == "skipped"
    assert run["tasks"]["report.build"] == "success"  # join after the branch
    assert run["tasks"]["cleanup.rollback_canary"] == "success"
    assert kinds(run, "rollback") == []  # the promoted version is left serving


def test_keep_champion_path_alerts_and_rolls_back(runs: dict[str, Any]) -> None:
    run = runs["keep"]
    assert run["state"] == "success"
    assert run["tasks"]["promote"] == "skipped"
    alert = [c for c in kinds(run, "slack") if c[1] == "alert"]
    assert len(alert) == 1 and "was not promoted" in alert[0][2]
    assert run["tasks"]["report.post"] == "success"
    assert kinds(run, "rollback") == [["rollback", "llm-viggo"]]


def test_failed_step_still_tears_down_and_fails_the_run(runs: dict[str, Any]) -> None:
    run = runs["eval_fails"]
    assert run["state"] == "failed"
    assert run["tasks"]["evaluate.champion_and_challenger"] == "failed"
    assert run["tasks"]["decide.compare"] == "upstream_failed"
    assert run["tasks"]["cleanup.rollback_canary"] == "success"
    assert kinds(run, "rollback") == [["rollback", "llm-viggo"]]


def test_no_secret_on_any_command_line_and_adapter_per_run(runs: dict[str, Any]) -> None:
    for run in runs.values():
        for _, task_id, entrypoint in kinds(run, "job"):
            assert "token" not in entrypoint.replace("--max-tokens", "").lower(), task_id
    finetunes = [c[2] for r in runs.values() for c in kinds(r, "job") if "finetune" in c[1]]
    stamps = {entrypoint.split("--adapter-name ")[1].split()[0] for entrypoint in finetunes}
    assert len(stamps) == len(runs)  # a new adapter folder for every run
