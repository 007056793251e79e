"""The real `anyscale` Python SDK (the one the Airflow provider uses) against the emulator: compute configs.

The emulator runs as `npm run anyscale:emulator` (conftest.py) and the SDK is built as the Airflow
provider's hook builds it; the SDK's own REST clients, cookie auth and response models validate
required fields and enums client-side. Jobs: test_sdk_jobs.py; services: test_sdk_services.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sdk_harness import Emulator, needs_node

pytestmark = needs_node


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


def test_unknown_cloud_is_reported_by_the_sdk(sdk: Any) -> None:
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig

    with pytest.raises(Exception, match="Cloud 'no-such-cloud' not found"):
        sdk.compute_config.create(
            ComputeConfig(cloud="no-such-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge")),
            name="x",
        )


def test_wrong_token_is_rejected(emulator: Emulator) -> None:
    import anyscale

    # Anyscale() validates the token on construction (GET /api/v2/userinfo/); the emulator answers 401.
    with pytest.raises(Exception, match="invalid or have expired"):
        anyscale.Anyscale(auth_token="sss_wrong", _host=emulator.url)
