"""The Slack and Zendesk sinks driven by the real clients: slack_sdk's WebClient, the Slack provider's
SlackHook and SlackAPIPostOperator, the Zendesk provider's ZendeskHook with zenpy, and the data-update
callables that read the sources. Outcomes are read back from the sinks' admin endpoints."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest
from llm_workloads import storage
from llm_workloads.airflow_tasks import data_update

if TYPE_CHECKING:
    from conftest import Sinks

REPO = Path(__file__).resolve().parents[2]
SCRIPTED = json.loads((REPO / "local" / "sinks" / "fixtures" / "support-desk.json").read_text())
ANNOTATIONS = "C0VIGGO0001"


def without_cursor(result: dict[str, object]) -> dict[str, object]:
    """A fetch's result without its lineage fields (tested in test_dataset_accumulate.py)."""
    return {k: v for k, v in result.items() if k not in ("cursor_uri", "lineage_generation")}


def admin(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def since(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


@pytest.fixture
def slack_conn(sinks: Sinks, monkeypatch: pytest.MonkeyPatch) -> str:
    connection = {
        "conn_type": "slack",
        "password": sinks.slack_token,
        "extra": {"base_url": f"{sinks.slack_url}/api/"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_LOCAL", json.dumps(connection))
    return "slack_local"


@pytest.fixture
def zendesk_conn(sinks: Sinks, monkeypatch: pytest.MonkeyPatch) -> str:
    # What the local stack sets: an ordinary Zendesk host, zenpy redirected to the sink by its own switches.
    connection = {
        "conn_type": "zendesk",
        "host": "localstack.zendesk.com",
        "login": sinks.zendesk_email,
        "password": sinks.zendesk_token,
        "extra": {"use_token": True},
    }
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_LOCAL", json.dumps(connection))
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", urlparse(sinks.zendesk_url).netloc)
    return "zendesk_local"


def test_slack_source_reads_the_scripted_history_through_the_real_hook(
    slack_conn: str, tmp_path: Path
) -> None:
    scripted = SCRIPTED["slack"]["channels"][ANNOTATIONS]["messages"]
    users = [m for m in scripted if "subtype" not in m and m["user"].startswith("U")]
    with_label = [m for m in users if any(r["text"].startswith("mr:") for r in m.get("replies", []))]
    out = str(tmp_path / "slack.jsonl")
    result = data_update.fetch_slack_messages(slack_conn, [ANNOTATIONS], since(24 * 7), out)
    assert without_cursor(result) == {
        "out_uri": out,
        "count": len(users),
        "labelled": len(with_label),
        "skipped": len(scripted) - len(users),
    }
    rows = {r["text"]: r for r in storage.read_jsonl(out)}
    # Entities unescaped, and the newest `mr:` reply of a thread wins (an annotator's correction).
    assert rows["What do you think of Dirt: Showdown? I found it & its driving a bit dull."]["label"] == (
        "give_opinion(name[Dirt: Showdown], rating[poor])"
    )
    assert rows["Have you played any multiplayer shooters on the PlayStation lately?"]["label"] == (
        "request(genres[shooter], has_multiplayer[yes], platforms[PlayStation])"
    )
    # The window is honoured: only messages younger than 10 hours.
    recent = data_update.fetch_slack_messages(slack_conn, [ANNOTATIONS], since(10), str(tmp_path / "r.jsonl"))
    assert recent["count"] == sum(1 for m in users if m["ageHours"] < 10)


def test_history_pages_and_errors_with_the_real_web_client(sinks: Sinks) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=sinks.slack_token, base_url=f"{sinks.slack_url}/api/")
    first = client.conversations_history(channel=ANNOTATIONS, limit=4)
    assert len(first["messages"]) == 4 and first["has_more"] is True
    stamps = [m["ts"] for m in first["messages"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first, as Slack answers
    rest = client.conversations_history(
        channel=ANNOTATIONS, limit=100, cursor=first["response_metadata"]["next_cursor"]
    )
    assert len(first["messages"]) + len(rest["messages"]) == len(
        SCRIPTED["slack"]["channels"][ANNOTATIONS]["messages"]
    )
    assert rest["has_more"] is False and rest["response_metadata"]["next_cursor"] == ""
    with pytest.raises(SlackApiError) as unknown:
        client.conversations_history(channel="C0NOSUCH1")
    assert unknown.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as bad_token:
        WebClient(token="xoxb-wrong", base_url=f"{sinks.slack_url}/api/").auth_test()
    assert bad_token.value.response["error"] == "invalid_auth"


def test_the_slack_operator_posts_and_the_sink_keeps_the_message(slack_conn: str, sinks: Sinks) -> None:
    from airflow.providers.slack.hooks.slack import SlackHook
    from airflow.providers.slack.operators.slack import SlackAPIPostOperator

    text = f"Training data refreshed: {datetime.now(UTC).isoformat()}"
    SlackAPIPostOperator(task_id="notify", slack_conn_id=slack_conn, channel="#ai-team", text=text).execute(
        {}
    )
    status, body = admin(f"{sinks.slack_url}/_sink/messages")
    assert status == 200
    posted = [m for m in body["messages"] if m["text"] == text]
    assert [(m["channel"], m["channel_name"]) for m in posted] == [("C0AITEAM01", "ai-team")]
    # As on Slack, the post is in the channel's history (as a bot message the data update skips).
    history = SlackHook(slack_conn_id=slack_conn).client.conversations_history(channel="C0AITEAM01")
    assert [(m["text"], m["bot_id"]) for m in history["messages"] if m["ts"] == posted[0]["ts"]] == [
        (text, "B0LOCALSINK")
    ]
    assert SlackHook(slack_conn_id=slack_conn).test_connection()[0] is True
    with pytest.raises(Exception, match="channel_not_found"):
        SlackAPIPostOperator(task_id="x", slack_conn_id=slack_conn, channel="#nowhere", text="lost").execute(
            {}
        )
    _, calls = admin(f"{sinks.slack_url}/_sink/calls")
    assert all("token" not in c["params"] for c in calls["calls"])
    assert sinks.slack_token not in json.dumps(calls)


def test_slack_script_can_be_replaced_and_bad_scripts_are_refused(
    sinks: Sinks, slack_conn: str, tmp_path: Path
) -> None:
    status, body = admin(f"{sinks.slack_url}/_sink/script", "PUT", {"channels": {"bad id": {"name": "x"}}})
    assert status == 400 and "PUT /_sink/script: channels.bad id" in body["error"]
    replacement = {
        "channels": {
            **SCRIPTED["slack"]["channels"],
            ANNOTATIONS: {
                "name": "viggo-annotations",
                "messages": [
                    {
                        "user": "U0NEW0001",
                        "text": "Is Minecraft on Mac?",
                        "ageHours": 1,
                        "replies": [
                            {
                                "user": "U0ANNOTAT1",
                                "text": "mr: verify_attribute(name[Minecraft], has_mac_release[yes])",
                                "ageHours": 0.5,
                            }
                        ],
                    }
                ],
            },
        }
    }
    try:
        assert admin(f"{sinks.slack_url}/_sink/script", "PUT", replacement)[0] == 200
        out = str(tmp_path / "slack.jsonl")
        assert data_update.fetch_slack_messages(slack_conn, [ANNOTATIONS], since(24), out)["labelled"] == 1
    finally:
        admin(f"{sinks.slack_url}/_sink/script", "PUT", SCRIPTED["slack"])


def test_zendesk_source_reads_the_scripted_tickets_through_the_real_hook(
    zendesk_conn: str, tmp_path: Path
) -> None:
    tickets = SCRIPTED["zendesk"]["tickets"]
    out = str(tmp_path / "zendesk.jsonl")
    result = data_update.fetch_zendesk_tickets(
        zendesk_conn, since(24 * 7), out, mr_field_id=SCRIPTED["zendesk"]["mrFieldId"]
    )
    labelled = [t for t in tickets if t.get("mr") and t.get("status") != "deleted"]
    assert without_cursor(result) == {"out_uri": out, "count": len(tickets), "labelled": len(labelled)}
    rows = {r["source_id"]: r for r in storage.read_jsonl(out)}
    assert rows["101"]["label"] == tickets[0]["mr"] and rows["104"]["label"] is None
    assert rows["108"]["problem"] == "ticket deleted in Zendesk"
    recent = data_update.fetch_zendesk_tickets(
        zendesk_conn, since(20), str(tmp_path / "r.jsonl"), mr_field_id=360001
    )
    assert recent["count"] == sum(1 for t in tickets if t["ageHours"] <= 20)


def test_zendesk_export_pages_and_refuses_bad_credentials(
    zendesk_conn: str, sinks: Sinks, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.zendesk.hooks.zendesk import ZendeskHook
    from zenpy.lib.exception import APIException

    client = ZendeskHook(zendesk_conn_id=zendesk_conn).get_conn()
    start = datetime.now(UTC) - timedelta(days=7)
    _, before = admin(f"{sinks.zendesk_url}/_sink/calls")
    ids = [t.id for t in client.tickets.incremental(start_time=start)]
    scripted = sorted(SCRIPTED["zendesk"]["tickets"], key=lambda t: (-t["ageHours"], t["id"]))
    assert ids == [t["id"] for t in scripted]  # oldest update first, across pages of 4 (fixture)
    _, after = admin(f"{sinks.zendesk_url}/_sink/calls")
    exports = after["calls"][len(before["calls"]) :]
    assert [sorted(c["query"]) for c in exports] == [["start_time"]] + [["cursor"]] * 2
    monkeypatch.setenv(
        "AIRFLOW_CONN_ZENDESK_WRONG",
        json.dumps(
            {
                "conn_type": "zendesk",
                "host": "localstack.zendesk.com",
                "login": sinks.zendesk_email,
                "password": "wrong",
                "extra": {"use_token": True},
            }
        ),
    )
    with pytest.raises(APIException, match="authenticate"):
        list(ZendeskHook(zendesk_conn_id="zendesk_wrong").get_conn().tickets.incremental(start_time=start))


def test_the_data_update_builds_a_version_from_both_sinks_with_bad_records_kept_aside(
    slack_conn: str, zendesk_conn: str, tmp_path: Path
) -> None:
    window = since(24 * 7)
    slack = data_update.fetch_slack_messages(slack_conn, [ANNOTATIONS], window, str(tmp_path / "s.jsonl"))
    zendesk = data_update.fetch_zendesk_tickets(
        zendesk_conn, window, str(tmp_path / "z.jsonl"), mr_field_id=360001
    )
    built = data_update.normalise_join_dedupe(
        [slack["out_uri"], zendesk["out_uri"]], str(tmp_path / "ds"), "v1"
    )
    rejected = storage.read_jsonl(built["rejected_uri"])
    reasons = " | ".join(r["reason"] for r in rejected)
    for expected in (
        "label does not parse",
        "outside the VIGGO vocabulary",
        "unlabelled",
        "deleted",
        "duplicate",
    ):
        assert expected in reasons
    assert built["count"] + built["rejected_count"] == slack["count"] + zendesk["count"]


def test_zendesk_and_slack_resume_from_the_lineage_cursors_and_a_relabel_comes_again(
    zendesk_conn: str, slack_conn: str, sinks: Sinks, tmp_path: Path
) -> None:
    """Run 1 reads everything; run 2 (cursors from the lineage) reads only the ticket updated since."""
    from llm_workloads import lineage

    root = str(tmp_path / "datasets")
    field = SCRIPTED["zendesk"]["mrFieldId"]
    first = data_update.fetch_zendesk_tickets(
        zendesk_conn, since(24 * 7), str(tmp_path / "1" / "z.jsonl"), root, mr_field_id=field
    )
    slack = data_update.fetch_slack_messages(
        slack_conn, [ANNOTATIONS], since(24 * 7), str(tmp_path / "1" / "s.jsonl"), root
    )
    assert first["lineage_generation"] == 0 and first["count"] == len(SCRIPTED["zendesk"]["tickets"])
    cursors = {
        "zendesk": storage.read_json(first["cursor_uri"]),
        "slack": storage.read_json(slack["cursor_uri"]),
        "s3": {},
    }
    assert set(cursors["slack"]) == {ANNOTATIONS}
    lineage.append(root, 0, {"run": "r1", "version": None, "dataset_uri": "", "cursors": cursors})
    # nothing changed: run 2 reads no ticket (the cursor is after the last update)
    idle = data_update.fetch_zendesk_tickets(
        zendesk_conn, since(24 * 7), str(tmp_path / "2" / "z.jsonl"), root, mr_field_id=field
    )
    assert idle["count"] == 0 and idle["lineage_generation"] == 1
    # an agent relabels ticket 101: it comes again, alone, with the new label
    status, _ = admin(
        f"{sinks.zendesk_url}/_sink/tickets/101", "PATCH", {"mr": "request(name[Portal 2], rating[good])"}
    )
    assert status == 200
    try:
        again = data_update.fetch_zendesk_tickets(
            zendesk_conn, since(24 * 7), str(tmp_path / "3" / "z.jsonl"), root, mr_field_id=field
        )
    finally:  # the sinks are shared by the other tests: put the scripted tickets back
        assert admin(f"{sinks.zendesk_url}/_sink/script", "PUT", SCRIPTED["zendesk"])[0] == 200
    rows = storage.read_jsonl(again["out_uri"])
    assert [(r["source_id"], r["label"]) for r in rows] == [("101", "request(name[Portal 2], rating[good])")]
    # Slack resumes a lookback before the newest message it saw: the same messages, no more
    resumed = data_update.fetch_slack_messages(
        slack_conn, [ANNOTATIONS], since(1), str(tmp_path / "2" / "s.jsonl"), root
    )
    assert resumed["count"] == slack["count"]
