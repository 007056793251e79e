"""The runtime's wait decisions, table-driven, over snapshots built from the installed SDK's own models.

Every state string below is checked to be a member of the SDK enum it claims to be (`JobState`,
`ServiceState`, `ServiceVersionState`), so a renamed or removed state fails here first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from anyscale.job.models import JobState
from anyscale.service.models import (
    ServiceConfig,
    ServiceState,
    ServiceStatus,
    ServiceVersionState,
    ServiceVersionStatus,
)
from llm_workloads.airflow_runtime.states import (
    JOB_DONE,
    JOB_FAILED,
    JOB_RUNNING,
    SERVICE_FAILED,
    VERSION_FAILED,
    RolloutGoal,
    ServiceSnapshot,
    VersionSnapshot,
    job_progress,
    rollout_progress,
    rollout_seen,
    teardown_step,
    undo_step,
)


def _values(enum: Any) -> set[str]:
    # ModelEnum also lists class-level helpers (JobState._TERMINAL_JOB_STATES); states are identifiers.
    return {s.value for s in enum if str(s.value).isidentifier()}


def test_every_state_named_is_an_sdk_state() -> None:
    assert set(JOB_DONE | JOB_FAILED | JOB_RUNNING) == _values(JobState)
    assert SERVICE_FAILED <= _values(ServiceState)
    assert VERSION_FAILED <= _values(ServiceVersionState)


@pytest.mark.parametrize(
    ("state", "want"),
    [
        ("STARTING", "waiting"),
        ("RUNNING", "waiting"),  # also "a run failed and retries remain"
        ("SUCCEEDED", "done"),
        ("FAILED", "failed"),
        ("TERMINATED", "failed"),
        ("UNKNOWN", "failed"),
        ("SOMETHING_NEW", "failed"),
    ],
)
def test_job_progress(state: str, want: str) -> None:
    assert job_progress(state).status == want


CREATED = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = ServiceConfig(applications=[{"import_path": "llm_workloads.serve_app:build_app"}])


def _version(vid: str, state: str, weight: int | None) -> ServiceVersionStatus:
    return ServiceVersionStatus(
        id=vid, name=vid, state=ServiceVersionState(state), weight=weight, created_at=CREATED, config=CONFIG
    )


def snap(state: str, primary: tuple[str, str, int] | None, canary: tuple[str, str, int] | None = None) -> Any:
    """A snapshot made from a real SDK ServiceStatus, the way the hook makes it."""
    status = ServiceStatus(
        id="service2_x",
        name="svc",
        state=ServiceState(state),
        query_url="http://svc",
        query_auth_token=None,
        primary_version=None if primary is None else _version(*primary),
        canary_version=None if canary is None else _version(*canary),
    )
    return ServiceSnapshot.from_status(status)


EXISTING = dict(existed=True, in_place=False, previous_primary_id="v1", previous_canary_id=None)
CANARY0 = RolloutGoal(canary_percent=0, **EXISTING)
CANARY10 = RolloutGoal(canary_percent=10, **EXISTING)
FULL = RolloutGoal(canary_percent=100, **EXISTING)
PROMOTE_HELD = RolloutGoal(
    canary_percent=100, existed=True, in_place=False, previous_primary_id="v1", previous_canary_id="v2"
)
CREATE = RolloutGoal(canary_percent=100, existed=False, in_place=False)


@pytest.mark.parametrize(
    ("goal", "snapshot", "seen", "want"),
    [
        # A held canary at 0 %: the service stays ROLLING_OUT; the canary being healthy is "done".
        (CANARY0, snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "STARTING", 0)), True, "waiting"),
        (CANARY0, snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "RUNNING", 0)), True, "done"),
        (CANARY10, snap("ROLLING_OUT", ("v1", "RUNNING", 90), ("v2", "RUNNING", 5)), True, "waiting"),
        (CANARY10, snap("ROLLING_OUT", ("v1", "RUNNING", 90), ("v2", "RUNNING", 10)), True, "done"),
        (CANARY0, snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "UNHEALTHY", 0)), True, "waiting"),
        (CANARY0, snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "SYSTEM_FAILURE", 0)), True, "failed"),
        (CANARY0, snap("ROLLING_BACK", ("v1", "RUNNING", 100), ("v2", "RUNNING", 0)), True, "failed"),
        # Before the new version shows up, a RUNNING service is a lagging read, not a rollback.
        (CANARY0, snap("RUNNING", ("v1", "RUNNING", 100)), False, "waiting"),
        (CANARY0, snap("RUNNING", ("v1", "RUNNING", 100)), True, "failed"),
        (CANARY0, None, True, "failed"),
        (CANARY0, snap("TERMINATED", None), True, "failed"),
        # 100 %: the new version must end up primary and alone.
        (FULL, snap("ROLLING_OUT", ("v1", "RUNNING", 50), ("v2", "RUNNING", 50)), True, "waiting"),
        (FULL, snap("RUNNING", ("v2", "RUNNING", 100)), True, "done"),
        (FULL, snap("RUNNING", ("v1", "RUNNING", 100)), False, "waiting"),
        (FULL, snap("RUNNING", ("v1", "RUNNING", 100)), True, "failed"),
        (FULL, snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "TERMINATED", 0)), True, "failed"),
        (PROMOTE_HELD, snap("RUNNING", ("v2", "RUNNING", 100)), True, "done"),
        (PROMOTE_HELD, snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "RUNNING", 0)), True, "waiting"),
        # A new service: RUNNING is the goal (Anyscale ignores canary_percent on create).
        (CREATE, snap("STARTING", ("v1", "STARTING", 100)), False, "waiting"),
        (CREATE, snap("RUNNING", ("v1", "RUNNING", 100)), False, "done"),
        (CREATE, snap("UNHEALTHY", ("v1", "UNHEALTHY", 100)), False, "waiting"),
        (CREATE, snap("SYSTEM_FAILURE", ("v1", "SYSTEM_FAILURE", 100)), False, "failed"),
    ],
)
def test_rollout_progress(goal: RolloutGoal, snapshot: Any, seen: bool, want: str) -> None:
    assert rollout_progress(goal, snapshot, seen).status == want


def test_goal_kinds_and_undo() -> None:
    assert [g.kind for g in (CANARY0, CANARY10, FULL, PROMOTE_HELD, CREATE)] == [
        "canary",
        "canary",
        "complete",
        "complete",
        "create",
    ]
    assert RolloutGoal(canary_percent=None, existed=True, in_place=True).kind == "in_place"
    assert RolloutGoal(canary_percent=None, existed=True, in_place=False).kind == "complete"
    assert undo_step(CREATE) == "terminate"
    assert {undo_step(g) for g in (CANARY0, FULL, PROMOTE_HELD)} == {"rollback"}


def test_rollout_seen() -> None:
    assert not rollout_seen(CANARY0, snap("RUNNING", ("v1", "RUNNING", 100)))
    assert rollout_seen(CANARY0, snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "STARTING", 0)))
    assert rollout_seen(FULL, snap("RUNNING", ("v2", "RUNNING", 100)))


def test_snapshots_and_goals_round_trip_as_json() -> None:
    import json

    s = snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "RUNNING", 0))
    assert ServiceSnapshot.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert RolloutGoal.from_dict(json.loads(json.dumps(PROMOTE_HELD.to_dict()))) == PROMOTE_HELD
    assert s.canary == VersionSnapshot("v2", "RUNNING", 0)


@pytest.mark.parametrize(
    ("action", "snapshot", "want"),
    [
        ("terminate", None, ("nothing", "absent")),
        ("rollbackCanary", None, ("nothing", "absent")),
        ("terminate", snap("RUNNING", ("v1", "RUNNING", 100)), ("terminate", "terminated")),
        ("terminate", snap("TERMINATED", None), ("nothing", "already terminated")),
        ("terminate", snap("TERMINATING", None), ("nothing", "already terminating")),
        ("rollbackCanary", snap("RUNNING", ("v1", "RUNNING", 100)), ("nothing", "no canary to roll back")),
        (
            "rollbackCanary",
            snap("ROLLING_OUT", ("v1", "RUNNING", 100), ("v2", "RUNNING", 0)),
            ("rollback", "rolled back"),
        ),
        (
            "rollbackCanary",
            snap("ROLLING_BACK", ("v1", "RUNNING", 100), ("v2", "RUNNING", 0)),
            ("nothing", "already rolling back"),
        ),
    ],
)
def test_teardown_step(action: str, snapshot: Any, want: tuple[str, str]) -> None:
    assert teardown_step(action, snapshot) == want


def test_unknown_teardown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="rollbackCanary or terminate"):
        teardown_step("delete", None)


def test_the_deployment_can_cap_the_poll_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_workloads.airflow_runtime.triggers import max_poll_interval

    monkeypatch.delenv("AIRFLOW__LLM_PLATFORM__MAX_POLL_INTERVAL_SECONDS", raising=False)
    assert max_poll_interval() == float("inf")
    monkeypatch.setenv("AIRFLOW__LLM_PLATFORM__MAX_POLL_INTERVAL_SECONDS", "0.5")
    assert max_poll_interval() == 0.5


def test_the_deployment_can_cap_every_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from llm_workloads.airflow_runtime.operators import AnyscaleJob, _remaining_seconds

    op = AnyscaleJob(
        task_id="j", conn_id="c", name="n", entrypoint="true", execution_timeout=timedelta(hours=1)
    )
    monkeypatch.delenv("AIRFLOW__LLM_PLATFORM__MAX_WAIT_SECONDS", raising=False)
    assert _remaining_seconds(op, 7200) == 3600  # execution_timeout bounds the wait
    assert _remaining_seconds(op, 60) == 60
    monkeypatch.setenv("AIRFLOW__LLM_PLATFORM__MAX_WAIT_SECONDS", "20")
    assert _remaining_seconds(op, 60) == 20
