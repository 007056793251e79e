"""Versions that accumulate: plan -> build -> publish over growing sources, read back from the files.

The data-update task functions run for real on local paths (the same code the DAG runs); every assertion
reads the published files (manifest, splits, changes, state, lineage), not the functions' return values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llm_workloads import lineage, storage
from llm_workloads.airflow_tasks import data_update
from llm_workloads.dataset import SplitPolicy, build, build_from_plan
from llm_workloads.mr import parse_mr
from llm_workloads.sources import source_row
from llm_workloads.splits import group_key

GAMES = [f"Game {i}" for i in range(40)]


def row(
    i: int, label: str | None = None, updated: str = "2026-11-01T00:00:00.000000Z", source: str = "s3"
) -> dict[str, Any]:
    name = GAMES[i % len(GAMES)]
    return source_row(
        source,
        f"r{i:04d}",
        updated_at=updated,
        text=f"Is {name} number {i} worth playing?",
        label=label or f"request(name[{name}], specifier[number {i}])",
    )


class Loop:
    """One dataset root driven like the DAG: fetch output files -> plan -> build -> publish."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = str(tmp / "datasets")
        self.runs = 0

    def run(self, rows: list[dict[str, Any]], champion_uris: list[str] | None = None) -> dict[str, Any]:
        self.runs += 1
        run_dir = self.tmp / "runs" / f"run{self.runs}"
        source = str(run_dir / "sources" / "s3.jsonl")
        storage.write_jsonl(source, rows)
        cursors = []
        for name in data_update.SOURCES:
            uri = str(run_dir / "sources" / f"{name}.cursor.json")
            storage.write_json(uri, {"run": self.runs})
            cursors.append(uri)
        head = lineage.head(self.root)
        generation = int(head["generation"]) if head else 0
        plan_uri = str(run_dir / "build-plan.json")
        data_update.plan_build([source], [len(rows)], [generation], self.root, f"v{self.runs}", plan_uri)
        if champion_uris is not None:
            plan = storage.read_json(plan_uri)
            plan["champion_dataset_uris"] = champion_uris
            storage.write_json(plan_uri, plan)
        data_update.build_dataset(plan_uri)
        return data_update.publish_dataset(plan_uri, cursors, f"run{self.runs}")

    def records(self, version: str) -> dict[str, tuple[str, str]]:
        out = {}
        for split in ("train", "valid", "test"):
            for record in storage.read_jsonl(f"{self.root}/{version}/{split}.jsonl"):
                out[record["id"]] = (split, record["messages"][2]["content"])
        return out


def test_three_runs_accumulate_a_rerun_changes_nothing_and_a_relabel_replaces(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    first = [row(i) for i in range(30)]
    loop.run(first)
    v1 = loop.records("v1")
    assert len(v1) == 30
    # run 2: the sources now only hold new rows (the old ones fell out of the window); they are kept
    loop.run([row(i) for i in range(30, 50)])
    # run 3: more new rows, and a relabel of record 3 (newer updated_at)
    relabel = row(
        3, label="request(name[Game 3], specifier[a better number])", updated="2026-11-20T00:00:00.000000Z"
    )
    loop.run([row(i) for i in range(50, 60)] + [relabel])
    v3 = loop.records("v3")
    assert set(v1) <= set(v3) and len(v3) == 60
    assert v3["s3:r0003"][1] == "request(name[Game 3], specifier[a better number])"
    assert all(v3[rid][0] == v1[rid][0] for rid in v1 if rid != "s3:r0003")  # nobody changed split
    manifest = storage.read_json(f"{loop.root}/v3/manifest.json")
    assert manifest["parent"]["version"] == "v2"
    assert {k: manifest["changes"][k] for k in ("added", "replaced", "removed")} == {
        "added": 10,
        "replaced": 1,
        "removed": 0,
    }
    changes = storage.read_jsonl(f"{loop.root}/v3/changes.jsonl")
    assert [c for c in changes if c["change"] == "replaced"] == [
        {
            "id": "s3:r0003",
            "change": "replaced",
            "label": "request(name[Game 3], specifier[a better number])",
            "previous": "request(name[Game 3], specifier[number 3])",
        }
    ]
    # run 4 re-reads everything it read before (an overlapping window): no new version, the lineage moves on
    before = sorted(p.name for p in Path(loop.root).iterdir())
    again = loop.run(first + [relabel])
    assert not again["changed"] and again["dataset_uri"] == f"{loop.root}/v3"
    assert sorted(p.name for p in Path(loop.root).iterdir()) == before  # no v4
    head = lineage.head(loop.root)
    assert head is not None and head["generation"] == 4 and head["version"] == "v3" and not head["changed"]
    assert head["cursors"]["s3"] == {"run": 4}
    # a relabel back to an unusable label removes the record, and says so
    unlabelled = dict(row(5), label=None, updated_at="2026-11-21T00:00:00.000000Z")
    loop.run([unlabelled])
    v5 = loop.records("v5")
    assert "s3:r0005" not in v5 and len(v5) == 59
    assert storage.read_jsonl(f"{loop.root}/v5/changes.jsonl")[0]["change"] == "removed"


def test_the_gate_counts_labelled_records_new_since_the_champions_dataset(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.run([row(i) for i in range(30)])
    champion = [f"{loop.root}/v1/{s}.jsonl" for s in ("train", "valid", "test")]
    second = loop.run([row(i) for i in range(30, 42)], champion_uris=champion)
    assert second["new_since_champion"] == 12
    relabel = row(0, label="request(name[Game 0], specifier[another])", updated="2026-11-20T00:00:00.000000Z")
    third = loop.run([relabel], champion_uris=champion)
    assert third["new_since_champion"] == 13  # the relabelled example is new labelled data too
    # without a champion, every record is new
    assert loop.run([row(99)])["new_since_champion"] == 43
    manifest = storage.read_json(f"{loop.root}/v4/manifest.json")
    assert manifest["new_since_champion"]["records"] == 43


def test_a_failed_run_leaves_the_cursors_where_they_were(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.run([row(i) for i in range(5)])
    head = lineage.head(loop.root)
    plan_uri = str(tmp_path / "runs" / "broken" / "build-plan.json")
    bad = tmp_path / "runs" / "broken" / "s3.jsonl"
    storage.write_jsonl(str(bad), [{"source_id": "x"}])
    data_update.plan_build([str(bad)], [1], [1], loop.root, "vbroken", plan_uri)
    with pytest.raises(Exception, match="field 'source' missing"):
        data_update.build_dataset(plan_uri)
    assert lineage.head(loop.root) == head
    assert not (Path(loop.root) / "vbroken").exists()


def test_fetches_that_read_different_lineage_heads_are_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.run([row(1)])
    source = str(tmp_path / "s.jsonl")
    storage.write_jsonl(source, [row(2)])
    with pytest.raises(ValueError, match="different lineage heads"):
        data_update.plan_build([source, source], [1, 1], [0, 1], loop.root, "v9", str(tmp_path / "p.json"))
    with pytest.raises(ValueError, match="advanced to generation 1"):
        data_update.plan_build([source], [1], [0], loop.root, "v9", str(tmp_path / "p.json"))


def test_meaning_group_key_is_normalised() -> None:
    def key(text: str) -> str:
        parsed = parse_mr(text)
        assert not hasattr(parsed, "reason"), text
        return group_key(parsed.value)  # type: ignore[union-attr]

    assert (
        key("inform(name[Portal 2], rating[Good], genres[puzzle, shooter])")
        == key("inform(genres[Shooter,  Puzzle], rating[good], name[portal  2])")
        != key("inform(name[Portal 2], rating[poor], genres[puzzle, shooter])")
    )
    # paraphrases whose labels differ only in case share a split
    rows = [
        source_row("s3", "a", text="Portal 2 is good.", label="give_opinion(name[Portal 2], rating[good])"),
        source_row("s3", "b", text="I like Portal 2.", label="give_opinion(name[Portal 2], rating[Good])"),
    ]
    splits = {r["id"]: s for s, recs in build(rows).splits.items() for r in recs}
    assert len(splits) == 2 and len(set(splits.values())) == 1


def _plan(tmp: Path, inputs: list[str], parent: dict[str, Any] | None, name: str) -> str:
    plan_uri = str(tmp / name / "plan.json")
    storage.write_json(
        plan_uri,
        {
            "inputs": inputs,
            "dataset_root_uri": str(tmp / name / "ds"),
            "version": "v2",
            "parent": parent,
            "champion_dataset_uris": [],
            "split_policy": SplitPolicy().to_json(),
            "result_uri": str(tmp / name / "result.json"),
        },
    )
    return plan_uri


def test_ray_engine_writes_byte_identical_files(tmp_path: Path) -> None:
    pytest.importorskip("ray.data", reason="ray[data] is not installed")
    loop = Loop(tmp_path / "parent")
    loop.run(
        [row(i) for i in range(40)]
        + [row(7, label="request(name[Game 7], specifier[number 8])", updated="2026-10-01T00:00:00.000000Z")]
    )
    head = lineage.head(loop.root)
    assert head is not None
    manifest = storage.read_json(f"{loop.root}/v1/manifest.json")
    parent = {
        "version": "v1",
        "dataset_uri": head["dataset_uri"],
        "data_hash": manifest["data_hash"],
        "split_policy": manifest["split_policy"],
    }
    new = tmp_path / "new.jsonl"
    messy = [row(i) for i in range(35, 70)] + [
        row(3, label="request(name[Game 3], specifier[renamed])", updated="2026-11-30T00:00:00.000000Z"),
        dict(row(4), label=None, updated_at="2026-11-30T00:00:00.000000Z"),
        row(5, label="request(name[Game 5], specifier[older])", updated="2020-01-01T00:00:00.000000Z"),
        source_row(
            "slack",
            "C:1",
            text="Is Game 1 number 1 worth playing?",
            label="request(name[Game 1], specifier[other])",
        ),
        source_row("slack", "C:2", text="hello", label="not a label("),
        source_row(
            "s3",
            "dup",
            text="Is Game 9 number 9 worth playing?",
            label="request(name[Game 9], specifier[number 9])",
        ),
        row(60),
    ]
    storage.write_jsonl(str(new), messy)
    local = build_from_plan(_plan(tmp_path, [str(new)], parent, "local"), engine="local")
    ray = build_from_plan(_plan(tmp_path, [str(new)], parent, "ray"), engine="ray")
    assert local["changed"] and ray["changed"]
    names = sorted(p.name for p in (tmp_path / "local" / "ds" / "v2").iterdir())
    assert names == [
        "changes.jsonl",
        "manifest.json",
        "rejected.jsonl",
        "state.jsonl",
        "test.jsonl",
        "train.jsonl",
        "valid.jsonl",
    ]
    for name in names:
        a = (tmp_path / "local" / "ds" / "v2" / name).read_bytes()
        b = (tmp_path / "ray" / "ds" / "v2" / name).read_bytes()
        if name == "manifest.json":
            a, b = (
                json.dumps({k: v for k, v in json.loads(x).items() if k != "inputs"}).encode() for x in (a, b)
            )
        assert a == b, name
    reasons = [
        r["reason"] for r in storage.read_jsonl(str(tmp_path / "ray" / "ds" / "v2" / "rejected.jsonl"))
    ]
    for expected in (
        "conflicting labels for the same sentence",
        "label does not parse",
        "unlabelled",
        "superseded",
    ):
        assert any(r.startswith(expected) for r in reasons), (expected, reasons)
