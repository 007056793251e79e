"""Services deployed through the real SDK really answer: each version is a local OpenAI-compatible server
behind the service's query URL, which enforces the bearer token, splits traffic by weight and honours the
evaluation's explicit canary routing (`llm_workloads.openai_client.Endpoint(canary=True)`).

Model behaviour comes from the scenario file of conftest.py; outcomes are read over HTTP and from /proc.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from llm_workloads.openai_client import Endpoint, RetryPolicy, run_completions
from llm_workloads.prompts import build_messages
from sdk_harness import TOKEN, Emulator, alive, needs_node, reference_records, start_emulator, wait_until

pytestmark = needs_node

MODEL_ID = "qwen-local"


def service_config(name: str, compute_config: str, working_dir: Path, lora_root: str) -> Any:
    from anyscale.service.models import ServiceConfig

    return ServiceConfig(
        name=name,
        image_uri="anyscale/ray-llm:2.44.0-py311-cu124",
        compute_config=compute_config,
        working_dir=str(working_dir),
        query_auth_token_enabled=True,
        applications=[
            {
                "name": "llm",
                "import_path": "llm_workloads.serve_app:build_app",
                "args": {
                    "base_model": "Qwen/Qwen2.5-0.5B-Instruct",
                    "lora_root": lora_root,
                    "model_id": MODEL_ID,
                },
            }
        ],
    )


def status(sdk: Any, name: str) -> Any:
    return sdk.service.status(name=name)


def running(sdk: Any, name: str) -> Any:
    return wait_until(lambda: status(sdk, name), lambda s: str(s.state) == "RUNNING")


def canary_running(sdk: Any, name: str) -> Any:
    return wait_until(
        lambda: status(sdk, name),
        lambda s: s.canary_version is not None and str(s.canary_version.state) == "RUNNING",
    )


def ask(st: Any, adapter: str, record: dict[str, Any], canary: bool = False) -> httpx.Response:
    endpoint = Endpoint(st.query_url, st.query_auth_token, canary=canary)
    body = {"model": f"{MODEL_ID}:{adapter}", "messages": build_messages(record), "max_tokens": 64}
    return httpx.post(endpoint.completions_url, json=body, headers=endpoint.headers(), timeout=10)


def pids(emulator: Emulator, service_id: str) -> dict[str, int | None]:
    return {v["role"]: v["pid"] for v in emulator.admin(f"services/{service_id}/processes")["versions"]}


def workdir(tmp_path: Path) -> Path:
    """The service's working dir; left untouched once made (the SDK's package hash covers file times)."""
    folder = tmp_path / "serve_wd"
    if not folder.exists():
        folder.mkdir()
        (folder / "README").write_text("service working dir\n")
    return folder


def champion_and_held_canary(sdk: Any, name: str, compute_config: str, tmp_path: Path) -> tuple[Any, Any]:
    """Deploy a champion, then a challenger config as a silent canary at 0 %; both statuses once healthy."""
    wd = workdir(tmp_path)
    sdk.service.deploy(service_config(name, compute_config, wd, "s3://b/lora-v1"))
    champion = running(sdk, name)
    sdk.service.deploy(service_config(name, compute_config, wd, "s3://b/lora-v2"), canary_percent=0)
    return champion, canary_running(sdk, name)


def test_query_url_answers_with_the_bearer_token_and_refuses_without(
    sdk: Any, compute_config: str, tmp_path: Path
) -> None:
    sdk.service.deploy(service_config("svc-auth", compute_config, workdir(tmp_path), "s3://b/lora"))
    st = running(sdk, "svc-auth")
    assert st.query_url.startswith("http://127.0.0.1:")
    assert st.query_auth_token
    record = reference_records()[3]
    right = ask(st, "perfect", record)
    assert right.status_code == 200
    assert right.json()["choices"][0]["message"]["content"] == record["messages"][2]["content"]
    wrong = ask(st, "hopeless", record).json()["choices"][0]["message"]["content"]
    assert wrong != record["messages"][2]["content"]
    body = {"model": f"{MODEL_ID}:perfect", "messages": build_messages(record)}
    url = f"{st.query_url}/v1/chat/completions"
    assert httpx.post(url, json=body, timeout=10).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
    other = {**body, "model": "other-model:perfect"}
    auth = {"Authorization": f"Bearer {st.query_auth_token}"}
    assert httpx.post(url, json=other, headers=auth, timeout=10).status_code == 404
    sdk.service.terminate(name="svc-auth")


def test_scenario_accuracies_hold_and_are_reproducible(sdk: Any, compute_config: str, tmp_path: Path) -> None:
    sdk.service.deploy(service_config("svc-score", compute_config, workdir(tmp_path), "s3://b/lora"))
    st = running(sdk, "svc-score")
    records = reference_records()
    endpoint = Endpoint(st.query_url, st.query_auth_token)
    policy = RetryPolicy(timeout_s=10, max_retries=1)
    shares = {}
    for adapter in ("champion-run1", "challenger-run2"):
        bodies = [{"model": f"{MODEL_ID}:{adapter}", "messages": build_messages(r)} for r in records]
        first = run_completions(endpoint, bodies, concurrency=4, policy=policy)
        again = run_completions(endpoint, bodies, concurrency=4, policy=policy)
        assert [c.content for c in first] == [c.content for c in again]
        right = sum(c.content == r["messages"][2]["content"] for c, r in zip(first, records, strict=True))
        shares[adapter] = right / len(records)
    assert abs(shares["champion-run1"] - 0.7) <= 0.15
    assert abs(shares["challenger-run2"] - 0.85) <= 0.15
    assert shares["challenger-run2"] > shares["champion-run1"]
    sdk.service.terminate(name="svc-score")


def test_canary_held_at_0_routed_explicitly_moved_and_completed(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    first, held = champion_and_held_canary(sdk, "svc-canary", compute_config, tmp_path)
    champion = first.primary_version.name
    old_primary_pid = pids(emulator, first.id)["primary"]
    assert old_primary_pid is not None and alive(old_primary_pid)
    # The held canary's config again (same working dir package, same args): a re-apply moves it.
    challenger_config = service_config("svc-canary", compute_config, workdir(tmp_path), "s3://b/lora-v2")
    assert str(held.state) == "ROLLING_OUT"
    assert (held.primary_version.weight, held.canary_version.weight) == (100, 0)
    challenger = held.canary_version.name
    record = reference_records()[0]
    assert {ask(held, "perfect", record).headers["x-emulator-served-by"] for _ in range(4)} == {champion}
    routed = ask(held, "perfect", record, canary=True)  # what evaluate --canary sends
    assert (routed.status_code, routed.headers["x-emulator-served-by"]) == (200, challenger)

    sdk.service.deploy(challenger_config, canary_percent=50)  # same config: moves the held canary
    moved = status(sdk, "svc-canary")
    assert str(moved.state) == "ROLLING_OUT"
    assert (moved.canary_version.name, moved.canary_version.weight) == (challenger, 50)
    split = Counter(ask(moved, "perfect", record).headers["x-emulator-served-by"] for _ in range(10))
    assert split == {champion: 5, challenger: 5}

    sdk.service.deploy(challenger_config, canary_percent=100)
    done = running(sdk, "svc-canary")
    assert done.canary_version is None
    assert done.primary_version.name == challenger
    wait_until(lambda: alive(old_primary_pid), lambda a: a is False, timeout_s=10)
    assert ask(done, "perfect", record).headers["x-emulator-served-by"] == challenger
    sdk.service.terminate(name="svc-canary")


def test_rollback_drops_the_canary_and_stops_its_server(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    _, held = champion_and_held_canary(sdk, "svc-rollback", compute_config, tmp_path)
    canary_pid = pids(emulator, held.id)["canary"]
    assert canary_pid is not None and alive(canary_pid)
    sdk.service.rollback(name="svc-rollback")
    after = status(sdk, "svc-rollback")
    assert (str(after.state), after.canary_version) == ("RUNNING", None)
    wait_until(lambda: alive(canary_pid), lambda a: a is False, timeout_s=10)
    assert ask(after, "perfect", reference_records()[0], canary=True).status_code == 404
    sdk.service.terminate(name="svc-rollback")


def test_a_canary_that_never_gets_healthy_is_unhealthy_and_rolls_back(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    wd = workdir(tmp_path)
    sdk.service.deploy(service_config("svc-sick", compute_config, wd, "s3://b/lora-v1"))
    champion = running(sdk, "svc-sick")
    emulator.post_admin("faults", {"unhealthyServiceNames": ["svc-sick"]})
    sdk.service.deploy(service_config("svc-sick", compute_config, wd, "s3://b/lora-v2"), canary_percent=0)
    sick = wait_until(
        lambda: status(sdk, "svc-sick"),
        lambda s: s.canary_version is not None and str(s.canary_version.state) == "UNHEALTHY",
    )
    assert str(sick.state) == "UNHEALTHY"
    assert ask(sick, "perfect", reference_records()[0]).headers["x-emulator-served-by"] == (
        champion.primary_version.name
    )
    sdk.service.rollback(name="svc-sick")
    assert str(status(sdk, "svc-sick").state) == "RUNNING"
    sdk.service.terminate(name="svc-sick")


def test_terminate_stops_every_version_and_leaves_no_canary(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    _, held = champion_and_held_canary(sdk, "svc-term", compute_config, tmp_path)
    before = [p for p in pids(emulator, held.id).values() if p is not None]
    assert len(before) == 2
    sdk.service.terminate(name="svc-term")
    gone = wait_until(lambda: status(sdk, "svc-term"), lambda s: str(s.state) == "TERMINATED")
    assert gone.canary_version is None
    wait_until(lambda: [p for p in before if alive(p)], lambda left: left == [], timeout_s=10)
    assert ask(held, "perfect", reference_records()[0]).status_code == 503


def test_stopping_the_emulator_leaves_no_process_behind(tmp_path: Path, scenario_file: Path) -> None:
    import anyscale
    from anyscale.compute_config.models import ComputeConfig, HeadNodeConfig
    from anyscale.job.models import JobConfig

    emu = start_emulator(tmp_path / "emu", "--scenario", str(scenario_file))
    try:
        own = anyscale.Anyscale(auth_token=TOKEN, _host=emu.url)
        cc = own.compute_config.create(
            ComputeConfig(cloud="emulator-cloud", head_node=HeadNodeConfig(instance_type="m5.xlarge")),
            name="shutdown",
        )
        wd = workdir(tmp_path)
        job_id = own.job.submit(
            JobConfig(
                name="bg",
                entrypoint="echo $$ > leader.pid; sleep 600",
                compute_config=cc,
                working_dir=str(wd),
                max_retries=0,
            )
        )
        own.service.deploy(service_config("svc-shutdown", cc, wd, "s3://b/lora"))
        st = running(own, "svc-shutdown")
        unpacked = wait_until(
            lambda: emu.admin(f"jobs/{job_id}")["working_dir"],
            lambda d: d is not None and (Path(d) / "leader.pid").exists(),
        )
        started = [int((Path(unpacked) / "leader.pid").read_text()), pids(emu, st.id)["primary"]]
        assert all(p is not None and alive(p) for p in started)
    finally:
        emu.proc.send_signal(signal.SIGINT)
        assert emu.proc.wait(timeout=20) == 0
    assert [p for p in started if p is not None and alive(p)] == []
    try:
        httpx.post(f"{st.query_url}/v1/chat/completions", json={}, timeout=5)
    except httpx.ConnectError:
        pass  # the router's port is closed too
    else:
        raise AssertionError("the service's router still answers after the emulator stopped")
