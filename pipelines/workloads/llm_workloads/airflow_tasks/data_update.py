"""Airflow-side callables of the data-update pipeline.

Rendered DAGs import these inside task bodies (`"llm_workloads.airflow_tasks.data_update:<name>"`).
Every function takes and returns small JSON values (URIs, counts), safe for XCom; credentials stay
in Airflow connections and never appear in arguments, return values or logs. Provider hooks are
imported inside the functions, so importing this module costs nothing at DAG parse time.

The `hook` keyword exists for tests (a fake object with the same methods); DAGs never pass it.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from llm_workloads import storage

log = logging.getLogger(__name__)

SLACK_PAGE_LIMIT = 15  # the documented maximum for non-Marketplace apps since 2025 (Tier 1)


def _since(since_iso: str) -> datetime:
    try:
        moment = datetime.fromisoformat(since_iso.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"since_iso: not an ISO-8601 timestamp: {since_iso!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fetch_zendesk_tickets(
    conn_id: str, since_iso: str, out_uri: str, mr_field_id: int | None = None, hook: Any = None
) -> dict[str, Any]:
    """Tickets updated since `since_iso` (Zendesk incremental export) as source rows at `out_uri`.

    The custom field holding the functional representation is `mr_field_id`, or the environment
    variable ZENDESK_MR_FIELD_ID; without either, every ticket is written aside as unlabelled.
    """
    from llm_workloads.sources import zendesk_ticket_row

    since = _since(since_iso)
    if mr_field_id is None and os.environ.get("ZENDESK_MR_FIELD_ID"):
        raw = os.environ["ZENDESK_MR_FIELD_ID"]
        if not raw.isdigit():
            raise ValueError(f"ZENDESK_MR_FIELD_ID must be a numeric custom field id, got {raw!r}")
        mr_field_id = int(raw)
    if hook is None:
        from airflow.providers.zendesk.hooks.zendesk import ZendeskHook

        hook = ZendeskHook(zendesk_conn_id=conn_id)
    rows = []
    # Incremental export (cursor-paginated by zenpy) instead of search: search results are capped.
    for ticket in hook.get_conn().tickets.incremental(start_time=since):
        data = ticket.to_dict() if hasattr(ticket, "to_dict") else dict(ticket)
        row = zendesk_ticket_row(data, mr_field_id)
        if data.get("status") == "deleted":
            row["problem"] = "ticket deleted in Zendesk"
        rows.append(row)
    rows.sort(key=lambda r: (r["source_id"], r["updated_at"]))
    storage.write_jsonl(out_uri, rows)
    labelled = sum(1 for r in rows if r["label"] and not r["problem"])
    log.info("zendesk: %d tickets since %s, %d labelled -> %s", len(rows), since_iso, labelled, out_uri)
    return {"out_uri": out_uri, "count": len(rows), "labelled": labelled}


def _slack_pages(call: Any, **params: Any) -> list[dict[str, Any]]:
    """All messages of a cursor-paginated Slack method."""
    messages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        response = call(**params, limit=SLACK_PAGE_LIMIT, cursor=cursor)
        messages.extend(response["messages"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return messages


def fetch_slack_messages(
    conn_id: str, channel_ids: list[str], since_iso: str, out_uri: str, hook: Any = None
) -> dict[str, Any]:
    """Messages posted since `since_iso` in the annotation channels, with their `mr:` thread replies.

    Uses conversations.history and conversations.replies with cursor pagination and Slack's
    Retry-After handling. A label added later to a message older than `since_iso` is not seen by
    this window; re-label by posting the example again.
    """
    from llm_workloads.sources import is_slack_user_message, slack_message_row

    if not channel_ids:
        raise ValueError("channel_ids: at least one Slack channel id is required")
    oldest = f"{_since(since_iso).timestamp():.6f}"
    if hook is None:
        from airflow.providers.slack.hooks.slack import SlackHook
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

        hook = SlackHook(
            slack_conn_id=conn_id, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=5)]
        )
    client = hook.client
    rows: list[dict[str, Any]] = []
    skipped = 0
    for channel in sorted(set(channel_ids)):
        for message in _slack_pages(client.conversations_history, channel=channel, oldest=oldest):
            if not is_slack_user_message(message) or (
                message.get("thread_ts") not in (None, message.get("ts"))
            ):
                skipped += 1  # joins, bot posts, and replies broadcast to the channel
                continue
            replies: list[dict[str, Any]] = []
            if int(message.get("reply_count") or 0) > 0:
                replies = _slack_pages(client.conversations_replies, channel=channel, ts=message["ts"])
            rows.append(slack_message_row(channel, message, replies))
    rows.sort(key=lambda r: r["source_id"])
    storage.write_jsonl(out_uri, rows)
    labelled = sum(1 for r in rows if r["label"])
    log.info("slack: %d messages (%d skipped), %d labelled -> %s", len(rows), skipped, labelled, out_uri)
    return {"out_uri": out_uri, "count": len(rows), "labelled": labelled, "skipped": skipped}


def read_s3_jsonl_drop(prefix_uri: str, out_uri: str) -> dict[str, Any]:
    """Every `*.jsonl` object under `prefix_uri` as source rows at `out_uri` (bad lines kept as problems)."""
    from llm_workloads.sources import s3_jsonl_rows

    files = [uri for uri in storage.list_uris(prefix_uri) if uri.endswith(".jsonl")]
    rows: list[dict[str, Any]] = []
    for uri in files:
        rows.extend(s3_jsonl_rows(uri, storage.read_text(uri)))
    storage.write_jsonl(out_uri, rows)
    problems = sum(1 for r in rows if r["problem"])
    log.info("s3 drop: %d files, %d rows (%d unusable) -> %s", len(files), len(rows), problems, out_uri)
    return {"out_uri": out_uri, "count": len(rows), "files": len(files), "problems": problems}


def normalise_join_dedupe(
    input_uris: list[str], dataset_root_uri: str, version: str, split_key: str = "mr_group"
) -> dict[str, Any]:
    """Merge the fetched source rows into dataset version `<dataset_root_uri>/<version>/`."""
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
