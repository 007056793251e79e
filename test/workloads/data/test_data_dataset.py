"""Merge/de-duplication rules and the versioned dataset layout (local paths)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from llm_workloads import storage
from llm_workloads.dataset import DatasetError, VersionExistsError, build, check_version, write_version
from llm_workloads.records import validate_text
from llm_workloads.sources import source_row

LABEL = "request(name[Tetris])"


def reasons(rows: list[dict[str, object]]) -> dict[str, str]:
    return {f"{r['id']}|{r['row'].get('updated_at', '')}": str(r["reason"]) for r in build(rows).rejected}  # type: ignore[union-attr]


def kept(rows: list[dict[str, object]]) -> list[str]:
    return sorted(r["id"] for records in build(rows).splits.values() for r in records)


def test_newest_version_of_a_record_wins() -> None:
    old = source_row(
        "zendesk", "1", updated_at="2026-01-01T00:00:00.000000Z", text="Is Tetris fun?", label=None
    )
    new = source_row(
        "zendesk", "1", updated_at="2026-02-01T00:00:00.000000Z", text="Is Tetris fun?", label=LABEL
    )
    result = build([new, old])
    assert kept([old, new]) == ["zendesk:1"]
    assert [r["reason"] for r in result.rejected] == ["superseded by a newer version of zendesk:1"]
    same = build([new, dict(new)])
    assert [r["reason"] for r in same.rejected] == ["exact duplicate of zendesk:1"]


def test_unusable_rows_are_rejected_with_reasons() -> None:
    rows = [
        source_row("slack", "C:1", text="Is Tetris fun?", label=None),
        source_row("slack", "C:2", text="hello", label="inform(name[x]"),
        source_row("slack", "C:3", text="hello", label="greet(name[x])"),
        source_row("slack", "C:4", text="  ", label=LABEL),
        source_row("slack", "C:5", text="x" * 1001, label=LABEL),
        source_row("s3", "k:1", problem="invalid JSON: Expecting value"),
    ]
    got = {r["id"]: r["reason"] for r in build(rows).rejected}
    assert got == {
        "slack:C:1": "unlabelled: no functional representation attached (slack)",
        "slack:C:2": "label does not parse: missing closing ')'",
        "slack:C:3": "label outside the VIGGO vocabulary: unknown act 'greet'",
        "slack:C:4": "empty text",
        "slack:C:5": "text longer than 1000 characters",
        "s3:k:1": "invalid JSON: Expecting value",
    }
    assert build(rows).count == 0


def test_same_sentence_across_sources_dedupes_or_conflicts() -> None:
    a = source_row("zendesk", "7", text="Is Tetris  fun?", label="request(name[Tetris], rating[good])")
    b = source_row("slack", "C:9", text="is tetris fun?", label="request(rating[good], name[Tetris])")
    assert kept([a, b]) == ["slack:C:9"]
    assert {r["id"]: r["reason"] for r in build([a, b]).rejected} == {"zendesk:7": "duplicate of slack:C:9"}
    c = source_row("s3", "h", text="Is Tetris fun?", label="request(name[Tetris], rating[poor])")
    conflict = build([a, b, c])
    assert conflict.count == 0
    assert {r["reason"] for r in conflict.rejected} == {
        "conflicting labels for the same sentence (ids: s3:h, slack:C:9, zendesk:7)"
    }


def test_merge_is_independent_of_input_order() -> None:
    rows = [
        source_row(
            "zendesk", "1", updated_at="2026-01-01T00:00:00Z", text="A game?", label="request(name[A])"
        ),
        source_row(
            "zendesk", "1", updated_at="2026-01-02T00:00:00Z", text="A game!", label="inform(name[A])"
        ),
        source_row("slack", "C:1", text="a game!", label="inform(name[A])"),
        source_row("s3", "x", text="B game", label="inform(name[B])"),
        source_row("s3", "y", text="B game", label="confirm(name[B])"),
        source_row("s3", "z", text="C game", label=None),
    ]
    outputs = {
        (json.dumps(b.splits, sort_keys=True), json.dumps(b.rejected, sort_keys=True))
        for b in (build(list(p)) for p in itertools.permutations(rows))
    }
    assert len(outputs) == 1


def test_viggo_sample_builds_a_valid_version(tmp_path: Path, viggo_lines: list[str]) -> None:
    from llm_workloads.sources import s3_jsonl_rows

    result = build(s3_jsonl_rows("viggo", "\n".join(viggo_lines)))
    manifest = write_version(str(tmp_path / "ds"), "v1", result, ["viggo"], {"key": "mr_group"})
    base = tmp_path / "ds" / "v1"
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [
            "train.jsonl",
            "valid.jsonl",
            "test.jsonl",
            "rejected.jsonl",
            "changes.jsonl",
            "state.jsonl",
            "manifest.json",
        ]
    )
    for name in ("train.jsonl", "valid.jsonl", "test.jsonl"):
        count, problems = validate_text((base / name).read_text())
        assert problems == [] and count == manifest["counts"][name.removesuffix(".jsonl")]
    assert manifest["counts"]["rejected"] == 2  # "Life is Strange is a good role-playing game." x3
    assert manifest["rejected_by_reason"] == {"exact duplicate of": 2}
    on_disk = json.loads((base / "manifest.json").read_text())
    assert on_disk == manifest and on_disk["data_hash"].startswith("sha256:")
    assert not [p for p in (tmp_path / "ds").iterdir() if p.name.startswith(".staging")]


def _version(tmp_path: Path, label: str) -> dict[str, object]:
    result = build([source_row("s3", "a", text="Tetris?", label=label)])
    return write_version(str(tmp_path / "ds"), "v1", result, ["in"], {"key": "mr_group"})


def test_existing_version_is_never_overwritten(tmp_path: Path) -> None:
    first = _version(tmp_path, "request(name[Tetris])")
    before = {p.name: p.read_bytes() for p in (tmp_path / "ds" / "v1").iterdir()}
    assert _version(tmp_path, "request(name[Tetris])") == first  # a retried task: same content, no-op
    with pytest.raises(VersionExistsError, match="already exists with different content"):
        _version(tmp_path, "confirm(name[Tetris])")
    assert {p.name: p.read_bytes() for p in (tmp_path / "ds" / "v1").iterdir()} == before


def test_foreign_directory_without_manifest_is_not_overwritten(tmp_path: Path) -> None:
    leftover = tmp_path / "ds" / "v1"
    leftover.mkdir(parents=True)
    (leftover / "train.jsonl").write_text("someone else's file")
    with pytest.raises(VersionExistsError, match="exists without manifest.json"):
        _version(tmp_path, "request(name[Tetris])")
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["v1"]  # staging cleaned up
    assert (leftover / "train.jsonl").read_text() == "someone else's file"


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    rows = [source_row("s3", str(i), text=f"Game {i}?", label=f"request(name[Game {i}])") for i in range(30)]
    for run in ("a", "b"):
        write_version(str(tmp_path / run), "v1", build(rows), ["in"], {"key": "mr_group"})
    for name in ("train.jsonl", "valid.jsonl", "test.jsonl", "rejected.jsonl", "manifest.json"):
        assert storage.read_bytes(str(tmp_path / "a" / "v1" / name)) == storage.read_bytes(
            str(tmp_path / "b" / "v1" / name)
        )


@pytest.mark.parametrize("version", ["", "../x", "a/b", "-x", "v 1", "x" * 200])
def test_bad_versions(version: str) -> None:
    with pytest.raises(DatasetError, match="version"):
        check_version(version)
