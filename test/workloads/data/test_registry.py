"""The model registry (`llm_workloads.registry`) on a real moto S3 server: append-only entries written
create-only, the champion as the newest entry, a lost race failing clearly, rollback without toggling, the
Airflow callables reading lineage and metrics from the run's files, and the command line."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from llm_workloads import registry, storage
from llm_workloads.airflow_tasks import registry as tasks
from llm_workloads.serving import ServingError, pinned_applications, resolve_model


def entry(adapter: str, kind: str = "promotion") -> dict[str, Any]:
    return {"kind": kind, "adapter": adapter, "base_model": "base/model", "metrics": {"exact_match": 0.5}}


@pytest.fixture
def root(s3_bucket: str) -> str:
    return f"s3://{s3_bucket}/registry/viggo"


def test_entries_are_appended_and_the_newest_is_the_champion(root: str) -> None:
    assert registry.champion(root) is None
    registry.append(root, 0, entry("viggo-a", "deployment"))
    registry.append(root, 1, entry("viggo-b"))
    assert registry.generations(root) == [1, 2]
    current = registry.champion(root)
    assert current is not None
    assert (current["adapter"], current["generation"], current["previous_generation"]) == ("viggo-b", 2, 1)
    assert [e["adapter"] for e in registry.history(root)] == ["viggo-a", "viggo-b"]
    assert storage.exists(f"{root}/entries/000002.json")


def test_a_stale_writer_fails_naming_the_entry_that_won(root: str) -> None:
    registry.append(root, 0, entry("viggo-a", "deployment"))
    registry.append(root, 1, {**entry("viggo-b"), "run_id": "run-b"})
    with pytest.raises(
        registry.RegistryConflict,
        match=r"generation 2 was already written \(adapter 'viggo-b', run 'run-b'\)",
    ):
        registry.append(root, 1, entry("viggo-c"))
    assert registry.champion(root)["adapter"] == "viggo-b"  # type: ignore[index]


def test_two_racing_promotions_one_wins_the_other_fails(root: str) -> None:
    registry.append(root, 0, entry("viggo-a", "deployment"))
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def promote(adapter: str) -> None:
        barrier.wait()
        try:
            registry.append(root, 1, entry(adapter))
            outcomes[adapter] = "won"
        except registry.RegistryConflict:
            outcomes[adapter] = "conflict"

    threads = [threading.Thread(target=promote, args=(a,)) for a in ("viggo-x", "viggo-y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["conflict", "won"]
    winner = next(a for a, o in outcomes.items() if o == "won")
    assert registry.generations(root) == [1, 2]
    assert registry.champion(root)["adapter"] == winner  # type: ignore[index]


def test_rollback_restores_the_previous_champion_and_does_not_toggle(root: str) -> None:
    registry.append(root, 0, entry("viggo-a", "deployment"))
    registry.append(root, 1, entry("viggo-b"))
    expected, back = registry.rollback_entry(root, "bad answers in production")
    written = registry.append(root, expected, back)
    assert (written["kind"], written["adapter"], written["generation"]) == ("rollback", "viggo-a", 3)
    assert written["rolled_back_from"] == {"generation": 2, "adapter": "viggo-b"}
    assert written["restored_generation"] == 1
    # viggo-a was the first champion: a second rollback has nowhere to go (it must not flip back to viggo-b).
    with pytest.raises(registry.RegistryError, match="has no earlier champion"):
        registry.rollback_entry(root, "again")


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({"kind": "promoted", "adapter": "a", "base_model": "b"}, "entry kind must be one of"),
        ({"kind": "promotion", "adapter": "", "base_model": "b"}, "entry field adapter is required"),
        ({"kind": "promotion", "adapter": "a"}, "entry field base_model is required"),
    ],
)
def test_bad_entries_are_refused(tmp_path: Any, given: dict[str, Any], error: str) -> None:
    root = str(tmp_path / "registry")  # a local folder: the storage helper writes both, create-only
    with pytest.raises(registry.RegistryError, match=error):
        registry.append(root, 0, given)
    assert registry.generations(root) == []


def _run_files(bucket: str, adapter: str, decision: str = "promote") -> dict[str, str]:
    run = f"s3://{bucket}/runs/llm_retrain_rollout/20260101t000000"
    storage.write_json(
        f"{run}/adapter-manifest.json",
        {
            "adapter_name": adapter,
            "adapter_uri": f"s3://{bucket}/lora/{adapter}",
            "base_model": "mistralai/Mistral-7B-Instruct-v0.1",
            "data": {"data_hash": "sha256:abc"},
            "arguments": {"train_uri": "s3://d/train.jsonl", "valid_uri": "s3://d/valid.jsonl", "epochs": 3},
        },
    )
    storage.write_json(f"{run}/evaluation/challenger.json", {"results_uri": f"{run}/evaluation/challenger/k"})
    storage.write_json(
        f"{run}/evaluation/challenger/k/results.json", {"metrics": {"exact_match": 0.91, "n": 50}}
    )
    storage.write_json(f"{run}/decision.json", {"decision": decision, "reason": "margin met"})
    return {
        "manifest_uri": f"{run}/adapter-manifest.json",
        "evaluation_uri": f"{run}/evaluation/challenger.json",
        "decision_uri": f"{run}/decision.json",
    }


def test_the_airflow_callables_read_and_record_with_lineage(root: str, s3_bucket: str) -> None:
    with pytest.raises(registry.RegistryError, match="no champion recorded yet"):
        tasks.read_champion(root)
    assert tasks.read_champion(root, "viggo-manual") == {
        "adapter": "viggo-manual",
        "generation": 0,
        "overridden": True,
    }
    registry.append(root, 0, entry("viggo-a", "deployment"))
    read = tasks.read_champion(root)
    assert read == {"adapter": "viggo-a", "generation": 1, "overridden": False}
    files = _run_files(s3_bucket, "viggo-b")
    out = tasks.record_champion(
        root, "promotion", "viggo-b", run_id="r1", dag_id="d", expected_generation=1, **files
    )
    assert out == {"generation": 2, "adapter": "viggo-b"}
    written = registry.champion(root)
    assert written is not None
    assert written["dataset"] == {
        "train_uri": "s3://d/train.jsonl",
        "valid_uri": "s3://d/valid.jsonl",
        "data_hash": "sha256:abc",
    }
    assert written["training"] == {"epochs": 3}
    assert written["metrics"] == {"exact_match": 0.91, "n": 50}
    assert (written["decision"], written["reason"], written["run_id"]) == ("promote", "margin met", "r1")


def test_record_refuses_a_decision_that_is_not_promote_and_a_wrong_manifest(
    root: str, s3_bucket: str
) -> None:
    files = _run_files(s3_bucket, "viggo-b", decision="keep_champion")
    with pytest.raises(registry.RegistryError, match="decision is 'keep_champion', not 'promote'"):
        tasks.record_champion(
            root, "promotion", "viggo-b", run_id="r", dag_id="d", expected_generation=0, **files
        )
    with pytest.raises(registry.RegistryError, match="manifest is for adapter 'viggo-b', not 'viggo-c'"):
        tasks.record_champion(
            root, "promotion", "viggo-c", run_id="r", dag_id="d", expected_generation=0, **files
        )
    assert registry.generations(root) == []


def test_command_line_list_show_rollback(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert registry.main(["show", "--registry-uri", root]) == 1
    assert "empty registry" in capsys.readouterr().err
    registry.append(root, 0, entry("viggo-a", "deployment"))
    registry.append(root, 1, entry("viggo-b"))
    assert registry.main(["list", "--registry-uri", root]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in listed] == [
        ["1", "deployment", "viggo-a"],
        ["2", "promotion", "viggo-b"],
    ]
    assert registry.main(["rollback", "--registry-uri", root, "--reason", "test"]) == 0
    assert json.loads(capsys.readouterr().out)["adapter"] == "viggo-a"
    assert registry.main(["show", "--registry-uri", root]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["generation"], shown["kind"], shown["reason"]) == (3, "rollback", "test")


def test_the_stable_name_resolves_to_the_pinned_adapter() -> None:
    args = {"base_model": "m/b", "model_alias": "viggo", "alias_adapter": "viggo-2"}
    assert resolve_model("viggo", args) == "m/b:viggo-2"
    assert resolve_model("m/b:viggo-1", args) == "m/b:viggo-1"  # explicit ids stay reachable
    assert resolve_model("viggo", {"base_model": "m/b"}) == "viggo"
    apps = [
        {"name": "llm", "args": {"model_alias": "viggo", "alias_adapter": "viggo-2", "base_model": "m/b"}}
    ]
    assert pinned_applications(apps, "viggo-1")[0]["args"]["alias_adapter"] == "viggo-1"
    assert apps[0]["args"]["alias_adapter"] == "viggo-2"  # the input is not changed
    with pytest.raises(ServingError, match="no model_alias"):
        pinned_applications([{"name": "llm", "args": {}}], "viggo-1")


def test_the_report_shows_the_champion_history(root: str) -> None:
    from llm_workloads.report import history_chart, history_markdown

    registry.append(root, 0, {**entry("viggo-a", "deployment"), "metrics": {"order_insensitive_match": 0.7}})
    registry.append(
        root, 1, {**entry("viggo-b"), "metrics": {"order_insensitive_match": 0.8, "act_accuracy": 0.9}}
    )
    entries = registry.history(root)
    lines = history_markdown(entries)
    rows = [line for line in lines if line.startswith("| 1 ") or line.startswith("| 2 ")]
    assert [r.split("|")[1:4] for r in rows] == [
        [" 1 ", " deployment ", " `viggo-a` "],
        [" 2 ", " promotion ", " `viggo-b` "],
    ]
    assert "0.8000" in rows[1] and "0.9000" in rows[1]
    png = history_chart(entries)
    assert png.startswith(b"\x89PNG") and history_chart(entries) == png  # deterministic bytes
