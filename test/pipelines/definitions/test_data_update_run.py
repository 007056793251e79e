"""`llm_data_update` really runs in Airflow 3 (`dag.test()`), with the source reads, Slack and the trigger
recorded: the three sources feed the build plan, the engine branch picks the local build or the Ray job, the
lineage is published from either, the asset is emitted only for a new version, and retraining is triggered
only when the records new since the champion reach `retrain_threshold` (500 by default) in a new version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("data_update_scenarios.py")
SCENARIOS = {
    "enough": {"new": 500, "changed": True, "engine": "local"},
    "too_few": {"new": 499, "changed": True, "engine": "local"},
    "unchanged": {"new": 900, "changed": False, "engine": "local"},
    "on_ray": {"new": 10, "changed": True, "engine": "ray"},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, rendered_dags: Path) -> dict[str, Any]:
    result = tmp_path_factory.mktemp("result") / "runs.json"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow_home")),
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


def test_sources_feed_the_versioned_dataset(runs: dict[str, Any]) -> None:
    run = runs["enough"]
    assert run["state"] == "success"
    assert {c[0] for c in run["calls"][:3]} == {"zendesk", "slack_messages", "s3_drop"}
    planned = next(c[1] for c in run["calls"] if c[0] == "plan_build")
    fetches = [c[1] for c in run["calls"] if c[0] in ("zendesk", "slack_messages", "s3_drop")]
    assert sorted(planned["input_uris"]) == sorted(f["out_uri"] for f in fetches)
    assert planned["lineage_generations"] == [4, 4, 4] and planned["input_counts"] == [7, 7, 7]
    assert planned["version"].isalnum()  # the run stamp, e.g. 20261128t160640
    assert all(f["dataset_root_uri"] == planned["dataset_root_uri"] for f in fetches)
    zendesk = next(c[1] for c in run["calls"] if c[0] == "zendesk")
    assert zendesk["conn_id"] == "zendesk_default"
    published = next(c[1] for c in run["calls"] if c[0] == "publish_dataset")
    assert sorted(published["cursor_uris"]) == sorted(f["out_uri"] + ".cursor.json" for f in fetches)
    assert published["run_id"] == run["run_id"]
    assert run["tasks"]["build.on_ray"] == "skipped" and run["tasks"]["build.local"] == "success"


def test_large_sources_build_on_ray_and_still_publish(runs: dict[str, Any]) -> None:
    run = runs["on_ray"]
    assert run["state"] == "success"
    assert run["tasks"]["build.local"] == "skipped" and run["tasks"]["build.on_ray"] == "success"
    assert run["tasks"]["build.publish"] == "success"
    job = next(c[1] for c in run["calls"] if c[0] == "ray_job")
    assert "llm_workloads.dataset_ray --plan-uri " in job and job.endswith("/build/plan.json")


def test_unchanged_data_emits_nothing_and_never_retrains(runs: dict[str, Any]) -> None:
    run = runs["unchanged"]
    assert run["state"] == "success"
    assert run["tasks"]["build.emit_dataset"] == "skipped"
    assert run["tasks"]["gate.trigger_retraining"] == "skipped"
    assert not [c for c in run["calls"] if c[0] == "trigger"]
    assert len([c for c in run["calls"] if c[0] == "slack"]) == 1  # the summary is still posted


def test_unusable_records_are_reported(runs: dict[str, Any]) -> None:
    notify = [c for c in runs["enough"]["calls"] if c[0] == "slack"]
    assert len(notify) == 1
    assert notify[0][1] == "chat.postMessage" and notify[0][3] == "#ai-team"
    assert "3 unusable records kept aside" in notify[0][2]


def test_retraining_is_triggered_at_the_threshold(runs: dict[str, Any]) -> None:
    enough = runs["enough"]
    triggers = [c for c in enough["calls"] if c[0] == "trigger"]
    assert len(triggers) == 1
    assert triggers[0][1] == "llm_retrain_rollout"
    assert triggers[0][2]["dataset_uri"].startswith("s3://llm-platform-artifacts/datasets/viggo/")
    too_few = runs["too_few"]
    assert too_few["state"] == "success"
    assert too_few["tasks"]["gate.trigger_retraining"] == "skipped"
    assert not [c for c in too_few["calls"] if c[0] == "trigger"]
