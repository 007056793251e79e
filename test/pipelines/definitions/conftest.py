"""One render of pipelines/definitions (through the CLI) shared by the Airflow checks in this folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def rendered_dags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`<out>/dags` after `render-dags --out <out>` of the product's definitions."""
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not on PATH (Node is needed to render the definitions)")
    out = tmp_path_factory.mktemp("render")
    proc = subprocess.run(
        [npx, "tsx", "pipelines/src/cli/main.ts", "render-dags", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return out / "dags"
