"""The data-update fetchers with the REAL provider hooks and client libraries, minus the network.

* Slack: a real `SlackHook` (built by `fetch_slack_messages` from an Airflow connection in the
  environment) and its `slack_sdk.WebClient`, pointed through the connection's `base_url` at a local
  HTTP server that imitates conversations.history/replies, including cursor pages and a 429 with
  Retry-After, which the fetcher's rate-limit retry handler must absorb.
* Zendesk: a real `ZendeskHook` and zenpy client; zenpy's requests session gets a transport adapter
  that answers the cursor-based incremental export (Zendesk is https-only, so no local server).
What is still not verified: the real Slack and Zendesk services (no network here).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from llm_workloads import storage
from llm_workloads.airflow_tasks import data_update
from requests.adapters import BaseAdapter

PARENT_TS = "1767225600.000100"
HISTORY = [
    {
        "type": "message",
        "ts": PARENT_TS,
        "text": "Is Tetris &amp; Tetris 2 fun?",
        "reply_count": 2,
        "thread_ts": PARENT_TS,
    },
    {"type": "message", "subtype": "channel_join", "ts": "1767225601.000000", "text": "joined"},
] + [{"type": "message", "ts": f"17672257{i:02d}.000000", "text": f"question {i}"} for i in range(16)]
REPLIES = [HISTORY[0], {"ts": "1767225700.000000", "text": "mr: `request(name[Tetris])`"}]


def without_cursor(result: dict[str, object]) -> dict[str, object]:
    """A fetch's result without its lineage fields (tested in test_dataset_accumulate.py)."""
    return {k: v for k, v in result.items() if k not in ("cursor_uri", "lineage_generation")}


class SlackApi(BaseHTTPRequestHandler):
    requests_seen: list[tuple[str, dict[str, str]]] = []
    throttled = False

    def _params(self) -> dict[str, str]:
        query = parse_qs(urlparse(self.path).query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        query.update(parse_qs(body))
        return {k: v[0] for k, v in query.items()}

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        method = urlparse(self.path).path.rsplit("/", 1)[-1]
        params = self._params()
        type(self).requests_seen.append((method, params | {"auth": self.headers.get("Authorization", "")}))
        if method == "conversations.history" and not type(self).throttled:
            type(self).throttled = True
            self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
            return
        items = HISTORY if method == "conversations.history" else REPLIES
        start = int(params.get("cursor") or 0)
        end = start + int(params["limit"])
        next_cursor = str(end) if end < len(items) else ""
        self._send(
            200, {"ok": True, "messages": items[start:end], "response_metadata": {"next_cursor": next_cursor}}
        )

    do_GET = _handle
    do_POST = _handle

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


@pytest.fixture
def slack_server() -> Iterator[str]:
    SlackApi.requests_seen = []
    SlackApi.throttled = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlackApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()


def test_slack_fetch_with_real_hook(
    slack_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {
        "conn_type": "slack",
        "password": "xoxb-not-a-real-token",
        "extra": {"base_url": slack_server},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ANNOTATIONS", json.dumps(connection))
    out = str(tmp_path / "slack.jsonl")
    result = data_update.fetch_slack_messages("slack_annotations", ["C0ANNOT"], "2026-01-01T00:00:00Z", out)
    assert without_cursor(result) == {"out_uri": out, "count": 17, "labelled": 1, "skipped": 1}
    methods = [m for m, _ in SlackApi.requests_seen]
    # 1 throttled + 2 pages of history (18 messages, limit 15), 1 page of replies; pages are streamed, so the
    # thread's replies are read while its history page is being written
    assert methods[0] == "conversations.history"
    assert sorted(methods) == ["conversations.history"] * 3 + ["conversations.replies"]
    assert all(
        p["limit"] == "15" and p["auth"] == "Bearer xoxb-not-a-real-token" for _, p in SlackApi.requests_seen
    )
    rows = storage.read_jsonl(out)
    labelled = [r for r in rows if r["label"]]
    assert labelled == [
        {
            "source": "slack",
            "source_id": f"C0ANNOT:{PARENT_TS}",
            "updated_at": "2026-01-01T00:01:40.000000Z",
            "text": "Is Tetris & Tetris 2 fun?",
            "label": "request(name[Tetris])",
            "origin": f"slack C0ANNOT {PARENT_TS}",
            "problem": None,
        }
    ]
    assert "xoxb" not in Path(out).read_text() and "xoxb" not in json.dumps(result)


class ZendeskExport(BaseAdapter):
    """Answers zenpy's cursor-based incremental export with two pages."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = str(request.url)
        self.urls.append(url)
        if "cursor=page2" in url:
            body = {
                "tickets": [
                    {"id": 8, "description": "Hi", "updated_at": "2026-11-03T00:00:00Z", "custom_fields": []}
                ],
                "after_cursor": None,
                "after_url": None,
                "end_of_stream": True,
            }
        else:
            body = {
                "tickets": [
                    {
                        "id": 7,
                        "description": "Is Tetris fun?",
                        "updated_at": "2026-11-02T00:00:00Z",
                        "custom_fields": [{"id": 360001, "value": "request(name[Tetris])"}],
                    }
                ],
                "after_cursor": "page2",
                "after_url": "https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json?cursor=page2",
                "end_of_stream": False,
            }
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response.request = request
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(body).encode()
        return response

    def close(self) -> None:
        return


def test_zendesk_fetch_with_real_hook_and_zenpy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.zendesk.hooks.zendesk import ZendeskHook

    connection = {
        "conn_type": "zendesk",
        "host": "acme.zendesk.com",
        "login": "bot@acme.test",
        "password": "pw-12345",
    }
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_SUPPORT", json.dumps(connection))
    hook = ZendeskHook(zendesk_conn_id="zendesk_support")
    adapter = ZendeskExport()
    hook.get_conn().tickets.session.mount("https://", adapter)
    out = str(tmp_path / "zendesk.jsonl")
    result = data_update.fetch_zendesk_tickets(
        "zendesk_support", "2026-11-01T00:00:00Z", out, mr_field_id=360001, hook=hook
    )
    assert without_cursor(result) == {"out_uri": out, "count": 2, "labelled": 1}
    assert "incremental/tickets/cursor.json?start_time=1793491200" in adapter.urls[0]
    rows = storage.read_jsonl(out)
    assert [(r["source_id"], r["label"], r["updated_at"]) for r in rows] == [
        ("7", "request(name[Tetris])", "2026-11-02T00:00:00.000000Z"),
        ("8", None, "2026-11-03T00:00:00.000000Z"),
    ]
