"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol with scripted answers.

It exists so the evaluation client is tested against a socket, not a mock: request timeouts, 5xx
responses, broken JSON bodies and retries all go over HTTP exactly as they would against an
Anyscale service. `serve()` starts it on a free port in a daemon thread:

    with serve(responder, token="t") as server:
        server.url        # http://127.0.0.1:<port>
        server.requests   # every ChatRequest received, in arrival order

A responder maps each request to an action: `Reply` (a completion), `HttpError` (a status code),
`Hang` (wait before answering, to trigger client timeouts), or `RawBody` (arbitrary bytes, e.g. broken
JSON). `ScriptedResponder` answers from a table keyed by (model, last user message); the actions of a
key are used in order and the last one repeats, so "503 then the answer" scripts a successful retry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A successful completion whose message content is `content`."""

    content: str
    finish_reason: str = "stop"
    #: The model id the answer names (default: the request's); a stable name answers with what it resolved to.
    model: str | None = None


@dataclass(frozen=True)
class HttpError:
    """Answer with this HTTP status and a JSON error body."""

    status: int
    message: str = "scripted error"
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Hang:
    """Wait `seconds` (or until the server closes), then perform `then` (default: a 504)."""

    seconds: float
    then: Reply | HttpError | None = None


@dataclass(frozen=True)
class RawBody:
    """Answer with these bytes verbatim (e.g. a body that is not JSON)."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


Action = Reply | HttpError | Hang | RawBody


@dataclass(frozen=True)
class ChatRequest:
    """One request as the server saw it. Header names are lower-cased."""

    model: str
    messages: tuple[Mapping[str, Any], ...]
    headers: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def user_content(self) -> str:
        """Content of the last user message ('' if there is none)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content", ""))
        return ""

    @property
    def canary(self) -> bool:
        return self.headers.get("x-anyscale-version", "").lower() == "canary"


Responder = Callable[[ChatRequest], Action]


class ScriptedResponder:
    """Answers from a table keyed by (model, last user message content).

    Each key holds a sequence of actions consumed one per request; the last action repeats.
    Keys not in the table get `default` (a 404 naming the key unless given).
    """

    def __init__(self, script: Mapping[tuple[str, str], Sequence[Action]], default: Action | None = None):
        for key, actions in script.items():
            if not actions:
                raise ValueError(f"script entry {key!r} has no actions")
        self._script = {key: list(actions) for key, actions in script.items()}
        self._calls: dict[tuple[str, str], int] = {}
        self._default = default
        self._lock = threading.Lock()

    def __call__(self, request: ChatRequest) -> Action:
        key = (request.model, request.user_content)
        with self._lock:
            actions = self._script.get(key)
            if actions is None:
                if self._default is not None:
                    return self._default
                return HttpError(404, f"no scripted answer for model {request.model!r}")
            index = self._calls.get(key, 0)
            self._calls[key] = index + 1
        return actions[min(index, len(actions) - 1)]


@dataclass
class RunningServer:
    """Handle on a started server; `close()` stops it and releases any hanging handlers."""

    url: str
    requests: list[ChatRequest] = field(default_factory=list)
    max_in_flight: int = 0  # most chat requests being handled at the same time
    _in_flight: int = 0
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _closing: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _completion_body(request: ChatRequest, reply: Reply, number: int) -> dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.messages)
    completion_tokens = len(reply.content.split())
    return {
        "id": f"chatcmpl-scripted-{number}",
        "object": "chat.completion",
        "created": 0,
        "model": reply.model or request.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _make_handler(
    responder: Responder,
    token: str | None,
    state: RunningServer,
    healthy: Callable[[], bool] | None = None,
) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output quiet

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            extra: Mapping[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); nothing to do

        def _error(self, status: int, message: str, extra: Mapping[str, str] | None = None) -> None:
            body = json.dumps({"error": {"message": message, "code": status}}).encode()
            self._send(status, body, extra=extra)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/-/healthz":
                # Ray Serve's health route; `healthy` lets a caller script a replica that never gets healthy.
                ok = healthy is None or healthy()
                self._send(200 if ok else 503, json.dumps({"healthy": ok}).encode())
            elif self.path.rstrip("/") == "/v1/models":
                self._send(200, json.dumps({"object": "list", "data": []}).encode())
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._error(404, f"no route {self.path}")
                return
            if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                self._error(401, "missing or wrong bearer token")
                return
            try:
                body = json.loads(raw)
                model = body["model"]
                messages = tuple(body["messages"])
            except (ValueError, KeyError, TypeError):
                self._error(400, "body must be JSON with 'model' and 'messages'")
                return
            request = ChatRequest(
                model=str(model),
                messages=messages,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            with lock:
                state.requests.append(request)
                number = len(state.requests)
                state._in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state._in_flight)
            try:
                action = responder(request)
                if isinstance(action, Hang):
                    state._closing.wait(action.seconds)
                    action = action.then if action.then is not None else HttpError(504, "scripted hang")
            finally:
                with lock:
                    state._in_flight -= 1
            if isinstance(action, Reply):
                self._send(200, json.dumps(_completion_body(request, action, number)).encode())
            elif isinstance(action, HttpError):
                extra = {} if action.retry_after_s is None else {"Retry-After": f"{action.retry_after_s:g}"}
                self._error(action.status, action.message, extra)
            else:
                self._send(action.status, action.body, action.content_type)

    return Handler


def start(
    responder: Responder,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    healthy: Callable[[], bool] | None = None,
) -> RunningServer:
    """Start the server in a daemon thread (port 0 = a free port). Call `close()` when done.

    `GET /-/healthz` answers 200, or 503 while `healthy()` is false.
    """
    state = RunningServer(url="")
    httpd = ThreadingHTTPServer((host, port), _make_handler(responder, token, state, healthy))
    httpd.daemon_threads = True
    state.url = f"http://{host}:{httpd.server_address[1]}"
    state._httpd = httpd
    state._thread = threading.Thread(target=httpd.serve_forever, name="scripted-openai-server", daemon=True)
    state._thread.start()
    return state


@contextmanager
def serve(responder: Responder, token: str | None = None) -> Iterator[RunningServer]:
    server = start(responder, token=token)
    try:
        yield server
    finally:
        server.close()
