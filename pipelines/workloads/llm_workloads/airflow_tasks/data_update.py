"""Airflow-side callables of the data-update pipeline.

Rendered DAGs import these inside task bodies (`"llm_workloads.airflow_tasks.data_update:<name>"`).

A run: each fetch reads its source from the cursor the dataset lineage holds (`llm_workloads.lineage`; the
first run uses `since_iso`) and writes its rows and its next cursor to the run folder; `plan_build` names the
parent version and picks the engine (local streaming, or Ray Data on Anyscale beyond `ray_min_rows`);
`build_dataset` (or the Ray job) writes the new version if anything changed; `publish_dataset` appends the
lineage entry with the new cursors, last, so a failed run leaves them where they were.
Every function takes and returns small JSON values (URIs, counts), safe for XCom; credentials stay
in Airflow connections and never appear in arguments, return values or logs. Provider hooks are
imported inside the functions, so importing this module costs nothing at DAG parse time.

The `hook` keyword exists for tests (a fake object with the same methods); DAGs never pass it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llm_workloads import storage

log = logging.getLogger(__name__)

SLACK_PAGE_LIMIT = 15  # the documented maximum for non-Marketplace apps since 2025 (Tier 1)
# A label is a thread reply, which can come after the message: each run re-reads this much of every channel
# before its cursor, so a label (or a relabel) posted within a week of its message is seen. Re-read messages
# that did not change are "seen again" and change nothing.
SLACK_RELABEL_LOOKBACK_SECONDS = 7 * 24 * 3600


def _since(since_iso: str) -> datetime:
    try:
        moment = datetime.fromisoformat(since_iso.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"since_iso: not an ISO-8601 timestamp: {since_iso!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cursor_uri(out_uri: str) -> str:
    return re.sub(r"\.jsonl$", "", out_uri) + ".cursor.json"


@contextlib.contextmanager
def _jsonl_out(uri: str) -> Iterator[Any]:
    """Write rows one at a time to a local temp file, then upload it whole: memory stays flat."""
    with tempfile.TemporaryDirectory(prefix="fetch-") as tmp:
        path = Path(tmp) / "rows.jsonl"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            yield lambda row: handle.write(storage.dumps_row(row))
        storage.put_file(uri, path, "application/x-ndjson")


def _lineage_head(dataset_root_uri: str) -> dict[str, Any] | None:
    """The lineage's newest entry; no root (a one-off fetch) reads from the initial window."""
    from llm_workloads import lineage

    return lineage.head(dataset_root_uri) if dataset_root_uri else None


def _generation(head: dict[str, Any] | None) -> int:
    return int(head["generation"]) if head else 0


def fetch_zendesk_tickets(
    conn_id: str,
    since_iso: str,
    out_uri: str,
    dataset_root_uri: str = "",
    mr_field_id: int | None = None,
    hook: Any = None,
) -> dict[str, Any]:
    """Tickets updated since the lineage's cursor (Zendesk cursor-based incremental export), at `out_uri`.

    The first run (no cursor yet) starts at `since_iso`. The custom field holding the functional
    representation is `mr_field_id`, or the environment variable ZENDESK_MR_FIELD_ID; without either, every
    ticket is written
    aside as unlabelled. The next cursor (the export's `after_cursor`) is written beside the rows.
    """
    from llm_workloads import lineage
    from llm_workloads.sources import zendesk_ticket_row

    head = _lineage_head(dataset_root_uri)
    previous = lineage.cursors(head, "zendesk") or {}
    since = _since(since_iso)
    if mr_field_id is None and os.environ.get("ZENDESK_MR_FIELD_ID"):
        raw = os.environ["ZENDESK_MR_FIELD_ID"]
        if not raw.isdigit():
            raise ValueError(f"ZENDESK_MR_FIELD_ID must be a numeric custom field id, got {raw!r}")
        mr_field_id = int(raw)
    if hook is None:
        from airflow.providers.zendesk.hooks.zendesk import ZendeskHook

        hook = ZendeskHook(zendesk_conn_id=conn_id)
    tickets = hook.get_conn().tickets
    after = previous.get("after_cursor")
    # Cursor-based incremental export: it resumes exactly after the last update read, and an updated ticket
    # (a relabel) comes again, later in the stream.
    export = tickets.incremental(cursor=after) if after else tickets.incremental(start_time=since)
    count = labelled = 0
    with _jsonl_out(out_uri) as write:
        for ticket in export:
            data = ticket.to_dict() if hasattr(ticket, "to_dict") else dict(ticket)
            row = zendesk_ticket_row(data, mr_field_id)
            if data.get("status") == "deleted":
                row["problem"] = "ticket deleted in Zendesk"
            write(row)
            count += 1
            labelled += bool(row["label"] and not row["problem"])
    cursor = {"after_cursor": getattr(export, "after_cursor", None) or after}
    if not cursor["after_cursor"]:
        cursor = {"start_time": int(since.timestamp())} if not previous else dict(previous)
    cursor_uri = _cursor_uri(out_uri)
    storage.write_json(cursor_uri, cursor)
    log.info(
        "zendesk: %d tickets from %s, %d labelled -> %s",
        count,
        "the lineage cursor" if after else since_iso,
        labelled,
        out_uri,
    )
    return {
        "out_uri": out_uri,
        "count": count,
        "labelled": labelled,
        "cursor_uri": cursor_uri,
        "lineage_generation": _generation(head),
    }


def _slack_pages(call: Any, **params: Any) -> Iterator[dict[str, Any]]:
    """All messages of a cursor-paginated Slack method, page by page."""
    cursor: str | None = None
    while True:
        response = call(**params, limit=SLACK_PAGE_LIMIT, cursor=cursor)
        yield from response["messages"]
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


def fetch_slack_messages(
    conn_id: str,
    channel_ids: list[str],
    since_iso: str,
    out_uri: str,
    dataset_root_uri: str = "",
    hook: Any = None,
) -> dict[str, Any]:
    """Messages of the annotation channels since each channel's cursor, with their `mr:` thread replies.

    Uses conversations.history (`oldest` = the channel's cursor minus SLACK_RELABEL_LOOKBACK_SECONDS, or
    `since_iso` on the first run) and conversations.replies, with cursor pagination and Slack's Retry-After
    handling. A label added more than the lookback after its message is not seen; post the example again.
    """
    from llm_workloads import lineage
    from llm_workloads.sources import is_slack_user_message, slack_message_row

    if not channel_ids:
        raise ValueError("channel_ids: at least one Slack channel id is required")
    head = _lineage_head(dataset_root_uri)
    previous: dict[str, str] = dict(lineage.cursors(head, "slack") or {})
    first = _since(since_iso).timestamp()
    if hook is None:
        from airflow.providers.slack.hooks.slack import SlackHook
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

        hook = SlackHook(
            slack_conn_id=conn_id, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=5)]
        )
    client = hook.client
    count = labelled = skipped = 0
    cursor: dict[str, str] = {}
    with _jsonl_out(out_uri) as write:
        for channel in sorted(set(channel_ids)):
            newest = previous.get(channel)
            start = float(newest) - SLACK_RELABEL_LOOKBACK_SECONDS if newest else first
            for message in _slack_pages(client.conversations_history, channel=channel, oldest=f"{start:.6f}"):
                ts = str(message.get("ts", ""))
                if ts and (channel not in cursor or float(ts) > float(cursor[channel])):
                    cursor[channel] = ts
                if not is_slack_user_message(message) or (
                    message.get("thread_ts") not in (None, message.get("ts"))
                ):
                    skipped += 1  # joins, bot posts, and replies broadcast to the channel
                    continue
                replies: list[dict[str, Any]] = []
                if int(message.get("reply_count") or 0) > 0:
                    replies = list(
                        _slack_pages(client.conversations_replies, channel=channel, ts=message["ts"])
                    )
                row = slack_message_row(channel, message, replies)
                write(row)
                count += 1
                labelled += bool(row["label"])
            if channel not in cursor and newest:
                cursor[channel] = newest  # nothing in the window: keep where it was
    cursor_uri = _cursor_uri(out_uri)
    storage.write_json(cursor_uri, dict(sorted(cursor.items())))
    log.info("slack: %d messages (%d skipped), %d labelled -> %s", count, skipped, labelled, out_uri)
    return {
        "out_uri": out_uri,
        "count": count,
        "labelled": labelled,
        "skipped": skipped,
        "cursor_uri": cursor_uri,
        "lineage_generation": _generation(head),
    }


def read_s3_jsonl_drop(prefix_uri: str, out_uri: str, dataset_root_uri: str | None = None) -> dict[str, Any]:
    """`*.jsonl` objects under `prefix_uri` not read before (new, or changed: their ETag) as rows at
    `out_uri`.

    Bad lines are kept as rows with a problem. Without `dataset_root_uri` every object is read.
    """
    from llm_workloads import lineage
    from llm_workloads.sources import s3_jsonl_rows

    head = _lineage_head(dataset_root_uri or "")
    seen: dict[str, str] = dict(lineage.cursors(head, "s3") or {})
    objects = [(uri, tag) for uri, tag in storage.list_objects(prefix_uri) if uri.endswith(".jsonl")]
    fresh = [uri for uri, tag in objects if seen.get(uri) != tag]
    count = problems = 0
    with _jsonl_out(out_uri) as write:
        for uri in fresh:
            # one object at a time: a drop file is a team's upload, not the whole history
            for row in s3_jsonl_rows(uri, storage.read_text(uri)):
                write(row)
                count += 1
                problems += bool(row["problem"])
    cursor_uri = _cursor_uri(out_uri)
    storage.write_json(cursor_uri, dict(objects))
    log.info(
        "s3 drop: %d of %d files new or changed, %d rows (%d unusable) -> %s",
        len(fresh),
        len(objects),
        count,
        problems,
        out_uri,
    )
    return {
        "out_uri": out_uri,
        "count": count,
        "files": len(fresh),
        "problems": problems,
        "cursor_uri": cursor_uri,
        "lineage_generation": _generation(head),
    }


SOURCES = ("zendesk", "slack", "s3")


def _champion_dataset(registry_uri: str) -> list[str]:
    """The split files of the champion's training dataset (empty: no champion yet, so every record is new)."""
    from llm_workloads import registry

    if not registry_uri:
        return []
    current = registry.champion(registry_uri)
    train_uri = ((current or {}).get("dataset") or {}).get("train_uri")
    if not train_uri:
        return []
    base = storage.parent_uri(str(train_uri))
    return [storage.join(base, f"{split}.jsonl") for split in ("train", "valid", "test")]


def plan_build(
    input_uris: list[str],
    input_counts: list[int],
    lineage_generations: list[int],
    dataset_root_uri: str,
    version: str,
    plan_uri: str,
    registry_uri: str = "",
    ray_min_rows: int = 200_000,
    split_key: str = "mr_group",
) -> dict[str, Any]:
    """Write the build plan (inputs, parent version, champion dataset, split policy) and pick the engine."""
    from llm_workloads.dataset import SplitPolicy, check_version

    check_version(version)
    if split_key not in ("mr_group", "record_id"):
        raise ValueError(f"split_key must be 'mr_group' or 'record_id', got {split_key!r}")
    if not input_uris or len(input_uris) != len(input_counts):
        raise ValueError("input_uris and input_counts: one count per input is required")
    if len(set(lineage_generations)) > 1:
        raise ValueError(
            "lineage_generations: the fetches read different lineage heads "
            f"({sorted(set(lineage_generations))}); "
            "another run published meanwhile; retry this run"
        )
    head = _lineage_head(dataset_root_uri)
    if _generation(head) != (lineage_generations[0] if lineage_generations else 0):
        raise ValueError(
            f"{dataset_root_uri}/lineage: advanced to generation {_generation(head)} after the fetches read "
            f"{lineage_generations[0]}; retry this run"
        )
    parent = None
    if head and head.get("dataset_uri"):
        manifest = storage.read_json(storage.join(str(head["dataset_uri"]), "manifest.json"))
        parent = {
            "version": manifest["version"],
            "dataset_uri": head["dataset_uri"],
            "data_hash": manifest["data_hash"],
            "split_policy": manifest.get("split_policy"),
            "state_rows": int((manifest.get("changes") or {}).get("state_rows") or 0),
        }
    policy = SplitPolicy(key="record_id" if split_key == "record_id" else "mr_group")
    rows = sum(int(c) for c in input_counts) + (parent["state_rows"] if parent else 0)
    engine = "ray" if rows >= ray_min_rows else "local"
    plan = {
        "inputs": list(input_uris),
        "dataset_root_uri": dataset_root_uri,
        "version": version,
        "parent": parent,
        "lineage_generation": _generation(head),
        "champion_dataset_uris": _champion_dataset(registry_uri),
        "split_policy": policy.to_json(),
        "result_uri": storage.join(storage.parent_uri(plan_uri), "build-result.json"),
        "engine": engine,
        "rows": rows,
    }
    storage.write_json(plan_uri, plan)
    log.info(
        "build plan: %d rows (%s engine), parent %s", rows, engine, parent["version"] if parent else "none"
    )
    return {"plan_uri": plan_uri, "engine": engine, "rows": rows}


def build_dataset(plan_uri: str) -> dict[str, Any]:
    """The local engine: a streamed build on this worker (memory bounded by the sort chunk, not the data)."""
    from llm_workloads.dataset import build_from_plan

    result = build_from_plan(plan_uri, engine="local")
    return {"result_uri": load_result_uri(plan_uri), "changed": result["changed"]}


def load_result_uri(plan_uri: str) -> str:
    return str(storage.read_json(plan_uri)["result_uri"])


def publish_dataset(plan_uri: str, cursor_uris: list[str], run_id: str) -> dict[str, Any]:
    """Append the lineage entry (new head version and cursors), last; returns counts for Slack and the
    gate."""
    from llm_workloads import lineage

    plan = storage.read_json(plan_uri)
    result = storage.read_json(str(plan["result_uri"]))
    if len(cursor_uris) != len(SOURCES):
        raise ValueError(f"cursor_uris: expected one per source ({', '.join(SOURCES)})")
    cursors = {source: storage.read_json(uri) for source, uri in zip(SOURCES, cursor_uris, strict=True)}
    root = str(plan["dataset_root_uri"])
    head = lineage.head(root)
    if (
        head
        and head.get("run") == run_id
        and int(head.get("previous_generation") or 0) == plan["lineage_generation"]
    ):
        written = head  # a retried task whose first attempt already published
    else:
        written = lineage.append(
            root,
            int(plan["lineage_generation"]),
            {
                "run": run_id,
                "version": plan["version"]
                if result["changed"]
                else (plan.get("parent") or {}).get("version"),
                "dataset_uri": result["dataset_uri"],
                "data_hash": result["data_hash"],
                "changed": result["changed"],
                "engine": result["engine"],
                "changes": result["changes"],
                "cursors": cursors,
            },
        )
    counts = result["counts"]
    return {
        "dataset_uri": result["dataset_uri"],
        "changed": bool(result["changed"]),
        "count": counts["train"] + counts["valid"] + counts["test"],
        "added": result["changes"]["added"],
        "replaced": result["changes"]["replaced"],
        "removed": result["changes"]["removed"],
        "new_since_champion": result["new_since_champion"],
        "rejected_count": counts["rejected"],
        "rejected_uri": result["rejected_uri"],
        "data_hash": result["data_hash"],
        "lineage_generation": written["generation"],
    }


def normalise_join_dedupe(
    input_uris: list[str], dataset_root_uri: str, version: str, split_key: str = "mr_group"
) -> dict[str, Any]:
    """Build one version from source rows alone, without a parent (the local stack's seed datasets)."""
    from llm_workloads.dataset import build, check_version, read_source_rows, write_version
    from llm_workloads.splits import DEFAULT_FRACTIONS, DEFAULT_SALT

    check_version(version)
    if split_key not in ("mr_group", "record_id"):
        raise ValueError(f"split_key must be 'mr_group' or 'record_id', got {split_key!r}")
    if not input_uris:
        raise ValueError("input_uris: at least one input is required")
    rows = read_source_rows(input_uris)
    result = build(rows, split_key="record_id" if split_key == "record_id" else "mr_group")
    policy = {"key": split_key, "salt": DEFAULT_SALT, "fractions": dict(DEFAULT_FRACTIONS)}
    manifest = write_version(dataset_root_uri, version, result, list(input_uris), policy)
    base = storage.join(dataset_root_uri, version)
    counts = manifest["counts"]
    return {
        "dataset_uri": base,
        "count": counts["train"] + counts["valid"] + counts["test"],
        "rejected_count": counts["rejected"],
        "rejected_uri": storage.join(base, "rejected.jsonl"),
        "train_uri": storage.join(base, "train.jsonl"),
        "valid_uri": storage.join(base, "valid.jsonl"),
        "test_uri": storage.join(base, "test.jsonl"),
        "data_hash": manifest["data_hash"],
    }
