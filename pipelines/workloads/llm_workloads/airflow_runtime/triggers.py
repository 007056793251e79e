"""Triggers that wait for Anyscale in the triggerer, so no worker slot is held while a job runs or a
service rolls out.

Each trigger polls the SDK in a thread (`asyncio.to_thread`: the SDK is blocking and must not stall the
triggerer's event loop), decides with `states`, and fires exactly one event:
`{"status": "done" | "failed" | "timeout" | "error", "detail": …}` plus what the operator needs to
finish. The deadline lives in the trigger (an absolute epoch time in its kwargs), so a timeout comes
back to the operator as an event and the operator cleans up (terminate the job, roll back the canary)
before failing; Airflow's own trigger timeout is only a later backstop. `on_kill` (a user marks the
deferred task failed or clears it) stops what the task started. Kwargs hold ids and names only: the
token is read from the Airflow connection where the trigger runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from llm_workloads.airflow_runtime.hooks import AnyscaleRuntimeHook
from llm_workloads.airflow_runtime.states import (
    RolloutGoal,
    job_progress,
    rollout_progress,
    rollout_seen,
    undo_step,
)

# Consecutive failed status calls before the wait gives up (transient API errors are retried).
MAX_POLL_ERRORS = 5


def max_poll_interval() -> float:
    """`[llm_platform] max_poll_interval_seconds` of the triggerer's Airflow config (env
    `AIRFLOW__LLM_PLATFORM__MAX_POLL_INTERVAL_SECONDS`): a deployment-wide cap on the DAGs' poll intervals,
    e.g. 1 s on the local stack, where jobs take seconds; unset, each task's own interval applies."""
    from airflow.configuration import conf

    return conf.getfloat("llm_platform", "max_poll_interval_seconds", fallback=float("inf"))


class _PollingTrigger(BaseTrigger):
    def __init__(self, conn_id: str, poll_interval: float, deadline: float) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline)

    def _hook(self) -> AnyscaleRuntimeHook:
        return AnyscaleRuntimeHook(self.conn_id)

    async def _sleep(self) -> None:
        interval = min(self.poll_interval, max_poll_interval())
        await asyncio.sleep(max(0.0, min(interval, self.deadline - time.time())))


class AnyscaleJobTrigger(_PollingTrigger):
    """Waits for a submitted Anyscale job to reach a terminal state."""

    def __init__(self, conn_id: str, job_id: str, poll_interval: float, deadline: float) -> None:
        super().__init__(conn_id, poll_interval, deadline)
        self.job_id = job_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "job_id": self.job_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        errors = 0
        while True:
            try:
                state = await asyncio.to_thread(hook.job_state, self.job_id)
                errors = 0
            except Exception as error:
                errors += 1
                self.log.warning("status of job %s failed (%d in a row): %s", self.job_id, errors, error)
                if errors >= MAX_POLL_ERRORS:
                    yield TriggerEvent({"status": "error", "detail": str(error), "job_id": self.job_id})
                    return
            else:
                progress = job_progress(state)
                self.log.info("job %s: %s", self.job_id, progress.detail)
                if progress.status != "waiting":
                    yield TriggerEvent(
                        {
                            "status": progress.status,
                            "detail": progress.detail,
                            "job_id": self.job_id,
                            "state": state,
                        }
                    )
                    return
            if time.time() >= self.deadline:
                yield TriggerEvent({"status": "timeout", "detail": "deadline passed", "job_id": self.job_id})
                return
            await self._sleep()

    async def on_kill(self) -> None:
        # The user killed the deferred task: nothing it started may keep running (and keep costing).
        await asyncio.to_thread(self._hook().terminate_job, self.job_id)
        self.log.info("terminated job %s", self.job_id)


class AnyscaleServiceTrigger(_PollingTrigger):
    """Waits for a service rollout to reach what its deploy asked for (see `states.rollout_progress`)."""

    def __init__(
        self,
        conn_id: str,
        service_name: str,
        goal: dict[str, Any],
        poll_interval: float,
        deadline: float,
        cloud: str | None = None,
        project: str | None = None,
    ) -> None:
        super().__init__(conn_id, poll_interval, deadline)
        self.service_name = service_name
        self.goal = dict(goal)
        self.cloud = cloud
        self.project = project

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "service_name": self.service_name,
                "goal": self.goal,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "cloud": self.cloud,
                "project": self.project,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        goal = RolloutGoal.from_dict(self.goal)
        seen = False
        errors = 0
        last = "no status yet"
        while True:
            try:
                snap = await asyncio.to_thread(
                    hook.service_snapshot, self.service_name, self.cloud, self.project
                )
                errors = 0
            except Exception as error:
                errors += 1
                self.log.warning("status of %s failed (%d in a row): %s", self.service_name, errors, error)
                if errors >= MAX_POLL_ERRORS:
                    yield TriggerEvent({"status": "error", "detail": str(error), "goal": self.goal})
                    return
            else:
                seen = seen or rollout_seen(goal, snap)
                progress = rollout_progress(goal, snap, seen)
                last = progress.detail
                self.log.info("service %s (%s): %s", self.service_name, goal.kind, progress.detail)
                if progress.status != "waiting":
                    yield TriggerEvent(
                        {
                            "status": progress.status,
                            "detail": progress.detail,
                            "snapshot": None if snap is None else snap.to_dict(),
                            "goal": self.goal,
                        }
                    )
                    return
            if time.time() >= self.deadline:
                yield TriggerEvent(
                    {"status": "timeout", "detail": f"deadline passed; last: {last}", "goal": self.goal}
                )
                return
            await self._sleep()

    async def on_kill(self) -> None:
        goal = RolloutGoal.from_dict(self.goal)
        hook = self._hook()
        if undo_step(goal) == "terminate":
            await asyncio.to_thread(hook.terminate_service, self.service_name, self.cloud, self.project)
        else:
            await asyncio.to_thread(hook.rollback_service, self.service_name, self.cloud, self.project)
        self.log.info("undid the unfinished rollout of %s (%s)", self.service_name, undo_step(goal))
