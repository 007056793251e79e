"""Fixtures for the local stack's sinks: both sinks served by the real TypeScript CLI on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "local" / "sinks" / "fixtures" / "support-desk.json"
SLACK_TOKEN = "xoxb-local-sink-test"
ZENDESK_EMAIL = "agent@localstack.test"
ZENDESK_TOKEN = "zendesk-local-sink-test"


@dataclass(frozen=True)
class Sinks:
    slack_url: str
    zendesk_url: str
    pid: int
    script: Path = SCRIPT
    slack_token: str = SLACK_TOKEN
    zendesk_email: str = ZENDESK_EMAIL
    zendesk_token: str = ZENDESK_TOKEN


@pytest.fixture(scope="module")
def sinks() -> Iterator[Sinks]:
    env = {**os.environ, "LOCAL_SLACK_TOKEN": SLACK_TOKEN, "LOCAL_ZENDESK_TOKEN": ZENDESK_TOKEN}
    process = subprocess.Popen(
        [
            str(REPO / "node_modules" / ".bin" / "tsx"),
            "local/sinks/main.ts",
            "--script",
            str(SCRIPT),
            "--zendesk-page-size",
            "4",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: tsx runs node as a child
    )
    try:
        assert process.stdout is not None
        urls = {}
        for _ in range(2):
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"sinks did not start: {process.stderr.read() if process.stderr else ''}")
            name, _, url = line.strip().partition(" sink listening on ")
            urls[name] = url
        yield Sinks(slack_url=urls["slack"], zendesk_url=urls["zendesk"], pid=process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
