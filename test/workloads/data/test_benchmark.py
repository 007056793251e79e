"""The frozen benchmark (`llm_workloads.benchmark`): create-only versions on a real moto S3 server, the CLI's
error paths, the run's pin (`airflow_tasks.benchmark`), the fine-tune's exclusion of benchmark items, and the
decision's record of the benchmark version (`compare.benchmark_record`)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_workloads import benchmark, finetune, registry, storage
from llm_workloads.airflow_tasks.benchmark import pin_benchmark
from llm_workloads.airflow_tasks.decision import summarise_decision
from llm_workloads.compare import CompareError, benchmark_record
from llm_workloads.records import make_record


def rec(sentence: str, mr: str, record_id: str | None = None) -> dict[str, Any]:
    return make_record(sentence, mr, record_id)


BENCH = [
    rec("Is Portal 2 any good?", "request(name[Portal 2])"),
    rec("What rating does Halo have?", "request(name[Halo])"),
    rec("Tell me about Tetris.", "request(name[Tetris])"),
]


def text(rows: list[dict[str, Any]]) -> str:
    return storage.dumps_jsonl(rows)


@pytest.fixture
def root(s3_bucket: str) -> str:
    return f"s3://{s3_bucket}/benchmarks/viggo"


def test_versions_are_frozen_in_order_with_a_manifest(root: str) -> None:
    assert benchmark.current(root) is None
    v1 = benchmark.freeze(root, [("a.jsonl", text(BENCH[:2]))], "first", created_at="2026-01-01T00:00:00Z")
    v2 = benchmark.freeze(root, [("a.jsonl", text(BENCH[:2])), ("b.jsonl", text(BENCH[2:]))], "more items")
    assert benchmark.versions(root) == [1, 2]
    assert (v1["version"], v1["items"], v1["meaning_groups"], v1["previous_version"]) == (1, 2, 2, None)
    assert (v2["version"], v2["items"], v2["previous_version"], v2["source"]) == (
        2,
        3,
        1,
        ["a.jsonl", "b.jsonl"],
    )
    assert v1["reason"] == "first" and v1["created_at"] == "2026-01-01T00:00:00Z"
    assert benchmark.current(root) == v2
    assert len(benchmark.load_version(v1)) == 2  # sha256 and count checked
    assert v1["file_uri"].endswith(f"/files/{v1['sha256']}.jsonl")


def test_an_identical_version_is_refused(root: str) -> None:
    benchmark.freeze(root, [("a.jsonl", text(BENCH))], "first")
    with pytest.raises(benchmark.BenchmarkError, match="identical to version 1"):
        benchmark.freeze(root, [("a.jsonl", text(BENCH))], "again")
    assert benchmark.versions(root) == [1]


def test_two_racing_freezers_one_wins_the_other_fails(root: str) -> None:
    benchmark.freeze(root, [("a.jsonl", text(BENCH[:1]))], "first")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def freeze(name: str, rows: list[dict[str, Any]]) -> None:
        barrier.wait()
        try:
            benchmark.freeze(root, [(name, text(rows))], name, expected=1)
            outcomes[name] = "won"
        except benchmark.BenchmarkConflict:
            outcomes[name] = "conflict"

    threads = [
        threading.Thread(target=freeze, args=("x", BENCH[:2])),
        threading.Thread(target=freeze, args=("y", BENCH[1:])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["conflict", "won"]
    winner = next(n for n, o in outcomes.items() if o == "won")
    assert benchmark.versions(root) == [1, 2]
    assert benchmark.current(root)["source"] == [winner]  # type: ignore[index]


def test_a_tampered_file_is_refused(tmp_path: Path) -> None:
    root = str(tmp_path / "bench")
    v1 = benchmark.freeze(root, [("a.jsonl", text(BENCH))], "first")
    Path(v1["file_uri"]).write_text(text(BENCH[:1]))
    with pytest.raises(benchmark.BenchmarkError, match="sha256 differs"):
        benchmark.load_version(v1)


def test_cli_freeze_list_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "bench")
    source = tmp_path / "bench.jsonl"
    source.write_text(text(BENCH))
    assert benchmark.main(["freeze", "--benchmarks-uri", root, "--from", str(source), "--reason", "r"]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == 3
    assert benchmark.main(["list", "--benchmarks-uri", root]) == 0
    assert "3 items" in capsys.readouterr().out
    assert benchmark.main(["show", "--benchmarks-uri", root, "--version", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1
    data = tmp_path / "train.jsonl"
    data.write_text(
        text([rec("How good is Halo?", "request(name[halo])"), rec("Doom?", "request(name[Doom])")])
    )
    assert benchmark.main(["overlap", "--benchmarks-uri", root, "--data", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["files"][str(data)] == {"records": 2, "overlap": 1}


@pytest.mark.parametrize(
    ("content", "reason", "message"),
    [
        ('{"messages": []}\n', "r", r"bad\.jsonl:1: messages"),
        ("not json\n", "r", r"bad\.jsonl:1:"),
        ("", "r", r"bad\.jsonl: no records"),
        (None, "r", r"bad\.jsonl:2: messages\[1\]\.content: duplicate sentence \(first at .*bad\.jsonl:1\)"),
        (None, " ", r"--reason"),
    ],
)
def test_cli_bad_input_names_file_and_field_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, reason: str, message: str
) -> None:
    root = str(tmp_path / "bench")
    source = tmp_path / "bad.jsonl"
    source.write_text(content if content is not None else text([BENCH[0], BENCH[0]]))
    argv = ["freeze", "--benchmarks-uri", root, "--from", str(source), "--reason", reason]
    assert benchmark.main(argv) == 1
    assert __import__("re").search(message, capsys.readouterr().err)
    assert not (tmp_path / "bench").exists()


def test_cli_missing_file_and_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "bench")
    missing = str(tmp_path / "nope.jsonl")
    assert benchmark.main(["freeze", "--benchmarks-uri", root, "--from", missing, "--reason", "r"]) == 1
    assert "nope.jsonl: cannot be read" in capsys.readouterr().err
    assert benchmark.main(["show", "--benchmarks-uri", root]) == 1
    assert "no benchmark frozen yet" in capsys.readouterr().err


# --- the run's pin --------------------------------------------------------------------------------


def test_pin_is_read_once_and_says_whether_the_champion_is_re_evaluated(root: str, s3_bucket: str) -> None:
    reg = f"s3://{s3_bucket}/registry/viggo"
    v1 = benchmark.freeze(root, [("a.jsonl", text(BENCH[:2]))], "first")
    registry.append(
        reg, 0, {"kind": "deployment", "adapter": "viggo-a", "base_model": "b", "benchmark": {"version": 1}}
    )
    pinned = pin_benchmark(root, reg)
    assert (pinned["version"], pinned["sha256"], pinned["champion_reevaluated"]) == (1, v1["sha256"], False)
    assert pinned["uri"] == benchmark.version_uri(root, 1) and pinned["file_uri"] == v1["file_uri"]
    benchmark.freeze(root, [("a.jsonl", text(BENCH))], "more")  # frozen mid-run
    # The pinned version's manifest and file do not change: the run's yardstick stays v1.
    assert storage.read_json(pinned["uri"])["sha256"] == v1["sha256"]
    assert len(benchmark.load_version(storage.read_json(pinned["uri"]))) == 2
    again = pin_benchmark(root, reg)  # the next run
    assert (again["version"], again["champion_measured_on"], again["champion_reevaluated"]) == (2, 1, True)


def test_pin_bootstraps_version_1_from_a_test_split_or_refuses(tmp_path: Path) -> None:
    root = str(tmp_path / "bench")
    with pytest.raises(benchmark.BenchmarkError, match="no benchmark frozen yet"):
        pin_benchmark(root)
    test = tmp_path / "test.jsonl"
    test.write_text(text(BENCH))
    pinned = pin_benchmark(root, bootstrap_test_uri=str(test))
    assert (pinned["version"], pinned["items"]) == (1, 3)
    assert pin_benchmark(root, bootstrap_test_uri=str(test))["version"] == 1  # not frozen twice


# --- never enters training ------------------------------------------------------------------------


def test_exclusion_removes_same_sentence_and_same_meaning_group() -> None:
    exclusion = benchmark.Exclusion.of(BENCH)
    rows = [
        rec("  is PORTAL 2   any good? ", "request(name[Skyrim])"),  # same sentence (whitespace, case)
        rec("How good is Halo?", "request(name[ halo ])"),  # same meaning group, other sentence
        rec("Tell me about Doom.", "request(name[Doom])"),  # unrelated: kept
    ]
    kept, removed = exclusion.split(rows)
    assert removed == 2 and kept == rows[2:]


def test_finetune_removes_benchmark_items_and_records_the_count(tmp_path: Path) -> None:
    bench = benchmark.freeze(str(tmp_path / "bench"), [("b.jsonl", text(BENCH))], "first")
    train = [rec(f"Tell me about Game {i}.", f"request(name[Game {i}])") for i in range(5)]
    train += [
        rec("Is Portal 2 any good?", "request(name[Portal 2])"),
        rec("Halo rating?", "request(name[Halo])"),
    ]
    valid = [rec("What about Tetris?", "request(name[tetris])"), rec("And Doom?", "request(name[Doom])")]
    (tmp_path / "train.jsonl").write_text(text(train))
    (tmp_path / "valid.jsonl").write_text(text(valid))
    args = finetune.parse_args(
        [
            *("--base-model", "mistralai/Mistral-7B-Instruct-v0.1", "--adapter-name", "viggo-run-1"),
            *("--train-uri", str(tmp_path / "train.jsonl"), "--valid-uri", str(tmp_path / "valid.jsonl")),
            *("--lora-root", str(tmp_path / "lora"), "--manifest-uri", str(tmp_path / "manifest.json")),
            *("--seed", "1", "--epochs", "1", "--learning-rate", "1e-4", "--lora-rank", "8"),
            *("--lora-alpha", "16", "--context-length", "512"),
            *("--benchmark-uri", benchmark.version_uri(str(tmp_path / "bench"), 1)),
        ]
    )
    seen: list[str] = []

    def trainer(command: list[str], env: dict[str, str]) -> None:
        config = yaml.safe_load(Path(command[-1]).read_text())
        seen.extend(Path(config["dataset_dir"], "train.jsonl").read_text().splitlines())
        out = Path(config["output_dir"])
        out.mkdir()
        (out / "adapter_model.safetensors").write_bytes(b"weights")
        (out / "adapter_config.json").write_text('{"r": 8}')

    manifest = finetune.execute(args, train=lambda a: finetune.train_locally(a, trainer))
    trained = [json.loads(line) for line in seen]
    assert len(trained) == 5
    exclusion = benchmark.Exclusion.of(BENCH)
    assert not any(exclusion.hits(r) for r in trained)
    assert manifest["benchmark"] == {
        "uri": benchmark.version_uri(str(tmp_path / "bench"), 1),
        "version": 1,
        "sha256": bench["sha256"],
        "items": 3,
        "excluded": {"train": 2, "valid": 1},
    }
    assert manifest["metrics"]["train_records"] == 5 and manifest["metrics"]["valid_records"] == 1


def test_finetune_without_a_benchmark_records_none(tmp_path: Path) -> None:
    assert finetune.exclude_benchmark(None, [], []) == ([], [], None)


# --- the decision records the version -------------------------------------------------------------


def test_decision_records_the_benchmark_and_the_re_evaluation(tmp_path: Path) -> None:
    v1 = benchmark.freeze(str(tmp_path / "bench"), [("b.jsonl", text(BENCH))], "first")
    uri = benchmark.version_uri(str(tmp_path / "bench"), 1)
    decision: dict[str, Any] = {"settings": {"test_uri": v1["file_uri"]}}
    benchmark_record(decision, uri, "1")
    assert decision["benchmark"]["version"] == 1 and decision["benchmark"]["sha256"] == v1["sha256"]
    assert decision["champion_reevaluated"]["reevaluated"] is False
    benchmark_record(decision, uri, "None")
    assert decision["champion_reevaluated"]["note"].startswith("champion re-evaluated on benchmark v1")
    with pytest.raises(CompareError, match="not on benchmark version 1"):
        benchmark_record({"settings": {"test_uri": "s3://b/datasets/v/test.jsonl"}}, uri, "1")


def test_read_decision_carries_the_benchmark_version() -> None:
    document = {
        "decision": "keep_champion",
        "reason": "x",
        "primary_metric": "m",
        "n_items": 3,
        "checks": [{"name": "power", "passed": False}],
        "champion": {"model": "a"},
        "challenger": {"model": "b"},
        "metrics": {"champion": {"m": 0.5}, "challenger": {"m": 0.5}, "delta": {"m": 0.0}},
        "ci": {"m": {"low": 0.0, "high": 0.0}},
        "confidence": 0.95,
        "margin": 0.02,
        "benchmark": {"version": 2},
        "champion_reevaluated": {"note": "champion re-evaluated on benchmark v2"},
    }
    small = summarise_decision(document, "d.json")
    assert (small["benchmark_version"], small["benchmark_note"]) == (
        2,
        "champion re-evaluated on benchmark v2",
    )


def test_the_report_names_the_benchmark_and_the_re_evaluation() -> None:
    from llm_workloads.report import _benchmark_lines

    decision = {
        "benchmark": {"version": 2, "sha256": "ab" * 32, "items": 60, "uri": "s3://b/versions/000002.json"},
        "champion_reevaluated": {"note": "champion re-evaluated on benchmark v2 (its registry metrics ...)"},
    }
    [line] = _benchmark_lines(decision)
    assert line.startswith("- Benchmark: v2 (sha256 `abababababab`, 60 items")
    assert "champion re-evaluated on benchmark v2" in line
    assert _benchmark_lines({}) == []
