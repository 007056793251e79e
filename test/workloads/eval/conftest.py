"""Shared fixtures for the evaluation tests: small chat-format test files and the VIGGO sample."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from llm_workloads.records import make_record

REPO_ROOT = Path(__file__).resolve().parents[3]
VIGGO_DIR = REPO_ROOT.parent / "shared" / "data" / "viggo"


def write_records(path: Path, pairs: Sequence[tuple[str, str]], with_ids: bool = True) -> list[dict]:
    """Write (sentence, representation) pairs as chat records; returns the records."""
    records = [make_record(s, mr, f"item-{i}" if with_ids else None) for i, (s, mr) in enumerate(pairs, 1)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records


@pytest.fixture(name="write_records")
def write_records_fixture() -> Callable[..., list[dict]]:
    return write_records


@pytest.fixture
def viggo_records() -> list[dict]:
    files = [VIGGO_DIR / "subset-part1.jsonl", VIGGO_DIR / "subset-part2.jsonl"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"VIGGO sample not found at {VIGGO_DIR} (expected ../shared/data/viggo next to the repo)")
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket="eval-bucket")
    return "eval-bucket"
