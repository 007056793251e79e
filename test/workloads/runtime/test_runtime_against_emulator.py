"""The runtime's operators and triggers against the Anyscale emulator, through the real `anyscale` SDK.

Each operator is driven the way Airflow drives it: `execute` (submit or deploy, then defer), the trigger
re-created from its own `serialize()` (what the triggerer does) and run on an event loop, then
`execute_complete` with the trigger's event. Outcomes are read from the emulator (its REST state through the
SDK, its admin view of processes), never from the operator's return values alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "anyscale"))
from sdk_harness import TOKEN, Emulator, alive, needs_node, start_emulator, wait_until  # noqa: E402

pytestmark = needs_node

CONN_ID = "anyscale_runtime_test"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = start_emulator(
        tmp_path_factory.mktemp("emulator"),
        "--unhealthy-service",
        "rt-never-healthy",
        "--health-timeout-ms",
        "4000",
    )
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def connection(emulator: Emulator) -> Iterator[None]:
    """The Airflow connection the operators and triggers read: token as password, emulator URL as host."""
    mp = pytest.MonkeyPatch()
    mp.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps({"conn_type": "anyscale", "host": emulator.url, "password": TOKEN}),
    )
    yield
    mp.undo()


@pytest.fixture(scope="module")
def sdk(emulator: Emulator) -> Any:
    import anyscale

    return anyscale.Anyscale(auth_token=TOKEN, _host=emulator.url)


@pytest.fixture(scope="module")
def compute_config(sdk: Any) -> str:
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig

    config = ComputeConfig(
        cloud="emulator-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge"), worker_nodes=[]
    )
    return str(sdk.compute_config.create(config, name="runtime-cpu"))


@pytest.fixture(scope="module")
def working_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wd") / "job_dir"
    root.mkdir()
    (root / "hello.txt").write_text("uploaded\n")
    return root


class FakeTI:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def defer(op: Any, ti: FakeTI) -> Any:
    """Run `execute` until it defers; return the trigger rebuilt from its serialized form."""
    from airflow.sdk.exceptions import TaskDeferred
    from airflow.sdk.module_loading import import_string

    with pytest.raises(TaskDeferred) as deferred:
        op.execute({"ti": ti})
    assert deferred.value.method_name == "execute_complete"
    classpath, kwargs = deferred.value.trigger.serialize()
    assert TOKEN not in json.dumps(kwargs)  # trigger kwargs are stored in the metadata DB
    return import_string(classpath)(**json.loads(json.dumps(kwargs)))


def first_event(trigger: Any, timeout_s: float = 60) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(run(), timeout_s))


def job(name: str, entrypoint: str, cc: str, wd: Path, **kw: Any) -> Any:
    from llm_workloads.airflow_runtime.operators import AnyscaleJob

    return AnyscaleJob(
        task_id=name,
        conn_id=CONN_ID,
        name=name,
        entrypoint=entrypoint,
        compute_config=cc,
        image_uri="anyscale/ray:2.44.1-py311",
        working_dir=str(wd),
        requirements=["pyyaml"],
        poll_interval=0.2,
        max_retries=0,
        **kw,
    )


def test_a_job_runs_and_succeeds(connection: None, sdk: Any, compute_config: str, working_dir: Path) -> None:
    ti = FakeTI()
    op = job("rt-ok", "cat hello.txt && echo done > marker", compute_config, working_dir)
    event = first_event(defer(op, ti))
    assert event["status"] == "done"
    assert op.execute_complete({"ti": ti}, event=event) == ti.xcom["job_id"]
    assert str(sdk.job.status(id=ti.xcom["job_id"]).state) == "SUCCEEDED"
    assert "uploaded" in sdk.job.get_logs(id=ti.xcom["job_id"])


def test_a_failing_job_fails_the_task_with_its_last_log_lines(
    connection: None, sdk: Any, compute_config: str, working_dir: Path
) -> None:
    from llm_workloads.airflow_runtime.operators import AnyscaleTaskFailed

    ti = FakeTI()
    op = job("rt-fails", "echo boom-$((40+2)); exit 3", compute_config, working_dir)
    event = first_event(defer(op, ti))
    assert event["status"] == "failed"
    with pytest.raises(AnyscaleTaskFailed, match="boom-42"):
        op.execute_complete({"ti": ti}, event=event)
    assert str(sdk.job.status(id=ti.xcom["job_id"]).state) == "FAILED"


def test_a_job_past_its_timeout_is_terminated(
    connection: None, sdk: Any, emulator: Emulator, compute_config: str, working_dir: Path
) -> None:
    from llm_workloads.airflow_runtime.operators import AnyscaleTaskFailed

    ti = FakeTI()
    # Anyscale's own timeout_s is 30 s; the deferred wait is bounded by execution_timeout (2 s) first.
    from datetime import timedelta

    op = job(
        "rt-hangs",
        "sleep 600",
        compute_config,
        working_dir,
        job_timeout_seconds=30,
        execution_timeout=timedelta(seconds=2),
    )
    event = first_event(defer(op, ti))
    assert event["status"] == "timeout"
    with pytest.raises(AnyscaleTaskFailed, match="the job was terminated"):
        op.execute_complete({"ti": ti}, event=event)
    job_id = ti.xcom["job_id"]
    assert str(wait_until(lambda: sdk.job.status(id=job_id).state, lambda s: str(s) == "TERMINATED")) == (
        "TERMINATED"
    )


def test_killing_the_deferred_task_terminates_the_job(
    connection: None, sdk: Any, compute_config: str, working_dir: Path
) -> None:
    ti = FakeTI()
    trigger = defer(job("rt-killed", "sleep 600", compute_config, working_dir), ti)
    job_id = ti.xcom["job_id"]
    wait_until(lambda: sdk.job.status(id=job_id).state, lambda s: str(s) == "RUNNING")

    async def wait_then_kill() -> None:
        task = asyncio.create_task(anext(trigger.run()))
        await asyncio.sleep(0.5)
        assert not task.done()  # still waiting: the job is running
        task.cancel()
        await trigger.on_kill()  # what the triggerer calls when a user marks the task failed or clears it

    asyncio.run(wait_then_kill())
    wait_until(lambda: sdk.job.status(id=job_id).state, lambda s: str(s) == "TERMINATED")


APPS = [
    {
        "name": "llm",
        "import_path": "llm_workloads.serve_app:build_app",
        "route_prefix": "/",
        "args": {"base_model": "mistralai/Mistral-7B-Instruct-v0.1", "lora_root": "s3://x/lora"},
    }
]


def rollout(name: str, cc: str, wd: Path, canary_percent: int | None, **kw: Any) -> Any:
    from llm_workloads.airflow_runtime.operators import AnyscaleServiceRollout

    apps = json.loads(json.dumps(APPS))
    apps[0]["args"].update(kw.pop("args", {}))
    return AnyscaleServiceRollout(
        task_id=f"{name}-{canary_percent}",
        conn_id=CONN_ID,
        name=name,
        applications=apps,
        compute_config=cc,
        image_uri="anyscale/ray-llm:2.44.1-py311-cu124",
        working_dir=str(wd),
        canary_percent=canary_percent,
        poll_interval=0.2,
        rollout_timeout_seconds=kw.pop("rollout_timeout_seconds", 60),
        **kw,
    )


def roll(op: Any) -> tuple[dict[str, Any], Any]:
    event = first_event(defer(op, FakeTI()))
    return event, op


def teardown(name: str, action: str) -> str:
    from llm_workloads.airflow_runtime.operators import AnyscaleServiceTeardown

    op = AnyscaleServiceTeardown(task_id=f"td-{action}", conn_id=CONN_ID, service_name=name, action=action)
    return str(op.execute({}))


def test_silent_rollout_holds_at_0_percent_then_promotion_completes(
    connection: None, sdk: Any, compute_config: str, working_dir: Path
) -> None:
    name = "rt-viggo"
    event, op = roll(rollout(name, compute_config, working_dir, 100, args={"adapter": "champion"}))
    assert event["status"] == "done", event
    op.execute_complete({}, event=event)
    first = sdk.service.status(name=name)
    assert str(first.state) == "RUNNING" and first.canary_version is None

    # 0 %: done while Anyscale keeps the service ROLLING_OUT (a held canary never reports RUNNING).
    event, op = roll(rollout(name, compute_config, working_dir, 0, args={"adapter": "challenger"}))
    assert event["status"] == "done", event
    op.execute_complete({}, event=event)
    held = sdk.service.status(name=name)
    assert str(held.state) == "ROLLING_OUT"
    assert held.canary_version is not None and str(held.canary_version.state) == "RUNNING"
    assert held.canary_version.weight == 0 and held.primary_version.id == first.primary_version.id

    # 100 %: the held canary becomes the primary, alone.
    event, op = roll(rollout(name, compute_config, working_dir, 100, args={"adapter": "challenger"}))
    assert event["status"] == "done", event
    op.execute_complete({}, event=event)
    done = sdk.service.status(name=name)
    assert str(done.state) == "RUNNING" and done.canary_version is None
    assert done.primary_version.id == held.canary_version.id
    assert teardown(name, "rollbackCanary") == "no canary to roll back"

    # A canary that is not promoted is rolled back by the teardown; the promoted version keeps serving.
    event, _ = roll(rollout(name, compute_config, working_dir, 0, args={"adapter": "next"}))
    assert event["status"] == "done", event
    assert teardown(name, "rollbackCanary") == "rolled back"
    after = wait_until(lambda: sdk.service.status(name=name), lambda s: s.canary_version is None)
    assert after.primary_version.id == done.primary_version.id
    assert teardown(name, "terminate") == "terminated"
    assert teardown("rt-no-such-service", "terminate") == "absent"


def test_the_query_token_never_reaches_the_task_log(
    connection: None, sdk: Any, compute_config: str, working_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    name = "rt-token"
    event, _ = roll(rollout(name, compute_config, working_dir, 100))
    assert event["status"] == "done", event
    token = sdk.service.status(name=name).query_auth_token
    out, err = capfd.readouterr()
    assert token and token not in out + err
    assert "Bearer ***" in err  # the SDK's curl hint is still there, redacted
    assert teardown(name, "terminate") == "terminated"


def test_a_canary_needs_a_running_service(
    connection: None, sdk: Any, compute_config: str, working_dir: Path
) -> None:
    from llm_workloads.airflow_runtime.operators import AnyscaleTaskFailed

    with pytest.raises(AnyscaleTaskFailed, match="needs a primary version"):
        rollout("rt-absent", compute_config, working_dir, 0).execute({"ti": FakeTI()})
    with pytest.raises(RuntimeError, match="not found"):
        sdk.service.status(name="rt-absent")  # nothing was created


def test_a_canary_that_never_gets_healthy_is_rolled_back(
    connection: None, sdk: Any, emulator: Emulator, compute_config: str, working_dir: Path
) -> None:
    from llm_workloads.airflow_runtime.operators import AnyscaleTaskFailed

    name = "rt-sick"
    event, op = roll(rollout(name, compute_config, working_dir, 100))
    assert event["status"] == "done", event
    champion = sdk.service.status(name=name)
    emulator.post_admin("faults", {"unhealthyServiceNames": [name]})  # new versions of it never get healthy
    event, op = roll(
        rollout(name, compute_config, working_dir, 0, args={"adapter": "sick"}, rollout_timeout_seconds=5)
    )
    assert event["status"] == "timeout", event
    sick = sdk.service.status(name=name)
    assert sick.canary_version is not None and str(sick.canary_version.state) == "UNHEALTHY"
    versions = emulator.admin(f"services/{sick.id}/processes")["versions"]
    canary_pid = next(v["pid"] for v in versions if v["role"] == "canary")
    with pytest.raises(AnyscaleTaskFailed, match="rolled back; the previous version keeps serving"):
        op.execute_complete({}, event=event)
    after = wait_until(lambda: sdk.service.status(name=name), lambda s: s.canary_version is None)
    assert str(after.state) == "RUNNING" and after.primary_version.id == champion.primary_version.id
    if canary_pid is not None:
        wait_until(lambda: alive(int(canary_pid)), lambda a: a is False, timeout_s=10)
    assert teardown(name, "terminate") == "terminated"


def test_promotion_moves_the_held_canary_even_when_the_working_dir_changed(
    connection: None, sdk: Any, compute_config: str, tmp_path: Path
) -> None:
    # A DAG bundle redeployed between the silent rollout and the promotion changes the uploaded working dir
    # (so the config): promotion must still promote the evaluated version, not deploy a new one unevaluated.
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "code.py").write_text("VERSION = 1\n")
    name = "rt-pinned"
    pins = lambda adapter: {"model_alias": "viggo", "alias_adapter": adapter}  # noqa: E731
    event, op = roll(rollout(name, compute_config, wd, 100, args=pins("viggo-1")))
    op.execute_complete({}, event=event)
    event, op = roll(rollout(name, compute_config, wd, 0, args=pins("viggo-2")))
    op.execute_complete({}, event=event)
    held = sdk.service.status(name=name)
    assert held.canary_version is not None
    (wd / "code.py").write_text("VERSION = 2\n")
    event, op = roll(rollout(name, compute_config, wd, 100, args=pins("viggo-2")))
    assert event["status"] == "done", event
    op.execute_complete({}, event=event)
    done = sdk.service.status(name=name)
    assert done.canary_version is None and done.primary_version.id == held.canary_version.id
    assert done.primary_version.config.applications[0]["args"]["alias_adapter"] == "viggo-2"
    # Another run's held canary is not promoted by a task pinning a different adapter: that deploys its own.
    event, op = roll(rollout(name, compute_config, wd, 0, args=pins("viggo-3")))
    op.execute_complete({}, event=event)
    other = sdk.service.status(name=name).canary_version
    event, op = roll(rollout(name, compute_config, wd, 100, args=pins("viggo-4")))
    op.execute_complete({}, event=event)
    final = sdk.service.status(name=name)
    assert final.primary_version.id != other.id
    assert final.primary_version.config.applications[0]["args"]["alias_adapter"] == "viggo-4"
    assert teardown(name, "terminate") == "terminated"
