"""The .venv must hold exactly what python/requirements.lock pins (a stale venv would hide a missing pin)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "python" / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)(?:\s*;\s*(.*))?$", line)
        if not m:
            continue
        name, version, marker = m.groups()
        if marker and ("sys_platform == 'win32'" in marker or "platform_system == 'Windows'" in marker):
            continue
        pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


def test_lock_pins_airflow_33_and_the_anyscale_provider() -> None:
    pins = _pins()
    assert pins["apache-airflow"].startswith("3.3.")
    assert "astro-provider-anyscale" in pins
    assert "anyscale" in pins


def test_installed_versions_match_the_lock() -> None:
    mismatched = []
    for name in (
        "apache-airflow",
        "apache-airflow-task-sdk",
        "astro-provider-anyscale",
        "anyscale",
        "moto",
        "ruff",
    ):
        want = _pins()[name]
        got = metadata.version(name)
        if got != want:
            mismatched.append(f"{name}: installed {got}, lock {want}")
    assert not mismatched, mismatched
