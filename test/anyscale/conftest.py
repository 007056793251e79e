"""Fixtures: the Anyscale API emulator (local runtime, a scenario file) and the real SDK pointed at it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sdk_harness import TOKEN, Emulator, reference_records, start_emulator  # noqa: E402


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """References (the items' answers) plus a scripted champion, challenger and two extremes."""
    root = tmp_path_factory.mktemp("scenario")
    refs = root / "refs" / "test.jsonl"
    refs.parent.mkdir()
    refs.write_text("".join(json.dumps(r) + "\n" for r in reference_records()))
    path = root / "scenario.json"
    path.write_text(
        json.dumps(
            {
                "references": [str(refs.parent)],
                "default": {"accuracy": 0.5},
                "adapters": {
                    "perfect": {"accuracy": 1.0},
                    "hopeless": {"accuracy": 0.0},
                    "champion-*": {"accuracy": 0.7},
                    "challenger-*": {"accuracy": 0.85},
                },
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory, scenario_file: Path) -> Iterator[Emulator]:
    emu = start_emulator(
        tmp_path_factory.mktemp("emulator"),
        "--scenario",
        str(scenario_file),
        "--job-env",
        "AWS_ENDPOINT_URL=http://127.0.0.1:59999",
    )
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def sdk(emulator: Emulator) -> Any:
    import anyscale

    # Same construction as the Airflow provider's AnyscaleHook (token argument), pointed at the emulator.
    return anyscale.Anyscale(auth_token=TOKEN, _host=emulator.url)


@pytest.fixture(scope="module")
def compute_config(sdk: Any) -> str:
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig

    return str(
        sdk.compute_config.create(
            ComputeConfig(
                cloud="emulator-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge"), worker_nodes=[]
            ),
            name="pytest-cpu",
        )
    )
