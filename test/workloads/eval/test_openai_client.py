"""The HTTP client against the scripted server: retries, timeouts, concurrency bound, headers."""

from __future__ import annotations

import asyncio
import random

import pytest
from llm_workloads.openai_client import Endpoint, RetryPolicy, run_completions
from llm_workloads.testing.server import Hang, HttpError, RawBody, Reply, ScriptedResponder, serve

FAST = RetryPolicy(timeout_s=2.0, max_retries=2, backoff_base_s=0.01, backoff_max_s=0.05)


def body(text: str, model: str = "m") -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "temperature": 0,
        "max_tokens": 8,
    }


def test_concurrency_is_bounded_and_order_kept() -> None:
    script = {("m", f"q{i}"): [Hang(0.15, then=Reply(f"a{i}"))] for i in range(12)}
    with serve(ScriptedResponder(script)) as server:
        results = run_completions(
            Endpoint(server.url), [body(f"q{i}") for i in range(12)], concurrency=3, policy=FAST
        )
        assert 1 <= server.max_in_flight <= 3
    assert [r.content for r in results] == [f"a{i}" for i in range(12)]


def test_headers_canary_and_no_token_when_none() -> None:
    with serve(ScriptedResponder({}, default=Reply("x"))) as server:
        run_completions(Endpoint(server.url, None, canary=True), [body("a")], concurrency=1, policy=FAST)
        run_completions(Endpoint(server.url, "tok"), [body("b")], concurrency=1, policy=FAST)
        first, second = server.requests
    assert first.headers["x-anyscale-version"] == "canary" and "authorization" not in first.headers
    assert second.headers["authorization"] == "Bearer tok" and not second.canary
    assert "tok" not in repr(Endpoint("http://h", "tok"))


@pytest.mark.parametrize(
    ("actions", "content", "error", "attempts"),
    [
        ([HttpError(503), HttpError(502), Reply("ok")], "ok", None, 3),
        ([HttpError(503)], None, "HTTP 503 (gave up after 3 attempts)", 3),
        ([HttpError(400)], None, "HTTP 400", 1),  # the request is wrong: not retried
        ([HttpError(404)], None, "HTTP 404", 1),
        ([RawBody(b'{"choices": []}')], None, "response has no choices[0].message.content", 1),
        ([RawBody(b"<html>")], None, "response body is not JSON", 1),
        ([Hang(5), Reply("late but ok")], "late but ok", None, 2),
    ],
)
def test_outcomes(actions: list, content: str | None, error: str | None, attempts: int) -> None:
    policy = RetryPolicy(timeout_s=0.3, max_retries=2, backoff_base_s=0.01, backoff_max_s=0.05)
    with serve(ScriptedResponder({("m", "q"): actions})) as server:
        [result] = run_completions(Endpoint(server.url), [body("q")], concurrency=1, policy=policy)
    assert (result.content, result.error, result.attempts) == (content, error, attempts)


def test_finish_reason_is_kept() -> None:
    with serve(ScriptedResponder({("m", "q"): [Reply("inform(name[", finish_reason="length")]})) as server:
        [result] = run_completions(Endpoint(server.url), [body("q")], concurrency=1, policy=FAST)
    assert result.finish_reason == "length" and result.ok


def test_backoff_is_capped_jittered_and_honours_retry_after() -> None:
    policy = RetryPolicy(timeout_s=1, max_retries=5, backoff_base_s=0.5, backoff_max_s=4.0)
    rng = random.Random(1)
    delays = [policy.delay(retry, rng, None) for retry in range(1, 8)]
    caps = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0 <= d <= cap for d, cap in zip(delays, caps, strict=True))
    assert policy.delay(1, rng, 2.5) == 2.5 and policy.delay(1, rng, 60) == 4.0
    with pytest.raises(ValueError):
        RetryPolicy(timeout_s=0)


def test_works_inside_a_running_event_loop() -> None:
    """As in a Jupyter kernel, where a loop is already running in the main thread."""
    with serve(ScriptedResponder({}, default=Reply("x"))) as server:

        async def inside() -> list[str | None]:
            return [
                r.content
                for r in run_completions(Endpoint(server.url), [body("a")], concurrency=1, policy=FAST)
            ]

        assert asyncio.run(inside()) == ["x"]
