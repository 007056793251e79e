"""Pure normalisation of Zendesk tickets, Slack messages and S3 JSONL rows into source rows."""

from __future__ import annotations

import json

from llm_workloads.records import make_record
from llm_workloads.sources import (
    iso_utc,
    s3_jsonl_rows,
    slack_label,
    slack_message_row,
    slack_plain_text,
    zendesk_ticket_row,
)

FIELD = 360001


def ticket(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": 42,
        "description": "Is  Tetris\nfun?",
        "updated_at": "2026-11-01T10:00:00Z",
        "url": "https://acme.zendesk.com/api/v2/tickets/42.json",
        "custom_fields": [{"id": 1, "value": "other"}, {"id": FIELD, "value": " request(name[Tetris]) "}],
    }
    base.update(overrides)
    return base


def test_zendesk_labelled_ticket() -> None:
    row = zendesk_ticket_row(ticket(), FIELD)
    assert row == {
        "source": "zendesk",
        "source_id": "42",
        "updated_at": "2026-11-01T10:00:00.000000Z",
        "text": "Is  Tetris\nfun?",
        "label": "request(name[Tetris])",
        "origin": "https://acme.zendesk.com/api/v2/tickets/42.json",
        "problem": None,
    }


def test_zendesk_unlabelled_and_unconfigured() -> None:
    assert zendesk_ticket_row(ticket(custom_fields=[{"id": FIELD, "value": None}]), FIELD)["label"] is None
    assert zendesk_ticket_row(ticket(custom_fields=[]), FIELD)["label"] is None
    unconfigured = zendesk_ticket_row(ticket(), None)
    assert unconfigured["problem"] and "no Zendesk custom field configured" in unconfigured["problem"]
    assert zendesk_ticket_row({"description": "x"}, FIELD)["problem"] == "ticket without an id"


def test_slack_text_and_labels() -> None:
    assert (
        slack_plain_text("see <https://x.io|the site> &amp; <https://y.io> &lt;3")
        == "see the site & https://y.io <3"
    )
    assert slack_label("mr: `inform(name[Tetris])`") == "inform(name[Tetris])"
    assert slack_label("MR:```inform(name[A &amp; B])```") == "inform(name[A & B])"
    assert slack_label("looks like inform to me") is None
    assert slack_label("mr:   ") is None


def test_slack_newest_label_reply_wins() -> None:
    message = {"type": "message", "ts": "1767225600.000100", "text": "Is Tetris fun?", "reply_count": 3}
    replies = [
        message,  # conversations.replies returns the parent first
        {"ts": "1767225700.000000", "text": "mr: request(name[Tetris])"},
        {"ts": "1767225900.000000", "text": "mr: request(name[Tetris], specifier[fun])"},
        {"ts": "1767226000.000000", "text": "thanks!"},
    ]
    row = slack_message_row("C1", message, list(reversed(replies)))
    assert row["source_id"] == "C1:1767225600.000100"
    assert row["label"] == "request(name[Tetris], specifier[fun])"
    assert row["updated_at"] == iso_utc(1767225900.0)
    unlabelled = slack_message_row("C1", message, [message])
    assert unlabelled["label"] is None and unlabelled["updated_at"] == iso_utc("1767225600.000100")


def test_iso_utc() -> None:
    assert iso_utc("2026-01-01T00:00:00+02:00") == "2025-12-31T22:00:00.000000Z"
    assert iso_utc(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_utc("not a date") == "" and iso_utc(None) == ""


def test_s3_rows_keep_bad_lines_as_problems() -> None:
    good = make_record("Is Tetris fun?", "request(name[Tetris])")
    with_id = {**make_record("x", "inform(name[x])"), "id": "mine-1"}
    bad_label = make_record("y", "not an mr")
    text = "\n".join(
        [
            json.dumps(good),
            "",
            "{oops",
            json.dumps({"messages": "x"}),
            json.dumps(with_id),
            json.dumps(bad_label),
        ]
    )
    rows = s3_jsonl_rows("s3://b/drop/a.jsonl", text)
    assert [r["problem"] is None for r in rows] == [True, False, False, True, True]
    assert rows[0]["text"] == "Is Tetris fun?" and rows[0]["label"] == "request(name[Tetris])"
    assert len(rows[0]["source_id"]) == 20  # content hash: the same example uploaded twice is one record
    assert rows[1]["origin"] == "s3://b/drop/a.jsonl:3" and "invalid JSON" in rows[1]["problem"]
    assert "not a chat record" in rows[2]["problem"]
    assert rows[3]["source_id"] == "mine-1"
    assert rows[4]["label"] == "not an mr"  # judged later, like labels from every source
    again = s3_jsonl_rows("s3://b/other/key.jsonl", json.dumps(good))
    assert again[0]["source_id"] == rows[0]["source_id"]
