"""evaluate -> compare -> report -> read_decision on a moto S3 server, as the DAG runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from llm_workloads import compare, evaluate, report, storage
from llm_workloads.airflow_tasks.decision import DecisionFileError, format_slack_summary, read_decision
from llm_workloads.records import make_record
from llm_workloads.testing.server import Reply, ScriptedResponder, serve

BASE = "mistralai/Mistral-7B-Instruct-v0.1"
CHAMPION, CHALLENGER = f"{BASE}:viggo-v1", f"{BASE}:viggo-v2"
TOKEN = "tok-abc-123"
VIGGO_DIR = Path(__file__).resolve().parents[4] / "shared" / "data" / "viggo"


def scripted_models(records: list[dict]) -> ScriptedResponder:
    """Champion right on the first 60%, challenger on the first 90%; wrong answers have a wrong value."""
    script = {}
    for n, record in enumerate(records):
        user, target = record["messages"][1]["content"], record["messages"][2]["content"]
        wrong = (
            target.replace("(", "(specifier[sloppy], ", 1)
            if "specifier[" not in target
            else target.replace("specifier[", "specifier[x", 1)
        )
        script[(CHAMPION, user)] = [Reply(target if n < 0.6 * len(records) else wrong)]
        script[(CHALLENGER, user)] = [Reply(target if n < 0.9 * len(records) else wrong)]
    return ScriptedResponder(script)


def run_chain(records: list[dict], root: str, tmp_path: Path) -> tuple[int, int, int]:
    test_uri = f"{root}/data/test.jsonl"
    storage.write_jsonl(test_uri, records)
    with serve(scripted_models(records), token=TOKEN) as server:
        evaluated = evaluate.main(
            ["--endpoint-url", server.url, "--model", f"champion={CHAMPION}",
             "--model", f"challenger={CHALLENGER}", "--canary-label", "challenger",
             "--test-uri", test_uri, "--output-uri", f"{root}/eval",
             "--concurrency", "8"],
            env={"LLM_ENDPOINT_TOKEN": TOKEN},
        )  # fmt: skip
    compared = compare.main(
        ["--champion-results", f"{root}/eval/champion.json",
         "--challenger-results", f"{root}/eval/challenger.json",
         "--primary-metric", "order_insensitive_match", "--margin", "0.05", "--confidence", "0.95",
         "--max-mde", "0.5",
         "--guard", "slot_value_f1=0.01", "--guard", "parse_failure_rate=0.0", "--min-items", "50",
         "--bootstrap-resamples", "2000", "--seed", "1", "--decision-uri", f"{root}/decision.json"]
    )  # fmt: skip
    reported = report.main(
        [
            "--evaluation-uri",
            f"{root}/eval",
            "--decision-uri",
            f"{root}/decision.json",
            "--output-uri",
            f"{root}/report",
        ]
    )
    return evaluated, compared, reported


def test_chain_on_s3_promotes_and_reports(s3_bucket: str, viggo_records: list[dict], tmp_path: Path) -> None:
    records = viggo_records[:100]
    root = f"s3://{s3_bucket}/run-1"
    assert run_chain(records, root, tmp_path) == (0, 0, 0)

    decision = storage.read_json(f"{root}/decision.json")
    assert decision["decision"] == "promote"
    assert decision["metrics"]["champion"]["order_insensitive_match"] == 0.6
    assert decision["metrics"]["challenger"]["order_insensitive_match"] == 0.9
    # The test data holds its references as written: the right answers are strict matches too.
    assert decision["metrics"]["challenger"]["strict_exact_match"] == 0.9
    assert 0 < decision["mde"]["value"] <= 0.5 and decision["groups"]["n_groups"] > 10
    assert decision["mcnemar"] == {
        "champion_only": 0,
        "challenger_only": 30,
        "p_value": pytest.approx(2 * 0.5**30),
    }
    assert decision["champion"]["model"] == CHAMPION and decision["challenger"]["model"] == CHALLENGER
    assert set(decision["guards"]) == {"parse_failure_rate", "request_failure_rate", "slot_value_f1"}

    small = read_decision(f"{root}/decision.json")
    assert small["decision"] == "promote" and small["promote"] is True
    assert small["delta"] == pytest.approx(0.3) and small["n_items"] == 100 and small["failed_checks"] == []
    json.dumps(small)  # XCom-safe
    assert TOKEN not in json.dumps(small)

    summary = format_slack_summary(small, "https://reports.example/run-1/report.md")
    assert summary.splitlines()[0] == f":white_check_mark: Promote challenger `{CHALLENGER}`"
    assert "order_insensitive_match: 0.600 -> 0.900 (delta +0.300" in summary
    assert summary.endswith("Report: https://reports.example/run-1/report.md")

    files = {uri.rsplit("/", 1)[1]: uri for uri in storage.list_uris(f"{root}/report")}
    assert sorted(files) == ["metric_deltas.png", "per_act_accuracy.png", "report.md", "summary.txt"]
    markdown = storage.read_text(files["report.md"])
    assert "**Decision: promote**" in markdown
    assert "| order_insensitive_match (primary) | 0.6000 | 0.9000 | +0.3000 |" in markdown
    assert "| strict_exact_match | 0.6000 | 0.9000 | +0.3000 |" in markdown
    assert f"minimum detectable effect {decision['mde']['value']:.4f}" in markdown
    assert "| champion | `" in markdown and "| challenger | `" in markdown  # all models evaluated in the run
    assert storage.read_bytes(files["per_act_accuracy.png"])[:8] == b"\x89PNG\r\n\x1a\n"
    for uri in storage.list_uris(root):
        assert TOKEN.encode() not in storage.read_bytes(uri)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One evaluate -> compare -> report chain on local files, shared by the tests that only read it."""
    path = VIGGO_DIR / "subset-part1.jsonl"  # read in place
    if not path.is_file():
        pytest.skip(f"VIGGO sample not found at {VIGGO_DIR}")
    records = [json.loads(line) for line in path.read_text().splitlines()[:60]]
    root = tmp_path_factory.mktemp("chain") / "run"
    assert run_chain(records, str(root), root.parent) == (0, 0, 0)
    return str(root)


def test_report_pngs_are_byte_identical_across_runs(local_run: str) -> None:
    root = local_run
    first = report.build_report(f"{root}/eval", f"{root}/decision.json")
    second = report.build_report(f"{root}/eval", f"{root}/decision.json")
    assert first == second
    assert b"Software" not in first["metric_deltas.png"]


def test_results_from_different_test_data_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "run"
    a = [make_record(f"Sentence {n}.", "inform(name[Portal])", f"a{n}") for n in range(3)]
    b = [make_record(f"Sentence {n}!", "inform(name[Portal])", f"a{n}") for n in range(3)]
    storage.write_jsonl(str(root / "a.jsonl"), a)
    storage.write_jsonl(str(root / "b.jsonl"), b)
    script = {
        (m, r["messages"][1]["content"]): [Reply("inform(name[Portal])")]
        for r in a + b
        for m in (CHAMPION, CHALLENGER)
    }
    with serve(ScriptedResponder(script)) as server:
        for label, model, data in (("champion", CHAMPION, "a"), ("challenger", CHALLENGER, "b")):
            args = ["--endpoint-url", server.url, "--model", f"{label}={model}"]
            args += ["--test-uri", str(root / f"{data}.jsonl"), "--output-uri", str(root / "eval")]
            assert evaluate.main(args, env={}) == 0
    code = compare.main(
        ["--champion-results", str(root / "eval/champion.json"), "--challenger-results",
         str(root / "eval/challenger.json"), "--decision-uri", str(root / "decision.json")]
    )  # fmt: skip
    assert code == 2
    assert "settings.data.data_hash differs" in capsys.readouterr().err
    assert not (root / "decision.json").exists()


def test_tampered_items_are_detected(local_run: str, tmp_path: Path) -> None:
    import shutil

    root = str(tmp_path / "run")
    shutil.copytree(local_run, root)
    for label in ("champion", "challenger"):  # re-point the copied pointers at the copied results
        pointer = storage.read_json(f"{root}/eval/{label}.json")
        pointer["results_uri"] = pointer["results_uri"].replace(local_run, root)
        storage.write_json(f"{root}/eval/{label}.json", pointer)
    pointer = storage.read_json(f"{root}/eval/challenger.json")
    items_path = Path(pointer["results_uri"]) / "items.jsonl"
    items_path.write_text(
        items_path.read_text().replace('"order_insensitive_match":false', '"order_insensitive_match":true', 1)
    )
    with pytest.raises(compare.CompareError, match="sha256 differs"):
        compare.load_results(f"{root}/eval/challenger.json")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(decision="maybe"), "decision must be one of"),
        (lambda d: d.update(decision="keep_champion"), "contradicts the failed checks"),
        (
            lambda d: d["metrics"]["delta"].update(order_insensitive_match=None),
            "metrics.delta.order_insensitive_match must be a finite",
        ),
        (lambda d: d.pop("ci"), "missing field ci"),
    ],
)
def test_read_decision_rejects_bad_files(
    local_run: str, tmp_path: Path, edit: Callable[[dict], object], message: str
) -> None:
    document = storage.read_json(f"{local_run}/decision.json")
    assert document["decision"] == "promote"
    edit(document)
    storage.write_json(str(tmp_path / "bad.json"), document)
    with pytest.raises(DecisionFileError, match=message):
        read_decision(str(tmp_path / "bad.json"))


def test_too_few_items_is_keep_champion_end_to_end(
    tmp_path: Path, write_records: Callable[..., list[dict]]
) -> None:
    records = write_records(tmp_path / "t.jsonl", [(f"S {n}", "inform(name[Portal])") for n in range(10)])
    root = str(tmp_path / "run")
    assert run_chain(records, root, tmp_path) == (0, 0, 0)
    small = read_decision(f"{root}/decision.json")
    # 10 items of one meaning group: below the minimum, underpowered, and (6 -> 9 right) not significant
    # either; every reason is recorded.
    assert small["decision"] == "keep_champion"
    assert small["failed_checks"] == ["min_items", "power", "significance", "mcnemar"]
    assert format_slack_summary(small).startswith(f":warning: Keep champion `{CHAMPION}`")


def test_report_cli_in_a_fresh_process_gives_the_same_bytes(local_run: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "report"
    subprocess.run(
        [sys.executable, "-m", "llm_workloads.report", "--evaluation-uri", f"{local_run}/eval",
         "--decision-uri", f"{local_run}/decision.json", "--output-uri", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    in_process = report.build_report(f"{local_run}/eval", f"{local_run}/decision.json")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == in_process


def test_branch_for_follows_only_a_validated_decision(local_run: str) -> None:
    from llm_workloads.airflow_tasks.decision import branch_for

    small = read_decision(f"{local_run}/decision.json")
    assert branch_for(small, "rollout.promote", "alert.keep") == "rollout.promote"
    assert branch_for({**small, "decision": "keep_champion", "promote": False}, "p", "k") == "k"
    with pytest.raises(DecisionFileError):
        branch_for({"decision": "promote"}, "p", "k")  # not read_decision's dict: never default to promote


def test_decision_file_is_byte_identical_when_recomputed(local_run: str, tmp_path: Path) -> None:
    args = ["--champion-results", f"{local_run}/eval/champion.json"]
    args += ["--challenger-results", f"{local_run}/eval/challenger.json", "--margin", "0.05", "--seed", "1"]
    args += ["--max-mde", "0.5"]
    args += [
        "--guard",
        "slot_value_f1=0.01",
        "--guard",
        "parse_failure_rate=0.0",
        "--bootstrap-resamples",
        "2000",
    ]
    assert compare.main([*args, "--decision-uri", str(tmp_path / "again.json")]) == 0
    assert (tmp_path / "again.json").read_bytes() == Path(f"{local_run}/decision.json").read_bytes()
