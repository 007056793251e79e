"""The real `anyscale` Python SDK (the one the Airflow provider uses) against the local API emulator.

Starts `local/anyscale-emulator/main.ts` on a free port and drives `anyscale.Anyscale(...)` (built as the
Airflow provider's hook builds it) through the SDK's own REST clients, cookie auth and response models, which
validate required fields and enums client-side: compute_config create/versioning/get/archive,
job.status/terminate and service.status. Jobs and services are submitted over REST because SDK submission
registers images and uploads code, which the emulator does not do yet.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "node_modules" / ".bin"
TOKEN = "sss_pytest_emulator_token"

pytestmark = pytest.mark.skipif(
    not (BIN / "tsx").exists(), reason="node_modules/.bin/tsx is missing (run `npm ci` to run the emulator)"
)


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANYSCALE_CLI_TOKEN": TOKEN,
    }
    proc = subprocess.Popen(
        [
            str(BIN / "tsx"),
            "local/anyscale-emulator/main.ts",
            "--port",
            "0",
            "--job-pending-ms",
            "1000",
            "--job-running-ms",
            "1000",
            "--service-start-ms",
            "500",
            "--service-rollout-ms",
            "1000",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match is None:
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"emulator did not start: {line!r} {err!r}")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def sdk(emulator_url: str) -> Any:
    import anyscale

    # Same construction as the Airflow provider's AnyscaleHook (token argument), pointed at the emulator.
    return anyscale.Anyscale(auth_token=TOKEN, _host=emulator_url)


def test_compute_config_round_trip_through_the_sdk(sdk: Any) -> None:
    from anyscale.compute_config.models import (
        ComputeConfig,
        HeadNodeConfig,
        MarketType,
        WorkerNodeGroupConfig,
    )

    config = ComputeConfig(
        cloud="emulator-cloud",
        head_node=HeadNodeConfig(instance_type="m5.xlarge"),
        worker_nodes=[
            WorkerNodeGroupConfig(
                instance_type="g5.12xlarge", min_nodes=0, max_nodes=2, market_type="PREFER_SPOT"
            ),
            WorkerNodeGroupConfig(name="cpu", instance_type="m5.4xlarge", max_nodes=4),
        ],
        max_resources={"GPU": 8},
        zones=["us-west-2a"],
    )
    assert sdk.compute_config.create(config, name="sdk-llm-gpu") == "sdk-llm-gpu:1"
    assert sdk.compute_config.create(config, name="sdk-llm-gpu") == "sdk-llm-gpu:2"

    latest = sdk.compute_config.get(name="sdk-llm-gpu")
    assert latest.name == "sdk-llm-gpu:2"
    assert latest.id.startswith("cpt_")
    got = latest.config
    assert got.cloud == "emulator-cloud"
    assert got.head_node.instance_type == "m5.xlarge"
    assert got.zones == ["us-west-2a"]
    assert got.max_resources == {"GPU": 8}
    workers = {w.name: w for w in got.worker_nodes}
    assert workers["g5.12xlarge"].market_type == MarketType.PREFER_SPOT
    assert (workers["g5.12xlarge"].min_nodes, workers["g5.12xlarge"].max_nodes) == (0, 2)
    assert workers["cpu"].market_type == MarketType.ON_DEMAND

    assert sdk.compute_config.get(name="sdk-llm-gpu:1").name == "sdk-llm-gpu:1"


def test_archive_hides_the_config_unless_asked(sdk: Any) -> None:
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig

    name = sdk.compute_config.create(
        ComputeConfig(
            cloud="emulator-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge"), worker_nodes=[]
        ),
        name="sdk-archived",
    )
    assert name == "sdk-archived:1"
    sdk.compute_config.archive(name="sdk-archived")
    assert sdk.compute_config.get(name="sdk-archived", include_archived=True).name == "sdk-archived:1"
    with pytest.raises(RuntimeError, match="not found"):
        sdk.compute_config.get(name="sdk-archived")


def _submit_job_over_rest(url: str, name: str, compute_config_id: str) -> str:
    # Submitting through the SDK needs image/build routes the emulator does not have yet: submit over REST.
    resp = httpx.post(
        f"{url}/api/v2/decorated_ha_jobs/create",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"name": name, "config": {"entrypoint": "python -m x", "compute_config_id": compute_config_id}},
        timeout=10,
    )
    resp.raise_for_status()
    return str(resp.json()["result"]["id"])


def _wait_for_state(sdk: Any, job_id: str, wanted: str) -> Any:
    deadline = time.monotonic() + 30
    while True:
        status = sdk.job.status(id=job_id)
        if str(status.state) == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_job_status_and_terminate_through_the_sdk(sdk: Any, emulator_url: str) -> None:
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig

    sdk.compute_config.create(
        ComputeConfig(
            cloud="emulator-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge"), worker_nodes=[]
        ),
        name="sdk-jobs",
    )
    cc_id = sdk.compute_config.get(name="sdk-jobs").id
    job_id = _submit_job_over_rest(emulator_url, "sdk-job", cc_id)
    status = sdk.job.status(id=job_id)
    assert (status.id, status.name, str(status.state)) == (job_id, "sdk-job", "STARTING")
    done = _wait_for_state(sdk, job_id, "SUCCEEDED")
    assert str(done.state) == "SUCCEEDED"
    assert [str(r.state) for r in done.runs] == ["SUCCEEDED"]
    assert done.config.entrypoint == "python -m x"

    other = _submit_job_over_rest(emulator_url, "sdk-job-terminated", cc_id)
    sdk.job.terminate(id=other)
    assert str(sdk.job.status(id=other).state) == "TERMINATED"


def test_unknown_cloud_is_reported_by_the_sdk(sdk: Any) -> None:
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig

    with pytest.raises(Exception, match="Cloud 'no-such-cloud' not found"):
        sdk.compute_config.create(
            ComputeConfig(cloud="no-such-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge")),
            name="x",
        )


def test_wrong_token_is_rejected(emulator_url: str) -> None:
    import anyscale

    # Anyscale() validates the token on construction (GET /api/v2/userinfo/); the emulator answers 401.
    with pytest.raises(Exception, match="invalid or have expired"):
        anyscale.Anyscale(auth_token="sss_wrong", _host=emulator_url)


def _apply_service_over_rest(url: str, body: dict[str, Any]) -> dict[str, Any]:
    # Deploying through the SDK registers images and uploads code; the emulator has no routes for that yet.
    resp = httpx.put(
        f"{url}/api/v2/services-v2/apply", headers={"Authorization": f"Bearer {TOKEN}"}, json=body, timeout=10
    )
    resp.raise_for_status()
    return dict(resp.json()["result"])


def test_service_status_through_the_sdk(sdk: Any, emulator_url: str) -> None:
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig

    sdk.compute_config.create(
        ComputeConfig(
            cloud="emulator-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge"), worker_nodes=[]
        ),
        name="sdk-serve",
    )
    cc_id = sdk.compute_config.get(name="sdk-serve").id
    base = {
        "name": "sdk-llm",
        "build_id": "bld_sdk",
        "compute_config_id": cc_id,
        "ray_serve_config": {"applications": [{"name": "llm", "import_path": "serve_app:app"}]},
    }
    _apply_service_over_rest(emulator_url, {**base, "version": "champion"})
    deadline = time.monotonic() + 30
    while str(sdk.service.status(name="sdk-llm").state) != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    status = sdk.service.status(name="sdk-llm")
    assert str(status.state) == "RUNNING"
    assert status.primary_version.name == "champion"
    assert status.primary_version.config.compute_config == "sdk-serve:1"
    assert status.query_auth_token

    _apply_service_over_rest(emulator_url, {**base, "version": "challenger", "canary_percent": 10})
    rolling = sdk.service.status(name="sdk-llm")
    assert str(rolling.state) == "ROLLING_OUT"
    assert (rolling.canary_version.name, rolling.canary_version.weight) == ("challenger", 10)
    assert rolling.primary_version.weight == 90
