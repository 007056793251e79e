"""Runs llm_retrain_rollout with `dag.test()` in real Airflow, through the runtime's operators and triggers.

Usage: python retrain_scenarios.py DAGS_DIR SCENARIOS_JSON RESULT_FILE, in a fresh process with its own
AIRFLOW_HOME (no network needed). Only the runtime hook's SDK calls are replaced, by a small in-memory
Anyscale (jobs that end as scripted, one service with primary and canary versions as Anyscale documents
them); the operators, the deferral, the triggers (dag.test runs them in line) and the state decisions
are the real code.
Each scenario is {"decision": ..., "fail_jobs": [job names], "hang_jobs": [job names],
"canary_never_healthy": bool}.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

t0 = time.time()
from airflow.utils.db import initdb  # noqa: E402

initdb()
print("initdb", round(time.time() - t0, 1), file=sys.stderr)

import llm_workloads.airflow_tasks.benchmark as benchmark_tasks  # noqa: E402
import llm_workloads.airflow_tasks.decision as decision_module  # noqa: E402
import llm_workloads.airflow_tasks.registry as registry_tasks  # noqa: E402
from airflow.providers.slack.hooks.slack import SlackHook  # noqa: E402
from llm_workloads.airflow_runtime.hooks import AnyscaleRuntimeHook  # noqa: E402
from llm_workloads.airflow_runtime.states import ServiceSnapshot, VersionSnapshot  # noqa: E402

calls: list[list[Any]] = []
scenario: dict[str, Any] = {}


class World:
    """What Anyscale holds: job states by id, and the one service's versions."""

    jobs: dict[str, tuple[str, str]] = {}
    service: ServiceSnapshot | None = None
    versions = 0

    @classmethod
    def reset(cls) -> None:
        cls.jobs = {}
        cls.versions = 1
        cls.service = ServiceSnapshot("RUNNING", VersionSnapshot("v1", "RUNNING", 100), None)


def submit_job(self: Any, params: dict[str, Any]) -> str:
    name = params["name"]
    calls.append(["job", name, params["entrypoint"]])
    job_id = f"prodjob_{len(World.jobs) + 1}"
    state = (
        "FAILED"
        if name in scenario.get("fail_jobs", [])
        else "RUNNING"
        if name in scenario.get("hang_jobs", [])
        else "SUCCEEDED"
    )
    World.jobs[job_id] = (name, state)
    return job_id


def job_state(self: Any, job_id: str) -> str:
    return World.jobs[job_id][1]


def terminate_job(self: Any, job_id: str) -> None:
    name, _ = World.jobs[job_id]
    calls.append(["terminate_job", name])
    World.jobs[job_id] = (name, "TERMINATED")


def job_logs_tail(self: Any, job_id: str, lines: int = 40) -> str:
    return f"log of {World.jobs[job_id][0]}"


def service_snapshot(self: Any, name: str, cloud: Any, project: Any) -> ServiceSnapshot | None:
    return World.service


def deploy_service(
    self: Any, params: dict[str, Any], *, in_place: bool, canary_percent: Any, **_: Any
) -> str:
    calls.append(["service", params["name"], canary_percent])
    s = World.service
    assert s is not None and s.primary is not None
    if canary_percent is not None and canary_percent < 100:
        World.versions += 1
        state = "STARTING" if scenario.get("canary_never_healthy") else "RUNNING"
        World.service = ServiceSnapshot(
            "ROLLING_OUT", s.primary, VersionSnapshot(f"v{World.versions}", state, canary_percent)
        )
    else:  # 100 %: a held canary is completed, else a new version takes over
        if s.canary is None:
            World.versions += 1
        new_id = s.canary.id if s.canary is not None else f"v{World.versions}"
        World.service = ServiceSnapshot("RUNNING", VersionSnapshot(new_id, "RUNNING", 100), None)
    return "service2_1"


def held_canary_config(self: Any, name: str, cloud: Any, project: Any) -> None:
    return None  # the in-memory service has no configs: promotion re-applies the task's spec


def rollback_service(self: Any, name: str, cloud: Any, project: Any) -> None:
    calls.append(["rollback", name])
    s = World.service
    assert s is not None
    World.service = ServiceSnapshot("RUNNING", s.primary, None)


def terminate_service(self: Any, name: str, cloud: Any, project: Any) -> None:
    calls.append(["terminate_service", name])


def slack_call(self: Any, api_method: str, **kwargs: Any) -> None:
    calls.append(["slack", kwargs["json"]["channel"], kwargs["json"]["text"]])


def read_decision(decision_uri: str) -> dict[str, Any]:
    calls.append(["read_decision", decision_uri])
    return {"decision": scenario["decision"], "reason": "margin 0.05 >= 0.02"}


for fn in (
    submit_job,
    job_state,
    terminate_job,
    job_logs_tail,
    service_snapshot,
    deploy_service,
    held_canary_config,
    rollback_service,
    terminate_service,
):
    setattr(AnyscaleRuntimeHook, fn.__name__, fn)
SlackHook.call = slack_call  # type: ignore[method-assign]
decision_module.read_decision = read_decision


def read_champion(registry_uri: str, override: str = "") -> dict[str, Any]:
    calls.append(["registry_read", registry_uri, override])
    return {"adapter": override or "viggo-champion", "generation": 7, "overridden": bool(override)}


def record_champion(registry_uri: str, kind: str, adapter: str, **kwargs: Any) -> dict[str, Any]:
    calls.append(["registry_record", kind, adapter, kwargs["expected_generation"]])
    calls.append(
        ["registry_record_benchmark", kwargs.get("benchmark_uri"), kwargs.get("champion_evaluation_uri")]
    )
    return {"generation": kwargs["expected_generation"] + 1, "adapter": adapter}


PINNED = {
    "version": 3,
    "sha256": "ab" * 32,
    "items": 60,
    "meaning_groups": 20,
    "file_uri": "s3://llm-platform-artifacts/benchmarks/viggo/files/abab.jsonl",
    "uri": "s3://llm-platform-artifacts/benchmarks/viggo/versions/000003.json",
    "champion_measured_on": 2,
    "champion_reevaluated": True,
}


def pin_benchmark(
    benchmarks_uri: str, registry_uri: str = "", bootstrap_test_uri: str = ""
) -> dict[str, Any]:
    calls.append(["benchmark_pin", benchmarks_uri, registry_uri, bootstrap_test_uri])
    return dict(PINNED)


registry_tasks.read_champion = read_champion
registry_tasks.record_champion = record_champion
benchmark_tasks.pin_benchmark = pin_benchmark

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

dag = DagBag(dag_folder=sys.argv[1]).dags["llm_retrain_rollout"]
for t in dag.tasks:
    t.retries = 0  # failures must fail now, not wait for the retry delay
    if hasattr(t, "poll_interval"):
        t.poll_interval = 0.05  # the triggers' sleeps; the deadlines below are what a scenario waits for
    if hasattr(t, "rollout_timeout_seconds"):
        t.rollout_timeout_seconds = 1
    if hasattr(t, "job_timeout_seconds"):
        t.job_timeout_seconds = 1
results = {}
for name, spec in json.loads(sys.argv[2]).items():
    scenario.clear()
    scenario.update(spec)
    World.reset()
    calls.clear()
    t1 = time.time()
    dr = dag.test(run_after=None)
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    results[name] = {
        "state": str(dr.state),
        "tasks": states,
        "calls": list(calls),
        "service": None if World.service is None else World.service.to_dict(),
        "jobs": {job_id: list(v) for job_id, v in World.jobs.items()},
        "seconds": round(time.time() - t1, 1),
    }
with open(sys.argv[3], "w", encoding="utf-8") as out:
    json.dump(results, out)
