"""Airflow-side data-update callables.

S3 parts run against a real moto server (boto3 through AWS_ENDPOINT_URL). Zendesk and Slack cannot be
reached from this machine, so their fetchers are driven with fake hook objects that have the same
methods the providers' hooks expose (ZendeskHook.get_conn().tickets.incremental, SlackHook.client with
conversations_history / conversations_replies and cursor pagination).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from llm_workloads import storage
from llm_workloads.airflow_tasks import data_update
from llm_workloads.records import validate_text

FIELD = 360001


def without_cursor(result: dict[str, object]) -> dict[str, object]:
    """A fetch's result without its lineage fields (tested in test_dataset_accumulate.py)."""
    return {k: v for k, v in result.items() if k not in ("cursor_uri", "lineage_generation")}


class FakeTicket:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


class FakeZendeskHook:
    def __init__(self, tickets: list[dict[str, Any]]) -> None:
        self.tickets = self
        self._tickets = tickets
        self.calls: list[dict[str, Any]] = []

    def get_conn(self) -> FakeZendeskHook:
        return self

    def incremental(self, **kwargs: Any) -> list[FakeTicket]:
        self.calls.append(kwargs)
        return [FakeTicket(t) for t in self._tickets]


class FakeSlackClient:
    """Serves pages of `page` messages with opaque cursors, like the Web API."""

    def __init__(
        self, history: dict[str, list[dict[str, Any]]], threads: dict[str, list[dict[str, Any]]], page: int
    ) -> None:
        self.history, self.threads, self.page = history, threads, page
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _paged(self, items: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
        start = int(cursor or 0)
        end = start + self.page
        more = end < len(items)
        return {"messages": items[start:end], "response_metadata": {"next_cursor": str(end) if more else ""}}

    def conversations_history(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("history", kwargs))
        return self._paged(self.history[kwargs["channel"]], kwargs.get("cursor"))

    def conversations_replies(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("replies", kwargs))
        return self._paged(self.threads[kwargs["ts"]], kwargs.get("cursor"))


class FakeSlackHook:
    def __init__(self, client: FakeSlackClient) -> None:
        self.client = client


def test_fetch_zendesk_tickets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tickets = [
        {
            "id": 2,
            "description": "Is Tetris fun?",
            "updated_at": "2026-11-02T00:00:00Z",
            "custom_fields": [{"id": FIELD, "value": "request(name[Tetris])"}],
        },
        {
            "id": 1,
            "description": "My order is late",
            "updated_at": "2026-11-01T00:00:00Z",
            "custom_fields": [],
        },
        {
            "id": 3,
            "description": "gone",
            "status": "deleted",
            "custom_fields": [{"id": FIELD, "value": "inform(name[x])"}],
        },
    ]
    hook = FakeZendeskHook(tickets)
    monkeypatch.setenv("ZENDESK_MR_FIELD_ID", str(FIELD))
    out = str(tmp_path / "zendesk.jsonl")
    result = data_update.fetch_zendesk_tickets("zendesk_default", "2026-11-01T00:00:00Z", out, hook=hook)
    assert without_cursor(result) == {"out_uri": out, "count": 3, "labelled": 1}
    assert hook.calls[0]["start_time"].isoformat() == "2026-11-01T00:00:00+00:00"
    rows = storage.read_jsonl(out)
    assert [r["source_id"] for r in rows] == ["2", "1", "3"]  # streamed in export order; the build sorts
    assert rows[2]["problem"] == "ticket deleted in Zendesk"
    json.dumps(result)  # XCom-safe


def test_fetch_zendesk_rejects_bad_field_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENDESK_MR_FIELD_ID", "mr")
    with pytest.raises(ValueError, match="ZENDESK_MR_FIELD_ID"):
        data_update.fetch_zendesk_tickets("z", "2026-01-01", str(tmp_path / "x"), hook=FakeZendeskHook([]))
    with pytest.raises(ValueError, match="since_iso"):
        data_update.fetch_zendesk_tickets(
            "z", "yesterday", str(tmp_path / "x"), mr_field_id=1, hook=FakeZendeskHook([])
        )


def test_fetch_slack_messages_paginates_and_reads_thread_labels(tmp_path: Path) -> None:
    parent = {
        "type": "message",
        "ts": "1767225600.000100",
        "text": "Is Tetris fun?",
        "reply_count": 20,
        "thread_ts": "1767225600.000100",
    }
    replies = [parent] + [{"ts": f"17672257{i:02d}.000000", "text": f"comment {i}"} for i in range(18)]
    replies.append({"ts": "1767225800.000000", "text": "mr: `request(name[Tetris])`"})
    history = [
        parent,
        {"type": "message", "subtype": "channel_join", "ts": "1767225500.000000", "text": "joined"},
        {
            "type": "message",
            "subtype": "thread_broadcast",
            "ts": "1767225650.000000",
            "thread_ts": parent["ts"],
            "text": "x",
        },
    ] + [{"type": "message", "ts": f"17672259{i:02d}.000000", "text": f"question {i}"} for i in range(20)]
    client = FakeSlackClient({"C1": history}, {parent["ts"]: replies}, page=15)
    out = str(tmp_path / "slack.jsonl")
    result = data_update.fetch_slack_messages(
        "slack_api_default", ["C1"], "2026-01-01T00:00:00Z", out, hook=FakeSlackHook(client)
    )
    assert without_cursor(result) == {"out_uri": out, "count": 21, "labelled": 1, "skipped": 2}
    history_calls = [kw for name, kw in client.calls if name == "history"]
    reply_calls = [kw for name, kw in client.calls if name == "replies"]
    assert len(history_calls) == 2 and len(reply_calls) == 2  # 23 and 20 items in pages of 15
    assert all(kw["limit"] == 15 and kw["oldest"] == "1767225600.000000" for kw in history_calls)
    labelled = [r for r in storage.read_jsonl(out) if r["label"]]
    assert (
        labelled[0]["source_id"] == "C1:1767225600.000100" and labelled[0]["label"] == "request(name[Tetris])"
    )
    with pytest.raises(ValueError, match="channel_ids"):
        data_update.fetch_slack_messages("s", [], "2026-01-01", out, hook=FakeSlackHook(client))


def test_s3_drop_to_dataset_version_on_moto(s3_bucket: str, viggo_files: list[Path]) -> None:
    s3 = boto3.client("s3")
    for path in viggo_files:
        s3.put_object(Bucket=s3_bucket, Key=f"drops/2026-11/{path.name}", Body=path.read_bytes())
    s3.put_object(Bucket=s3_bucket, Key="drops/2026-11/notes.txt", Body=b"ignored")
    s3.put_object(Bucket=s3_bucket, Key="drops/2026-11/extra.jsonl", Body=b"{broken\n")
    raw = f"s3://{s3_bucket}/raw/run1/s3.jsonl"
    drop = data_update.read_s3_jsonl_drop(f"s3://{s3_bucket}/drops/2026-11", raw)
    assert without_cursor(drop) == {"out_uri": raw, "count": 201, "files": 3, "problems": 1}

    root = f"s3://{s3_bucket}/datasets/viggo"
    result = data_update.normalise_join_dedupe([raw], root, "2026-11-28")
    assert result["dataset_uri"] == f"{root}/2026-11-28"
    assert result["count"] == 198 and result["rejected_count"] == 3
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="datasets/")["Contents"])
    assert keys == [
        f"datasets/viggo/2026-11-28/{n}"
        for n in (
            "changes.jsonl",
            "manifest.json",
            "rejected.jsonl",
            "state.jsonl",
            "test.jsonl",
            "train.jsonl",
            "valid.jsonl",
        )
    ]
    total = 0
    for split in ("train", "valid", "test"):
        count, problems = validate_text(storage.read_text(result[f"{split}_uri"]))
        assert problems == []
        total += count
    assert total == 198
    rejected = storage.read_jsonl(result["rejected_uri"])
    assert sorted(r["reason"].split(" s3:")[0] for r in rejected) == [
        "exact duplicate of",
        "exact duplicate of",
        "invalid JSON: Expecting property name enclosed in double quotes",
    ]
    json.dumps(result)

    # a retry with the same inputs is a no-op; different content under the same version is refused
    assert data_update.normalise_join_dedupe([raw], root, "2026-11-28") == result
    other = f"s3://{s3_bucket}/raw/run2/s3.jsonl"
    storage.write_jsonl(other, storage.read_jsonl(raw)[:50])
    manifest_before = storage.read_bytes(f"{root}/2026-11-28/manifest.json")
    from llm_workloads.dataset import VersionExistsError

    with pytest.raises(VersionExistsError, match="already exists with different content"):
        data_update.normalise_join_dedupe([other], root, "2026-11-28")
    assert storage.read_bytes(f"{root}/2026-11-28/manifest.json") == manifest_before


def test_s3_unfinished_version_is_completed_only_if_identical(s3_bucket: str, tmp_path: Path) -> None:
    from llm_workloads.dataset import VersionExistsError

    rows = tmp_path / "rows.jsonl"
    storage.write_jsonl(
        str(rows), [{"source": "s3", "source_id": "a", "text": "Tetris?", "label": "request(name[Tetris])"}]
    )
    root = f"s3://{s3_bucket}/ds"
    first = data_update.normalise_join_dedupe([str(rows)], root, "v1")
    s3 = boto3.client("s3")
    s3.delete_object(Bucket=s3_bucket, Key="ds/v1/manifest.json")  # as if the task died before the manifest
    assert data_update.normalise_join_dedupe([str(rows)], root, "v1") == first  # the retry completes it
    s3.delete_object(Bucket=s3_bucket, Key="ds/v1/manifest.json")
    s3.put_object(Bucket=s3_bucket, Key="ds/v1/train.jsonl", Body=b"other content\n")
    with pytest.raises(VersionExistsError, match="unfinished dataset version with different content"):
        data_update.normalise_join_dedupe([str(rows)], root, "v1")
    assert storage.read_bytes(f"{root}/v1/train.jsonl") == b"other content\n"
    assert not storage.exists(f"{root}/v1/manifest.json")


def test_put_if_absent_on_moto_is_create_only(s3_bucket: str) -> None:
    uri = f"s3://{s3_bucket}/x/one.txt"
    storage.put_if_absent(uri, b"first")
    with pytest.raises(storage.AlreadyExistsError):
        storage.put_if_absent(uri, b"second")
    assert storage.read_bytes(uri) == b"first"
    assert storage.exists(uri) and not storage.exists(f"s3://{s3_bucket}/x/two.txt")
    with pytest.raises(storage.StorageError, match="no such object"):
        storage.read_bytes(f"s3://{s3_bucket}/x/two.txt")
    assert storage.prefix_exists(f"s3://{s3_bucket}/x") and not storage.prefix_exists(f"s3://{s3_bucket}/y")


def test_normalise_rejects_bad_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "rows.jsonl"
    bad.write_text(json.dumps({"source_id": "1"}) + "\n")
    from llm_workloads.dataset import DatasetError

    with pytest.raises(DatasetError, match=r"rows.jsonl:1: field 'source' missing"):
        data_update.normalise_join_dedupe([str(bad)], str(tmp_path / "ds"), "v1")
    with pytest.raises(ValueError, match="split_key"):
        data_update.normalise_join_dedupe([str(bad)], str(tmp_path / "ds"), "v1", split_key="random")
    assert not (tmp_path / "ds").exists()


def test_module_import_is_light() -> None:
    code = (
        "import sys, llm_workloads.airflow_tasks.data_update, llm_workloads.finetune, llm_workloads.serve;"
        "heavy = [m for m in ('airflow', 'boto3', 'slack_sdk', 'zenpy', 'ray', 'torch') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
