"""Thin operators of the rendered DAGs. Importing this module imports `airflow.sdk` and nothing heavy.

- `AnyscaleJob` submits a job, defers to `AnyscaleJobTrigger` until it ends, fails with the job's last log
  lines when it did not succeed, and terminates it when the wait times out, errs or is killed.
- `AnyscaleServiceRollout` deploys a service version and defers until the rollout reached what was asked:
  a canary at 0-99 % is done when the canary version is healthy at that weight (the service itself stays
  ROLLING_OUT while a canary is held, so waiting for RUNNING would always time out); 100 % is done when the
  new version serves alone. A rollout that times out, fails or is killed is rolled back (a new service is
  terminated instead), so the version that served before keeps serving and nothing unpromoted keeps running.
  A canary rollout of a service that does not exist is refused: Anyscale would create the service with the
  "canary" serving all traffic.
- `AnyscaleServiceTeardown` rolls back an unpromoted canary or terminates a service; a no-op when there is
  nothing to do.
- `SlackPost` posts one message with the Slack provider's hook; `TriggerPipeline` triggers another DAG with
  the standard provider's `TriggerDagRunOperator`, built when the task runs.

The Anyscale operators keep the provider's argument names (`conn_id`, `name`, `compute_config`, …) and
build the SDK's own `JobConfig` / `ServiceConfig`, so what the SDK refuses fails the task with the SDK's
message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

# Airflow's own trigger timeout backs up the trigger's deadline (which fires first and cleans up).
BACKSTOP_SECONDS = 600


class AnyscaleTaskFailed(RuntimeError):
    """An Anyscale job or rollout did not end as required (the message says how, and what was undone)."""


def _remaining_seconds(operator: BaseOperator, wanted: float) -> float:
    """`wanted`, capped by the task's execution_timeout (a deferred wait must not outlive the task's limit)
    and by `[llm_platform] max_wait_seconds` (env `AIRFLOW__LLM_PLATFORM__MAX_WAIT_SECONDS`), a deployment
    wide cap the local stack sets so that a canary that never gets healthy fails in seconds, not after the 45
    minutes a real GPU rollout is given."""
    from airflow.configuration import conf

    timeout = operator.execution_timeout
    capped = wanted if timeout is None else min(wanted, timeout.total_seconds())
    return min(capped, conf.getfloat("llm_platform", "max_wait_seconds", fallback=float("inf")))


def _without_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class _AnyscaleOperator(BaseOperator):
    workload_fields: Sequence[str] = (
        "conn_id",
        "name",
        "image_uri",
        "containerfile",
        "compute_config",
        "working_dir",
        "excludes",
        "requirements",
        "env_vars",
        "cloud",
        "project",
    )

    def __init__(
        self,
        *,
        conn_id: str,
        name: str,
        compute_config: str | None = None,
        image_uri: str | None = None,
        containerfile: str | None = None,
        working_dir: str | None = None,
        excludes: list[str] | None = None,
        requirements: list[str] | None = None,
        env_vars: dict[str, str] | None = None,
        cloud: str | None = None,
        project: str | None = None,
        poll_interval: float = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.name = name
        self.compute_config = compute_config
        self.image_uri = image_uri
        self.containerfile = containerfile
        self.working_dir = working_dir
        self.excludes = excludes
        self.requirements = requirements
        self.env_vars = env_vars
        self.cloud = cloud
        self.project = project
        self.poll_interval = poll_interval

    def hook(self) -> Any:
        from llm_workloads.airflow_runtime.hooks import AnyscaleRuntimeHook

        return AnyscaleRuntimeHook(self.conn_id)

    def workload_params(self) -> dict[str, Any]:
        return _without_none(
            {
                "name": self.name,
                "image_uri": self.image_uri,
                "containerfile": self.containerfile,
                "compute_config": self.compute_config,
                "working_dir": self.working_dir,
                "excludes": self.excludes,
                "requirements": self.requirements,
                "env_vars": self.env_vars,
                "cloud": self.cloud,
                "project": self.project,
            }
        )


class AnyscaleJob(_AnyscaleOperator):
    template_fields: Sequence[str] = (*_AnyscaleOperator.workload_fields, "entrypoint")
    ui_color = "#d6e4ff"

    def __init__(
        self,
        *,
        entrypoint: str,
        max_retries: int = 1,
        job_timeout_seconds: float = 3600,
        tags: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.entrypoint = entrypoint
        self.max_retries = max_retries
        self.job_timeout_seconds = job_timeout_seconds
        self.tags = tags
        self.job_id: str | None = None

    def job_params(self) -> dict[str, Any]:
        return {
            **self.workload_params(),
            "entrypoint": self.entrypoint,
            "max_retries": self.max_retries,
            "timeout_s": int(self.job_timeout_seconds),
            **({"tags": self.tags} if self.tags else {}),
        }

    def execute(self, context: Any) -> None:
        from llm_workloads.airflow_runtime.triggers import AnyscaleJobTrigger

        self.job_id = self.hook().submit_job(self.job_params())
        self.log.info("submitted Anyscale job %s (%s); waiting in the triggerer", self.job_id, self.name)
        context["ti"].xcom_push(key="job_id", value=self.job_id)
        # Anyscale enforces timeout_s itself; two polls of grace let its own verdict arrive first.
        wait = _remaining_seconds(self, self.job_timeout_seconds + 2 * float(self.poll_interval))
        self.defer(
            trigger=AnyscaleJobTrigger(
                conn_id=self.conn_id,
                job_id=self.job_id,
                poll_interval=float(self.poll_interval),
                deadline=time.time() + wait,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=wait + BACKSTOP_SECONDS),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> str:
        job_id = str(event["job_id"])
        if event["status"] == "done":
            self.log.info("Anyscale job %s succeeded", job_id)
            return job_id
        hook = self.hook()
        undone = ""
        if event["status"] in ("timeout", "error"):
            try:
                hook.terminate_job(job_id)
                undone = "; the job was terminated"
            except Exception as error:  # report the original failure, with the cleanup's
                undone = f"; terminating the job failed too: {error}"
        tail = hook.job_logs_tail(job_id)
        raise AnyscaleTaskFailed(
            f"Anyscale job {self.name} ({job_id}): {event['status']}: {event.get('detail')}{undone}\n"
            f"last log lines:\n{tail}"
        )

    def on_kill(self) -> None:
        if self.job_id is not None:
            self.hook().terminate_job(self.job_id)
            self.log.info("terminated Anyscale job %s", self.job_id)


class AnyscaleServiceRollout(_AnyscaleOperator):
    template_fields: Sequence[str] = (*_AnyscaleOperator.workload_fields, "applications")
    ui_color = "#d9f7be"

    def __init__(
        self,
        *,
        applications: list[dict[str, Any]],
        query_auth_token_enabled: bool = True,
        in_place: bool = False,
        canary_percent: int | None = None,
        max_surge_percent: int | None = None,
        rollout_timeout_seconds: float = 900,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.applications = applications
        self.query_auth_token_enabled = query_auth_token_enabled
        self.in_place = in_place
        self.canary_percent = canary_percent
        self.max_surge_percent = max_surge_percent
        self.rollout_timeout_seconds = rollout_timeout_seconds
        self._goal: dict[str, Any] | None = None

    def service_params(self) -> dict[str, Any]:
        return {
            **self.workload_params(),
            "applications": self.applications,
            "query_auth_token_enabled": self.query_auth_token_enabled,
        }

    def execute(self, context: Any) -> None:
        from llm_workloads.airflow_runtime.states import RolloutGoal
        from llm_workloads.airflow_runtime.triggers import AnyscaleServiceTrigger

        hook = self.hook()
        before = hook.service_snapshot(self.name, self.cloud, self.project)
        existed = before is not None and before.state not in ("TERMINATED", "TERMINATING")
        if not existed and self.canary_percent is not None and self.canary_percent < 100:
            raise AnyscaleTaskFailed(
                f"service {self.name} is not running: a {self.canary_percent} % canary needs a primary "
                "version to keep serving (Anyscale would create the service with this version serving all "
                "traffic)"
            )
        goal = RolloutGoal(
            canary_percent=self.canary_percent,
            in_place=self.in_place,
            existed=existed,
            previous_primary_id=before.primary.id if before and before.primary else None,
            previous_canary_id=before.canary.id if before and before.canary else None,
        )
        held = self._held_canary_of_this_run(hook) if before is not None and before.canary else None
        if held is not None:
            # Move the held canary itself: the exact version that was evaluated, whatever changed on this
            # worker since (a redeployed DAG bundle changes the uploaded working dir, hence the config).
            self.log.info(
                "moving the held canary %s of %s to %s %%", before.canary.id, self.name, self.canary_percent
            )  # type: ignore[union-attr]
            hook.redeploy(held, canary_percent=self.canary_percent, max_surge_percent=self.max_surge_percent)
        else:
            hook.deploy_service(
                self.service_params(),
                in_place=self.in_place,
                canary_percent=self.canary_percent,
                max_surge_percent=self.max_surge_percent,
            )
        self._goal = goal.to_dict()
        self.log.info("deployed %s (%s rollout); waiting in the triggerer", self.name, goal.kind)
        wait = _remaining_seconds(self, float(self.rollout_timeout_seconds))
        self.defer(
            trigger=AnyscaleServiceTrigger(
                conn_id=self.conn_id,
                service_name=self.name,
                goal=self._goal,
                poll_interval=float(self.poll_interval),
                deadline=time.time() + wait,
                cloud=self.cloud,
                project=self.project,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=wait + BACKSTOP_SECONDS),
        )

    def _held_canary_of_this_run(self, hook: Any) -> Any | None:
        """The held canary's config when it pins the adapter this task's spec pins (this run's challenger)."""
        if self.in_place or self.canary_percent is None:
            return None
        config = hook.held_canary_config(self.name, self.cloud, self.project)
        if config is None:
            return None

        def pinned(apps: Any) -> Any:
            first = (list(apps or []) or [{}])[0]
            return (first.get("args") or {}).get("alias_adapter") if isinstance(first, dict) else None

        ours = pinned(self.applications)
        return config if ours is not None and pinned(getattr(config, "applications", None)) == ours else None

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        # The goal travels in the event: dag.test() and the triggerer both hand back only the event.
        goal: dict[str, Any] = event["goal"]
        if event["status"] == "done":
            self.log.info("rollout of %s done: %s", self.name, event.get("detail"))
            return {"service": self.name, "detail": event.get("detail"), "snapshot": event.get("snapshot")}
        undone = self._undo(goal)
        raise AnyscaleTaskFailed(
            f"rollout of {self.name}: {event['status']}: {event.get('detail')}; {undone}"
        )

    def _undo(self, goal: dict[str, Any]) -> str:
        from llm_workloads.airflow_runtime.states import RolloutGoal, undo_step

        step = undo_step(RolloutGoal.from_dict(goal))
        hook = self.hook()
        try:
            if step == "terminate":
                hook.terminate_service(self.name, self.cloud, self.project)
                return "the new service was terminated"
            hook.rollback_service(self.name, self.cloud, self.project)
            return "the rollout was rolled back; the previous version keeps serving"
        except Exception as error:
            return f"undoing the rollout ({step}) failed: {error}"

    def on_kill(self) -> None:
        if self._goal is not None:
            self.log.info("killed during the rollout of %s: %s", self.name, self._undo(self._goal))


class AnyscaleServiceTeardown(BaseOperator):
    """Teardown of a rollout: `rollbackCanary` drops an unpromoted canary, `terminate` stops the service."""

    template_fields: Sequence[str] = ("conn_id", "service_name", "cloud", "project")
    ui_color = "#fff1b8"

    def __init__(
        self,
        *,
        conn_id: str,
        service_name: str,
        action: str,
        cloud: str | None = None,
        project: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if action not in ("rollbackCanary", "terminate"):
            raise ValueError(f"{self.task_id}: action must be rollbackCanary or terminate, got {action!r}")
        self.conn_id = conn_id
        self.service_name = service_name
        self.action = action
        self.cloud = cloud
        self.project = project

    def execute(self, context: Any) -> str:
        from llm_workloads.airflow_runtime.hooks import AnyscaleRuntimeHook
        from llm_workloads.airflow_runtime.states import teardown_step

        hook = AnyscaleRuntimeHook(self.conn_id)
        step, outcome = teardown_step(
            self.action, hook.service_snapshot(self.service_name, self.cloud, self.project)
        )
        if step == "rollback":
            hook.rollback_service(self.service_name, self.cloud, self.project)
        elif step == "terminate":
            hook.terminate_service(self.service_name, self.cloud, self.project)
        self.log.info("%s: %s", self.service_name, outcome)
        return outcome


class SlackPost(BaseOperator):
    """Posts `text` to `channel` (chat.postMessage) through the Slack provider's hook."""

    template_fields: Sequence[str] = ("slack_conn_id", "channel", "text")
    ui_color = "#ffd6e7"

    def __init__(self, *, slack_conn_id: str, channel: str, text: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slack_conn_id = slack_conn_id
        self.channel = channel
        self.text = text

    def execute(self, context: Any) -> None:
        from airflow.providers.slack.hooks.slack import SlackHook

        SlackHook(slack_conn_id=self.slack_conn_id).call(
            "chat.postMessage", json={"channel": self.channel, "text": self.text}
        )


class TriggerPipeline(BaseOperator):
    """Triggers another DAG; the standard TriggerDagRunOperator does the work, built when the task runs."""

    template_fields: Sequence[str] = ("trigger_dag_id", "conf")
    ui_color = "#efdbff"

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        conf: dict[str, Any] | None = None,
        wait_for_completion: bool = False,
        poke_interval: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.conf = conf
        self.wait_for_completion = wait_for_completion
        self.poke_interval = poke_interval

    def _delegate(self) -> Any:
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

        return TriggerDagRunOperator(
            task_id=self.task_id,
            trigger_dag_id=self.trigger_dag_id,
            conf=self.conf,
            wait_for_completion=self.wait_for_completion,
            poke_interval=self.poke_interval,
            deferrable=self.wait_for_completion,  # waiting for the other DAG holds no worker either
        )

    def execute(self, context: Any) -> Any:
        return self._delegate().execute(context)

    def execute_complete(self, context: Any, event: Any) -> Any:
        return self._delegate().execute_complete(context, event)


class SlackFailureAlert:
    """`on_failure_callback` of every task of a pipeline with a `failureAlert`: names the step that failed.

    Runs in the failed task's process after its last try (Airflow calls `on_retry_callback`, not this, for
    tries that will be retried), so exactly the failed step is named; tasks skipped as upstream_failed post
    nothing. Only the first line of the error goes to Slack (job logs stay in the task log). A failure to post
    is logged, never raised: it must not mask the task's own failure.
    """

    def __init__(self, *, slack_conn_id: str, channel: str) -> None:
        self.slack_conn_id = slack_conn_id
        self.channel = channel

    def message(self, context: Any) -> str:
        ti = context["ti"]
        error = str(context.get("exception") or "no error recorded").strip().splitlines() or [""]
        first = error[0][:300]
        return (
            f":x: `{ti.dag_id}` run `{context['run_id']}`: step `{ti.task_id}` failed "
            f"(try {ti.try_number}): {first}"
        )

    def __call__(self, context: Any) -> None:
        import logging

        try:
            from airflow.providers.slack.hooks.slack import SlackHook

            SlackHook(slack_conn_id=self.slack_conn_id).call(
                "chat.postMessage", json={"channel": self.channel, "text": self.message(context)}
            )
        except Exception:  # the task already failed; the alert's own failure goes to the log
            logging.getLogger(__name__).exception("could not post the failure alert to %s", self.channel)
