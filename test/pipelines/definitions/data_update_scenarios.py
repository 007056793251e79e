"""Runs llm_data_update with `dag.test()` in real Airflow; source reads, Slack and the trigger are recorded.

Usage: python data_update_scenarios.py DAGS_DIR SCENARIOS_JSON RESULT_FILE, in a fresh process with its own
AIRFLOW_HOME (no network needed). Each scenario is {"new": <records new since the champion's dataset>,
"changed": <a new version was written>, "engine": "local" | "ray"}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from airflow.utils.db import initdb

initdb()

import llm_workloads.airflow_tasks.data_update as data_update  # noqa: E402
from airflow.providers.slack.hooks.slack import SlackHook  # noqa: E402
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator  # noqa: E402

calls: list[list[Any]] = []
scenario: dict[str, Any] = {}


def fetch(name: str) -> Any:
    def fake(**kwargs: Any) -> dict[str, Any]:
        calls.append([name, kwargs])
        return {
            "out_uri": kwargs["out_uri"],
            "count": 7,
            "cursor_uri": kwargs["out_uri"] + ".cursor.json",
            "lineage_generation": 4,
        }

    return fake


def plan(**kwargs: Any) -> dict[str, Any]:
    calls.append(["plan_build", kwargs])
    return {"plan_uri": kwargs["plan_uri"], "engine": scenario["engine"], "rows": 21}


def build(**kwargs: Any) -> dict[str, Any]:
    calls.append(["build_dataset", kwargs])
    return {"result_uri": "x", "changed": scenario["changed"]}


def publish(**kwargs: Any) -> dict[str, Any]:
    calls.append(["publish_dataset", kwargs])
    base = "s3://llm-platform-artifacts/datasets/viggo/v"
    return {
        "dataset_uri": base,
        "changed": scenario["changed"],
        "count": 1200,
        "added": 20,
        "replaced": 1,
        "removed": 0,
        "new_since_champion": scenario["new"],
        "rejected_count": 3,
        "rejected_uri": f"{base}/rejected.jsonl",
        "data_hash": "sha256:0",
        "lineage_generation": 5,
    }


def ray_job(self: Any, context: Any) -> None:
    # The runtime's deferrable AnyscaleJob: its submission is recorded (the emulator tests drive it for real).
    calls.append(["ray_job", self.entrypoint])


def slack_call(self: Any, api_method: str, **kwargs: Any) -> None:
    # The runtime's SlackPost runs for real; only the HTTP call of the provider's hook is recorded.
    calls.append(["slack", api_method, kwargs["json"]["text"], kwargs["json"]["channel"]])


def trigger_execute(self: Any, context: Any) -> None:
    # The runtime's TriggerPipeline builds the standard TriggerDagRunOperator when it runs; its execute is
    # recorded.
    calls.append(["trigger", self.trigger_dag_id, self.conf])


data_update.fetch_zendesk_tickets = fetch("zendesk")
data_update.fetch_slack_messages = fetch("slack_messages")
data_update.read_s3_jsonl_drop = fetch("s3_drop")
data_update.plan_build = plan
data_update.build_dataset = build
data_update.publish_dataset = publish
SlackHook.call = slack_call  # type: ignore[method-assign]
TriggerDagRunOperator.execute = trigger_execute
from llm_workloads.airflow_runtime.operators import AnyscaleJob  # noqa: E402

AnyscaleJob.execute = ray_job  # type: ignore[method-assign]

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

dag = DagBag(dag_folder=sys.argv[1]).dags["llm_data_update"]
for t in dag.tasks:
    t.retries = 0
results = {}
for name, spec in json.loads(sys.argv[2]).items():
    scenario.clear()
    scenario.update(spec)
    calls.clear()
    dr = dag.test()
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    results[name] = {"state": str(dr.state), "tasks": states, "calls": list(calls), "run_id": dr.run_id}
with open(sys.argv[3], "w", encoding="utf-8") as out:
    json.dump(results, out, default=str)
