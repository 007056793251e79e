"""A small asynchronous client for OpenAI-compatible `POST <url>/v1/chat/completions` endpoints.

Why not the `openai` package: it is not a dependency of this project and we need only one call.
The client adds what a batch evaluation needs and the original demo lacked: bounded concurrency, a
timeout per attempt, retries with capped exponential backoff (honouring `Retry-After`) for
transient failures only, and a result object per request instead of exceptions, so one failure
never aborts a batch and is never silently dropped.

The bearer token lives only in the `Endpoint` object (excluded from its repr) and the request
header; it is never put in an error message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# Statuses worth retrying: the request may succeed later (overload, restarts, gateway hiccups).
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
CANARY_HEADER = ("X-Anyscale-Version", "canary")


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests. `url` is the service root (the client appends /v1/chat/completions)."""

    url: str
    token: str | None = field(default=None, repr=False)
    canary: bool = False

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.canary:
            headers[CANARY_HEADER[0]] = CANARY_HEADER[1]
        return headers

    @property
    def completions_url(self) -> str:
        return self.url.rstrip("/") + "/v1/chat/completions"


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 10.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")

    def delay(self, retry: int, rng: random.Random, retry_after_s: float | None) -> float:
        """Delay before retry number `retry` (1-based): full jitter on a capped exponential."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.backoff_max_s)
        cap = min(self.backoff_max_s, self.backoff_base_s * (2 ** (retry - 1)))
        return rng.uniform(0.0, cap)


@dataclass(frozen=True)
class Completion:
    """Outcome of one request after retries. Exactly one of `content` / `error` is set."""

    content: str | None
    error: str | None
    attempts: int
    status: int | None = None
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


def _content_of(payload: Any) -> tuple[str, str | None] | str:
    """(content, finish_reason) from a chat.completion body, or the reason it is unusable."""
    try:
        choice = payload["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return "response has no choices[0].message.content"
    if not isinstance(content, str):
        return "choices[0].message.content is not a string"
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return content, finish if isinstance(finish, str) else None


async def _one(
    client: Any, endpoint: Endpoint, body: Mapping[str, Any], policy: RetryPolicy, rng: random.Random
) -> Completion:
    import httpx

    last_error = "not attempted"
    last_status: int | None = None
    retry_after: float | None = None
    attempts = 0
    for attempt in range(policy.max_retries + 1):
        if attempt > 0:
            await asyncio.sleep(policy.delay(attempt, rng, retry_after))
        attempts = attempt + 1
        retry_after = None
        try:
            response = await client.post(
                endpoint.completions_url,
                json=dict(body),
                headers=endpoint.headers(),
                timeout=policy.timeout_s,
            )
        except httpx.TimeoutException:
            last_error, last_status = f"timeout after {policy.timeout_s:g}s", None
            continue
        except httpx.TransportError as error:
            last_error, last_status = f"transport error: {type(error).__name__}", None
            continue
        last_status = response.status_code
        if response.status_code in RETRYABLE_STATUSES:
            retry_after = _retry_after({k.lower(): v for k, v in response.headers.items()})
            last_error = f"HTTP {response.status_code}"
            continue
        if response.status_code != 200:
            # 4xx other than the retryable ones: the request itself is wrong; retrying will not help.
            return Completion(None, f"HTTP {response.status_code}", attempts, response.status_code)
        try:
            payload = response.json()
        except ValueError:
            return Completion(None, "response body is not JSON", attempts, 200)
        parsed = _content_of(payload)
        if isinstance(parsed, str):
            return Completion(None, parsed, attempts, 200)
        return Completion(parsed[0], None, attempts, 200, parsed[1])
    return Completion(None, f"{last_error} (gave up after {attempts} attempts)", attempts, last_status)


async def complete_all(
    endpoint: Endpoint,
    bodies: Sequence[Mapping[str, Any]],
    *,
    concurrency: int,
    policy: RetryPolicy,
    seed: int = 0,
) -> list[Completion]:
    """Send every body (a chat.completions request) with at most `concurrency` in flight.

    Returns one Completion per body, in input order. Never raises for request failures.
    """
    import httpx

    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=policy.timeout_s) as client:

        async def guarded(index: int, body: Mapping[str, Any]) -> Completion:
            # One RNG per item: backoff jitter is reproducible regardless of scheduling order.
            rng = random.Random(f"{seed}:{index}")
            async with semaphore:
                return await _one(client, endpoint, body, policy, rng)

        return list(await asyncio.gather(*(guarded(i, b) for i, b in enumerate(bodies))))


def run_completions(
    endpoint: Endpoint,
    bodies: Sequence[Mapping[str, Any]],
    *,
    concurrency: int,
    policy: RetryPolicy,
    seed: int = 0,
) -> list[Completion]:
    """Synchronous wrapper around `complete_all` with its own event loop.

    Inside a running loop (a Jupyter kernel) the batch runs on a worker thread, since a thread can
    drive only one loop.
    """

    def run() -> list[Completion]:
        return asyncio.run(complete_all(endpoint, bodies, concurrency=concurrency, policy=policy, seed=seed))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="completions") as pool:
        return pool.submit(run).result()
