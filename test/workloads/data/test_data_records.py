"""The chat record validator and its CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from llm_workloads.records import (
    USER_PREFIX,
    main,
    make_record,
    record_problems,
    system_prompt,
    validate_text,
)


def _line(record: object) -> str:
    return json.dumps(record)


def test_viggo_sample_is_valid_and_prompt_matches_package_data(viggo_lines: list[str]) -> None:
    count, problems = validate_text("\n".join(viggo_lines) + "\n")
    assert (count, problems) == (200, [])
    assert json.loads(viggo_lines[0])["messages"][0]["content"] == system_prompt()


def test_make_record_round_trips_through_the_validator() -> None:
    record = make_record("Is Tetris fun?", "request(name[Tetris])", record_id="s3:x", source="s3")
    assert record_problems(record) == []
    assert record["messages"][1]["content"] == USER_PREFIX + "Is Tetris fun?"


BAD = [
    ("[1, 2]", "$", "expected a JSON object"),
    ("{not json", "$", "invalid JSON"),
    (_line({"messages": []}), "messages", "expected 3 messages"),
    (_line({"msgs": []}), "messages", "missing or not a list"),
    (_line({**make_record("a", "inform(name[x])"), "extra": 1}), "extra", "unexpected key"),
    (_line({**make_record("a", "inform(name[x])"), "id": ""}), "id", "non-empty string"),
    (_line({"messages": [{"role": "user", "content": "x"}] * 3}), "messages[0].role", "expected 'system'"),
    (_line(make_record("a", "inform(name[x]")), "messages[2].content", "missing closing ')'"),
    (_line(make_record("a", "greet(name[x])")), "messages[2].content", "unknown act 'greet'"),
    (_line(make_record("   ", "inform(name[x])")), "messages[1].content", "empty sentence"),
]


@pytest.mark.parametrize(("line", "field", "reason"), BAD)
def test_bad_records_report_line_field_and_reason(line: str, field: str, reason: str) -> None:
    good = _line(make_record("fine", "inform(name[x])"))
    count, problems = validate_text(f"{good}\n{line}\n{good}\n")
    assert count == 3
    assert problems, line
    assert {p.line for p in problems} == {2}
    assert any(p.field == field and reason in p.reason for p in problems), problems


def test_other_system_prompt_is_reported_unless_allowed() -> None:
    record = make_record("a", "inform(name[x])")
    record["messages"][0]["content"] = "You are helpful."
    assert [p.field for p in record_problems(record)] == ["messages[0].content"]
    assert record_problems(record, expected_system_prompt="") == []


def test_blank_line_is_a_problem() -> None:
    good = _line(make_record("a", "inform(name[x])"))
    _, problems = validate_text(f"{good}\n\n{good}\n")
    assert [(p.line, p.reason) for p in problems] == [(2, "blank line")]


def test_cli_exit_codes_and_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(_line(make_record("a", "inform(name[x])")) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_line(make_record("a", "inform(name[x])")) + "\n" + _line(make_record("b", "oops")) + "\n")
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: messages[2].content: functional representation: missing '('" in err
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_cli_as_module(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "llm_workloads.records", "validate", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert f"{bad}:1: messages: missing or not a list" in proc.stderr
