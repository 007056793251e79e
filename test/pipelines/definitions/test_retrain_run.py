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
    "promote": {"decision": "promote"},
    "keep": {"decision": "keep_champion"},
    "eval_fails": {"decision": "promote", "fail_jobs": ["llm-evaluate-champion-challenger"]},
    "finetune_hangs": {"decision": "promote", "hang_jobs": ["llm-finetune-challenger"]},
    "canary_never_healthy": {"decision": "promote", "canary_never_healthy": True},
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
    assert kinds(run, "service") == [["service", "llm-viggo", 0], ["service", "llm-viggo", 100]]
    # The registry's champion is what the run read first, and the promotion is recorded at the next generation
    # before the service is promoted.
    assert kinds(run, "registry_read")[0][2] == ""
    assert [c[:2] + c[3:] for c in kinds(run, "registry_record")] == [["registry_record", "promotion", 7]]
    order = [c[0] for c in run["calls"] if c[0] in ("registry_record", "service")]
    assert order == ["service", "registry_record", "service"]
    assert run["tasks"]["alert"] == "skipped"
    assert run["tasks"]["report.build"] == "success"  # join after the branch
    assert run["tasks"]["cleanup.rollback_canary"] == "success"
    assert kinds(run, "rollback") == []  # the promoted version is left serving
    # The challenger (v2, the held canary) became the primary, alone.
    assert run["service"] == {
        "state": "RUNNING",
        "primary": {"id": "v2", "state": "RUNNING", "weight": 100},
        "canary": None,
    }


def test_the_run_is_judged_on_the_benchmark_version_pinned_at_its_start(runs: dict[str, Any]) -> None:
    run = runs["promote"]
    pins = kinds(run, "benchmark_pin")
    assert pins == [
        [
            "benchmark_pin",
            "s3://llm-platform-artifacts/benchmarks/viggo",
            "s3://llm-platform-artifacts/registry/viggo",
            "",
        ]
    ]  # read once, before anything else uses it
    assert run["calls"].index(pins[0]) < run["calls"].index(kinds(run, "job")[0])
    pinned, manifest = (
        "s3://llm-platform-artifacts/benchmarks/viggo/files/abab.jsonl",
        "s3://llm-platform-artifacts/benchmarks/viggo/versions/000003.json",
    )
    argv = {c[1]: c[2] for c in kinds(run, "job")}
    finetune = argv["llm-finetune-challenger"]
    assert f"--benchmark-uri {manifest}" in finetune  # its items are removed from the training data
    evaluate = argv["llm-evaluate-champion-challenger"]
    assert f"--test-uri {pinned}" in evaluate and "/test.jsonl" not in evaluate  # not the dataset's split
    compare = argv["llm-compare"]
    assert f"--benchmark-uri {manifest}" in compare and "--champion-benchmark-version 2" in compare
    [[_, benchmark_uri, champion_eval]] = kinds(run, "registry_record_benchmark")
    assert benchmark_uri == manifest and champion_eval.endswith("/evaluation/champion.json")


def test_keep_champion_path_alerts_and_rolls_back(runs: dict[str, Any]) -> None:
    run = runs["keep"]
    assert run["state"] == "success"
    assert run["tasks"]["promote"] == "skipped"
    assert kinds(run, "registry_record") == []  # only promotion writes the registry
    alert = [c for c in kinds(run, "slack") if "was not promoted" in c[2]]
    assert len(alert) == 1 and alert[0][1] == "#ai-team"
    assert run["tasks"]["report.post"] == "success"
    assert kinds(run, "rollback") == [["rollback", "llm-viggo"]]
    assert run["service"]["primary"]["id"] == "v1" and run["service"]["canary"] is None


def test_failed_step_still_tears_down_and_fails_the_run(runs: dict[str, Any]) -> None:
    run = runs["eval_fails"]
    assert run["state"] == "failed"
    assert run["tasks"]["evaluate.champion_and_challenger"] == "failed"
    assert run["tasks"]["decide.compare"] == "upstream_failed"
    assert run["tasks"]["cleanup.rollback_canary"] == "success"
    assert kinds(run, "rollback") == [["rollback", "llm-viggo"]]
    assert run["service"]["primary"]["id"] == "v1" and run["service"]["canary"] is None


def test_a_job_that_outlives_its_timeout_is_terminated(runs: dict[str, Any]) -> None:
    run = runs["finetune_hangs"]
    assert run["state"] == "failed"
    assert run["tasks"]["finetune.train_challenger"] == "failed"
    assert run["tasks"]["deploy.silent_rollout"] == "upstream_failed"
    assert kinds(run, "terminate_job") == [["terminate_job", "llm-finetune-challenger"]]
    assert [state for _, state in run["jobs"].values()] == ["TERMINATED"]
    assert kinds(run, "service") == []


def test_a_canary_that_never_gets_healthy_is_rolled_back(runs: dict[str, Any]) -> None:
    run = runs["canary_never_healthy"]
    assert run["state"] == "failed"
    assert run["tasks"]["deploy.silent_rollout"] == "failed"
    assert run["tasks"]["evaluate.champion_and_challenger"] == "upstream_failed"
    # A failed setup does not run its teardown (all_done_setup_success), so the rollout operator must undo its
    # own canary when the wait times out: that is the one rollback here.
    assert run["tasks"]["cleanup.rollback_canary"] == "upstream_failed"
    assert kinds(run, "rollback") == [["rollback", "llm-viggo"]]
    assert run["service"]["primary"]["id"] == "v1" and run["service"]["canary"] is None


def failure_alerts(run: dict[str, Any]) -> list[str]:
    return [c[2] for c in kinds(run, "slack") if c[2].startswith(":x:")]


def test_a_failed_step_is_named_in_one_slack_alert(runs: dict[str, Any]) -> None:
    assert [len(failure_alerts(runs[n])) for n in ("promote", "keep")] == [0, 0]
    (evaluation,) = failure_alerts(runs["eval_fails"])
    assert "step `evaluate.champion_and_challenger` failed" in evaluation
    (canary,) = failure_alerts(runs["canary_never_healthy"])
    assert "step `deploy.silent_rollout` failed" in canary and "rolled back" in canary
    (finetune,) = failure_alerts(runs["finetune_hangs"])
    assert "step `finetune.train_challenger` failed" in finetune and "terminated" in finetune


def test_no_secret_on_any_command_line_and_adapter_per_run(runs: dict[str, Any]) -> None:
    for run in runs.values():
        for _, name, entrypoint in kinds(run, "job"):
            assert "token" not in entrypoint.replace("--max-tokens", "").lower(), name
    finetunes = [c[2] for r in runs.values() for c in kinds(r, "job") if "finetune" in c[1]]
    stamps = {entrypoint.split("--adapter-name ")[1].split()[0] for entrypoint in finetunes}
    assert len(stamps) == len(runs)  # a new adapter folder for every run
