"""The chat record format and its validator.

A record is one JSON object per line:

    {"id": "<stable id>", "source": "<zendesk|slack|s3>",           # optional, added by the data update
     "messages": [{"role": "system", "content": <VIGGO system prompt>},
                  {"role": "user", "content": "Here is the target sentence:\\n<utterance>"},
                  {"role": "assistant", "content": "<act>(<slot>[<value>], ...)"}]}

`python -m llm_workloads.records validate FILE [FILE...]` prints one line per bad record
(`FILE:LINE: field: reason`) and exits 1 when any record is bad.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from llm_workloads.mr import ParseError, parse_mr, vocabulary_problems

USER_PREFIX = "Here is the target sentence:\n"
OPTIONAL_KEYS = frozenset({"id", "source"})
ROLES = ("system", "user", "assistant")


@cache
def system_prompt() -> str:
    """The VIGGO system prompt, identical in every seed record (kept as package data)."""
    return resources.files("llm_workloads").joinpath("data/viggo_system_prompt.txt").read_text("utf-8")


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    reason: str

    def format(self, file: str) -> str:
        return f"{file}:{self.line}: {self.field}: {self.reason}"


def make_record(
    utterance: str, mr_text: str, record_id: str | None = None, source: str | None = None
) -> dict[str, Any]:
    """Build a chat record in the canonical form (canonical system prompt and user prefix)."""
    record: dict[str, Any] = {}
    if record_id is not None:
        record["id"] = record_id
    if source is not None:
        record["source"] = source
    record["messages"] = [
        {"role": "system", "content": system_prompt()},
        {"role": "user", "content": USER_PREFIX + utterance},
        {"role": "assistant", "content": mr_text},
    ]
    return record


def utterance_of(record: dict[str, Any]) -> str:
    """The user sentence without the fixed prefix (the record must be valid)."""
    content: str = record["messages"][1]["content"]
    return content[len(USER_PREFIX) :] if content.startswith(USER_PREFIX) else content


def target_of(record: dict[str, Any]) -> str:
    text: str = record["messages"][2]["content"]
    return text


def record_problems(record: Any, line: int = 0, expected_system_prompt: str | None = None) -> list[Problem]:
    """Every problem with one parsed JSON value; empty when the record is valid."""
    if not isinstance(record, dict):
        return [Problem(line, "$", f"expected a JSON object, got {type(record).__name__}")]
    problems: list[Problem] = []
    for key in sorted(set(record) - OPTIONAL_KEYS - {"messages"}):
        problems.append(Problem(line, key, "unexpected key"))
    for key in sorted(OPTIONAL_KEYS & set(record)):
        if not isinstance(record[key], str) or not record[key]:
            problems.append(Problem(line, key, "must be a non-empty string"))
    messages = record.get("messages")
    if not isinstance(messages, list):
        problems.append(Problem(line, "messages", "missing or not a list"))
        return problems
    if len(messages) != 3:
        problems.append(
            Problem(line, "messages", f"expected 3 messages (system, user, assistant), got {len(messages)}")
        )
        return problems
    for index, (message, role) in enumerate(zip(messages, ROLES, strict=True)):
        field = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(Problem(line, field, "not an object"))
            continue
        extra = sorted(set(message) - {"role", "content"})
        if extra:
            problems.append(Problem(line, field, f"unexpected keys {extra}"))
        if message.get("role") != role:
            problems.append(Problem(line, f"{field}.role", f"expected {role!r}, got {message.get('role')!r}"))
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            problems.append(Problem(line, f"{field}.content", "missing or empty"))
    if problems:
        return problems
    system, user, assistant = (m["content"] for m in messages)
    expected = system_prompt() if expected_system_prompt is None else expected_system_prompt
    if expected and system != expected:
        problems.append(
            Problem(line, "messages[0].content", "system prompt differs from the canonical prompt")
        )
    if not user.startswith(USER_PREFIX):
        problems.append(Problem(line, "messages[1].content", f"must start with {USER_PREFIX!r}"))
    elif not user[len(USER_PREFIX) :].strip():
        problems.append(Problem(line, "messages[1].content", "empty sentence after the prefix"))
    parsed = parse_mr(assistant)
    if isinstance(parsed, ParseError):
        problems.append(Problem(line, "messages[2].content", f"functional representation: {parsed.reason}"))
    else:
        for vocab in vocabulary_problems(parsed.value):
            problems.append(Problem(line, "messages[2].content", vocab))
    return problems


def validate_text(text: str, expected_system_prompt: str | None = None) -> tuple[int, list[Problem]]:
    """Validate JSONL text; returns (number of records, problems). Blank lines are problems too."""
    problems: list[Problem] = []
    count = 0
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        count += 1
        if not line.strip():
            problems.append(Problem(number, "$", "blank line"))
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(Problem(number, "$", f"invalid JSON: {error.msg} at column {error.colno}"))
            continue
        problems.extend(record_problems(value, number, expected_system_prompt))
    return count, problems


def validate_uri(uri: str, expected_system_prompt: str | None = None) -> tuple[int, list[Problem]]:
    from llm_workloads import storage

    return validate_text(storage.read_text(uri), expected_system_prompt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_workloads.records")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="validate chat-format JSONL files")
    validate.add_argument("files", nargs="+", metavar="FILE", help="local path or s3:// URI")
    validate.add_argument(
        "--any-system-prompt",
        action="store_true",
        help="accept any non-empty system prompt instead of requiring the canonical VIGGO one",
    )
    args = parser.parse_args(argv)
    from llm_workloads.storage import StorageError

    bad = 0
    for file in args.files:
        try:
            count, problems = validate_uri(file, "" if args.any_system_prompt else None)
        except StorageError as error:
            print(f"{file}: {error}", file=sys.stderr)
            bad += 1
            continue
        for problem in problems:
            print(problem.format(file), file=sys.stderr)
        bad_lines = len({p.line for p in problems})
        bad += bad_lines
        print(f"{file}: {count} records, {bad_lines} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
