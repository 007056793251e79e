"""Normalisation of raw data-update inputs (Zendesk tickets, Slack messages, S3 JSONL rows).

Each source is first turned into a *source row*, a flat JSON object every later step
understands:

    {"source": "zendesk" | "slack" | "s3", "source_id": str, "updated_at": ISO-8601 UTC or "",
     "text": str | None, "label": str | None, "origin": str, "problem": str | None}

The record id is `"<source>:<source_id>"`, stable for as long as the source object exists:
Zendesk ticket id, Slack `<channel>:<ts>`, and for S3 rows the row's own `id` or else a hash of
its sentence and label (so the same example uploaded twice is one record).

Labelling policy (a deliberate design decision): a support ticket or Slack message is a training
example only when a human attached a functional representation to it:

* Zendesk: the ticket's custom field holding the representation (its numeric id is configured,
  `ZENDESK_MR_FIELD_ID`); the sentence is the ticket description.
* Slack: a thread reply in the annotation channel whose text starts with `mr:` (the newest such
  reply wins, so an annotator corrects a label by replying again); the sentence is the parent message.

Everything else is kept aside with the reason "unlabelled: ...", never guessed. These functions are
pure: no network, no Airflow, so they are unit-tested directly.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from typing import Any

from llm_workloads.records import USER_PREFIX, record_problems

MAX_TEXT_CHARS = 1000  # a sentence, not a whole ticket thread; longer texts would not fit the context
_SLACK_LABEL = re.compile(r"^\s*mr\s*:\s*(.+?)\s*$", re.IGNORECASE | re.DOTALL)
_SLACK_LINK_WITH_LABEL = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_SLACK_LINK = re.compile(r"<([^<>]+)>")
# Slack message subtypes that are not something a person said in the channel.
_SLACK_SKIP_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "bot_message",
        "tombstone",
        "message_deleted",
        "pinned_item",
        "unpinned_item",
    }
)


def normalise_text(text: str) -> str:
    """Collapse all whitespace (including newlines) to single spaces and strip."""
    return " ".join(text.split())


def content_hash(text: str, label: str) -> str:
    return hashlib.sha256(f"{normalise_text(text)}\x00{label.strip()}".encode()).hexdigest()[:20]


def source_row(
    source: str,
    source_id: str,
    *,
    updated_at: str = "",
    text: str | None = None,
    label: str | None = None,
    origin: str = "",
    problem: str | None = None,
) -> dict[str, Any]:
    return {
        "source": source,
        "source_id": source_id,
        "updated_at": updated_at,
        "text": text,
        "label": label,
        "origin": origin,
        "problem": problem,
    }


def iso_utc(value: str | float | int | None) -> str:
    """ISO-8601 UTC (`YYYY-MM-DDTHH:MM:SSZ`) from an ISO string or a Unix/Slack timestamp; '' if unknown."""
    if value is None or value == "":
        return ""
    try:
        if isinstance(value, int | float) or re.fullmatch(r"\d+(\.\d+)?", str(value)):
            moment = datetime.fromtimestamp(float(value), tz=UTC)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- Zendesk -------------------------------------------------------------------------------------


def zendesk_ticket_row(ticket: dict[str, Any], mr_field_id: int | None) -> dict[str, Any]:
    """One Zendesk ticket (zenpy `Ticket.to_dict()`) as a source row."""
    ticket_id = ticket.get("id")
    if ticket_id is None:
        return source_row("zendesk", "unknown", problem="ticket without an id")
    label: str | None = None
    if mr_field_id is not None:
        for field in ticket.get("custom_fields") or []:
            if isinstance(field, dict) and field.get("id") == mr_field_id:
                value = field.get("value")
                label = value.strip() if isinstance(value, str) and value.strip() else None
    description = ticket.get("description")
    return source_row(
        "zendesk",
        str(ticket_id),
        updated_at=iso_utc(ticket.get("updated_at")),
        text=description if isinstance(description, str) else None,
        label=label,
        origin=str(ticket.get("url") or f"zendesk ticket {ticket_id}"),
        problem=None
        if mr_field_id is not None
        else "unlabelled: no Zendesk custom field configured for functional representations",
    )


# --- Slack ---------------------------------------------------------------------------------------


def slack_plain_text(text: str) -> str:
    """Slack mrkdwn to plain text: links `<url|label>` -> label, `<url>` -> url, entities unescaped."""
    text = _SLACK_LINK_WITH_LABEL.sub(lambda m: m.group(2), text)
    text = _SLACK_LINK.sub(lambda m: m.group(1), text)
    return html.unescape(text)


def slack_label(reply_text: str) -> str | None:
    """The representation in an annotation reply (`mr: act(...)`, optionally in backticks)."""
    match = _SLACK_LABEL.match(slack_plain_text(reply_text))
    if not match:
        return None
    label = match.group(1).strip()
    if label.startswith("```") and label.endswith("```") and len(label) >= 6:
        label = label[3:-3].strip()
    elif label.startswith("`") and label.endswith("`") and len(label) >= 2:
        label = label[1:-1].strip()
    return label or None


def is_slack_user_message(message: dict[str, Any]) -> bool:
    return message.get("type", "message") == "message" and message.get("subtype") not in _SLACK_SKIP_SUBTYPES


def slack_message_row(channel: str, message: dict[str, Any], replies: list[dict[str, Any]]) -> dict[str, Any]:
    """One top-level Slack message and its thread replies as a source row."""
    ts = str(message.get("ts", ""))
    labelled = [
        (float(reply.get("ts", 0) or 0), label)
        for reply in replies
        if reply.get("ts") != ts and (label := slack_label(str(reply.get("text", "")))) is not None
    ]
    labelled.sort()
    label = labelled[-1][1] if labelled else None
    stamps = [float(ts or 0)]
    edited = message.get("edited")
    if isinstance(edited, dict) and edited.get("ts"):
        stamps.append(float(edited["ts"]))
    if labelled:
        stamps.append(labelled[-1][0])
    text = message.get("text")
    return source_row(
        "slack",
        f"{channel}:{ts}",
        updated_at=iso_utc(max(stamps)),
        text=slack_plain_text(text) if isinstance(text, str) else None,
        label=label,
        origin=f"slack {channel} {ts}",
    )


# --- S3 JSONL drops ------------------------------------------------------------------------------


def s3_jsonl_rows(uri: str, text: str) -> list[dict[str, Any]]:
    """Source rows for every line of one dropped JSONL object (chat records, any system prompt)."""
    import json

    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{uri}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append(source_row("s3", origin, origin=origin, problem=f"invalid JSON: {error.msg}"))
            continue
        problems = [
            p
            for p in record_problems(value, number, expected_system_prompt="")
            if not p.field.startswith("messages[2]")  # the label is judged later, like every source's
        ]
        if problems:
            reason = "; ".join(f"{p.field}: {p.reason}" for p in problems)
            rows.append(source_row("s3", origin, origin=origin, problem=f"not a chat record: {reason}"))
            continue
        user = value["messages"][1]["content"]
        sentence = user[len(USER_PREFIX) :]
        label = value["messages"][2]["content"]
        own_id = value.get("id")
        source_id = own_id if isinstance(own_id, str) and own_id else content_hash(sentence, label)
        rows.append(source_row("s3", source_id, text=sentence, label=label, origin=origin))
    return rows
