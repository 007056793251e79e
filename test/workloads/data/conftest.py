"""Fixtures for the workload data tests: the VIGGO sample (read in place) and a real moto S3 server."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VIGGO_DIR = REPO.parent / "shared" / "data" / "viggo"
VIGGO_FILES = ("subset-part1.jsonl", "subset-part2.jsonl")


@pytest.fixture(scope="session")
def viggo_files() -> list[Path]:
    paths = [VIGGO_DIR / name for name in VIGGO_FILES]
    if not all(p.exists() for p in paths):
        pytest.skip(f"VIGGO sample data not found at {VIGGO_DIR} (kept outside the repo; see COMMON.md)")
    return paths


@pytest.fixture(scope="session")
def viggo_lines(viggo_files: list[Path]) -> list[str]:
    return [line for path in viggo_files for line in path.read_text("utf-8").splitlines()]


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh bucket on the moto server; the storage helper reaches it through AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    name = "test-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name
