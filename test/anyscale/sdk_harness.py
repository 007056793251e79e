"""Shared by the SDK tests: start the Anyscale API emulator (`npm run anyscale:emulator`), poll it.

conftest.py puts this folder on sys.path (pytest runs with --import-mode=importlib, so test modules
cannot import each other) and holds the fixtures.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "node_modules" / ".bin"
TOKEN = "sss_pytest_emulator_token"
# Set in the emulator's environment only: a job must not see it (jobs inherit a fixed allow-list).
LEAK_CANARY = "EMULATOR_TEST_SECRET_MUST_NOT_LEAK"

needs_node = pytest.mark.skipif(
    not (BIN / "tsx").exists(), reason="node_modules/.bin/tsx is missing (run `npm ci` to run the emulator)"
)


@dataclass
class Emulator:
    url: str
    proc: subprocess.Popen[str]
    workdir: Path

    def admin(self, path: str) -> Any:
        resp = httpx.get(
            f"{self.url}/_emulator/{path}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        resp.raise_for_status()
        return resp.json()

    def post_admin(self, path: str, body: dict[str, Any]) -> Any:
        resp = httpx.post(
            f"{self.url}/_emulator/{path}",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)


def start_emulator(workdir: Path, *extra: str, env: dict[str, str] | None = None) -> Emulator:
    proc = subprocess.Popen(
        [
            str(BIN / "tsx"),
            "local/anyscale-emulator/main.ts",
            "--port",
            "0",
            "--workdir",
            str(workdir),
            *extra,
        ],
        cwd=REPO,
        env={
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANYSCALE_CLI_TOKEN": TOKEN,
            LEAK_CANARY: "1",
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if match is None:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"emulator did not start: {line!r} {err!r}")
    return Emulator(match.group(1), proc, workdir)


SYSTEM = "Convert the sentence into a meaning representation."
GAMES = ["Tetris", "Doom", "Myst", "Portal", "Halo", "Quake", "Braid", "Limbo", "Fez", "Spore"]
RATINGS = ["good", "poor", "average", "excellent"]


def reference_records() -> list[dict[str, Any]]:
    return [
        {
            "id": f"t{i}",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {
                    "role": "user",
                    "content": f"Here is the target sentence:\n{game} is a {rating} game ({i}).",
                },
                {"role": "assistant", "content": f"inform(name[{game}], rating[{rating}])"},
            ],
        }
        for i, (game, rating) in enumerate((g, r) for g in GAMES for r in RATINGS)
    ]


def wait_until(read: Any, done: Any, timeout_s: float = 30.0, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s; last value: {value!r}")
        time.sleep(interval_s)


def alive(pid: int) -> bool:
    """True while `pid` is a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
