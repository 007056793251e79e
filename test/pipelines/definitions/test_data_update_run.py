"""`llm_data_update` really runs in Airflow 3 (`dag.test()`), with the source reads, Slack and the trigger
recorded: the three sources feed the normalisation, unusable records are reported, and retraining is triggered
only when the record count reaches `retrain_threshold` (500 by default).
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
SCENARIOS = {"enough": {"count": 500}, "too_few": {"count": 499}}


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
    normalise = next(c[1] for c in run["calls"] if c[0] == "normalise_join_dedupe")
    fetched = [c[1]["out_uri"] for c in run["calls"] if c[0] in ("zendesk", "slack_messages", "s3_drop")]
    assert sorted(normalise["input_uris"]) == sorted(fetched)
    assert normalise["version"].isalnum()  # the run stamp, e.g. 20261128t160640
    zendesk = next(c[1] for c in run["calls"] if c[0] == "zendesk")
    assert zendesk["conn_id"] == "zendesk_default"


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
