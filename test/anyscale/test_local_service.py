"""The scenario file of `llm_workloads.testing.local_service` (what the emulator's service versions play)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_workloads.testing.local_service import Behaviour, ScenarioError, ScenarioResponder, parse_scenario
from llm_workloads.testing.server import ChatRequest, Reply
from sdk_harness import REPO, TOKEN, needs_node, reference_records


def request(model: str, record: dict) -> ChatRequest:
    messages = tuple(record["messages"][:2])
    return ChatRequest(model=model, messages=messages, headers={}, body={})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "s.json: the scenario must be a JSON object"),
        (
            {"adapters": {"a": {"accuracy": 1.5}}},
            "s.json: adapters.a.zero_shot_accuracy: must be a number in [0, 1]",
        ),
        ({"adapters": {"a": {}}}, "s.json: adapters.a: give accuracy, or both"),
        (
            {"adapters": {"a": {"accuracy": 0.5, "acuracy": 1}}},
            "s.json: adapters.a: unknown fields ['acuracy']",
        ),
        ({"references": "x.jsonl"}, "s.json: references: must be a list of non-empty strings"),
        ({"defaults": {}}, "s.json: unknown fields ['defaults']"),
    ],
)
def test_a_bad_scenario_names_the_file_and_the_field(raw: object, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw, "s.json")
    assert str(caught.value).startswith(message)


def test_exact_names_win_over_patterns_then_file_order_then_default() -> None:
    scenario = parse_scenario(
        {
            "default": {"accuracy": 0.2},
            "base_model": {"accuracy": 0.1},
            "adapters": {"run-*": {"accuracy": 0.6}, "run-7": {"accuracy": 0.9}, "r*": {"accuracy": 0.3}},
        },
        "s.json",
    )
    assert scenario.behaviour("run-7") == Behaviour(0.9, 0.9)
    assert scenario.behaviour("run-8") == Behaviour(0.6, 0.6)
    assert scenario.behaviour("rx") == Behaviour(0.3, 0.3)
    assert scenario.behaviour("other") == Behaviour(0.2, 0.2)
    assert scenario.behaviour(None) == Behaviour(0.1, 0.1)


def test_the_scenario_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    refs = tmp_path / "refs.jsonl"
    refs.write_text("".join(json.dumps(r) + "\n" for r in reference_records()))
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"references": [str(refs)], "adapters": {"x": {"accuracy": 1.0}}}))
    responder = ScenarioResponder("m", str(path))
    record = reference_records()[0]
    answer = responder(request("m:x", record))
    assert answer == Reply(record["messages"][2]["content"])
    path.write_text(json.dumps({"references": [str(refs)], "adapters": {"x": {"accuracy": 0.0}}}))
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))  # a different mtime even on coarse clocks
    assert responder(request("m:x", record)) != Reply(record["messages"][2]["content"])


def test_the_stable_name_is_answered_as_the_pinned_adapter(tmp_path: Path) -> None:
    refs = tmp_path / "refs.jsonl"
    refs.write_text("".join(json.dumps(r) + "\n" for r in reference_records()))
    path = tmp_path / "scenario.json"
    adapters = {"champ": {"accuracy": 1.0}, "chall": {"accuracy": 0.0}}
    path.write_text(json.dumps({"references": [str(refs)], "adapters": adapters}))
    pinned_to = {name: ScenarioResponder("m", str(path), ("viggo", name)) for name in adapters}
    for record in reference_records():
        right = record["messages"][2]["content"]
        # the stable name answers exactly as the pinned adapter's explicit id does (and names it)
        assert pinned_to["champ"](request("viggo", record)) == Reply(right, model="m:champ")
        by_id = pinned_to["chall"](request("m:chall", record))
        assert isinstance(by_id, Reply)
        assert pinned_to["chall"](request("viggo", record)) == Reply(by_id.content, model="m:chall")
        assert by_id != Reply(right)
        assert pinned_to["chall"](request("m:champ", record)) == Reply(right)  # explicit ids stay reachable


def test_the_server_refuses_a_bad_scenario_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"adapters": {"a": {"accuracy": "high"}}}')
    done = subprocess.run(
        [sys.executable, "-m", "llm_workloads.testing.local_service", "--check", "--scenario", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"{bad}: adapters.a.zero_shot_accuracy: must be a number in [0, 1]" in done.stderr


@needs_node
def test_the_emulator_does_not_start_with_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = subprocess.run(
        [str(REPO / "node_modules" / ".bin" / "tsx"), "local/anyscale-emulator/main.ts", "--port", "0"]
        + ["--token", TOKEN, "--scenario", str(bad), "--workdir", str(tmp_path / "wd")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"--scenario: {bad}:1: invalid JSON" in done.stderr
    assert "listening" not in done.stdout
