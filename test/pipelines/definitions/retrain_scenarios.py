"""Runs llm_retrain_rollout with `dag.test()` in real Airflow; Anyscale, Slack and decision calls recorded.

Usage: python retrain_scenarios.py DAGS_DIR SCENARIOS_JSON RESULT_FILE, in a fresh process with its own
AIRFLOW_HOME (no network needed). Each scenario is
{"decision": ..., "canary_left": <version or null>, "fail": [task ids]}.
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

import llm_workloads.airflow_tasks.decision as decision_module  # noqa: E402
from airflow.providers.slack.operators.slack import SlackAPIPostOperator  # noqa: E402
from anyscale_provider.hooks.anyscale import AnyscaleHook  # noqa: E402
from anyscale_provider.operators.anyscale import RolloutAnyscaleService, SubmitAnyscaleJob  # noqa: E402

calls: list[list[Any]] = []
scenario: dict[str, Any] = {}


def job_execute(self: Any, context: Any) -> str:
    calls.append(["job", self.task_id, self.entrypoint])
    if self.task_id in scenario.get("fail", []):
        raise RuntimeError(f"{self.task_id} failed")
    return "prodjob_1"


def service_execute(self: Any, context: Any) -> str:
    calls.append(["service", self.task_id, self.canary_percent])
    return "service_1"


def slack_execute(self: Any, context: Any) -> None:
    calls.append(["slack", self.task_id, self.text])


class Status:
    state = "RUNNING"
    canary_version = None


class Service:
    def rollback(self, name: str, **kwargs: Any) -> None:
        calls.append(["rollback", name])

    def terminate(self, name: str, **kwargs: Any) -> None:
        calls.append(["terminate", name])


class Client:
    service = Service()


def read_decision(decision_uri: str) -> dict[str, Any]:
    calls.append(["read_decision", decision_uri])
    return {"decision": scenario["decision"], "reason": "margin 0.05 >= 0.02"}


SubmitAnyscaleJob.execute = job_execute
RolloutAnyscaleService.execute = service_execute
SlackAPIPostOperator.execute = slack_execute
AnyscaleHook.__init__ = lambda self, *a, **k: None  # type: ignore[method-assign]
AnyscaleHook.get_service_status = lambda self, *a, **k: Status  # type: ignore[method-assign]
AnyscaleHook.client = Client()  # type: ignore[assignment,misc]
decision_module.read_decision = read_decision

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

dag = DagBag(dag_folder=sys.argv[1]).dags["llm_retrain_rollout"]
for t in dag.tasks:
    t.retries = 0  # failures must fail now, not wait for the retry delay
results = {}
for name, spec in json.loads(sys.argv[2]).items():
    scenario.clear()
    scenario.update(spec)
    Status.canary_version = spec.get("canary_left")  # type: ignore[assignment]
    calls.clear()
    t1 = time.time()
    dr = dag.test(run_after=None)
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    results[name] = {
        "state": str(dr.state),
        "tasks": states,
        "calls": list(calls),
        "seconds": round(time.time() - t1, 1),
    }
with open(sys.argv[3], "w", encoding="utf-8") as out:
    json.dump(results, out)
