"""When is an Anyscale wait done? Pure decisions over plain status snapshots (no SDK, no Airflow).

The states come from the installed `anyscale` SDK (0.26.x), `anyscale/job/models.py` and
`anyscale/service/models.py`; the strings are the enum values, so a snapshot built from a real
`ServiceStatus` and one built by hand compare equal. Evidence for each rule:

- Job: `JobState` is STARTING, RUNNING, FAILED, SUCCEEDED, TERMINATED, UNKNOWN, and the SDK's own
  `JobState.is_terminal` names SUCCEEDED, FAILED and TERMINATED. RUNNING also covers "a run failed and
  retries remain" (its docstring), so only the terminal states end a wait. UNKNOWN means the SDK got a
  state it does not know; the provider fails on it and so do we, rather than poll forever.
- Service held at a canary split: `ServiceState.ROLLING_OUT` is "The service is rolling out to a new
  canary version", and Anyscale's rollout pauses at the requested split until a deploy with
  `canary_percent=100` completes it (docs, "canary rollouts"). So a 0-99 % rollout never sees the
  service RUNNING; the provider's own `AnyscaleServiceTrigger._get_current_state` reads
  `canary_version.state` for exactly this case. We wait for the canary version to be RUNNING
  ("running and healthy", `ServiceVersionState.RUNNING`) at the asked weight.
- 100 % / full rollout: done when the service is RUNNING with no canary and a primary version other than
  the one serving before the deploy (after a held canary is completed, that canary becomes primary).
- UNHEALTHY (service or version) "should automatically recover" in most cases (SDK docstring): it is a
  reason to keep waiting until the deadline, not a failure. SYSTEM_FAILURE, TERMINATING and TERMINATED are
  failures; ROLLING_BACK during a rollout means Anyscale (or someone) is undoing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

JOB_DONE = frozenset({"SUCCEEDED"})
JOB_FAILED = frozenset({"FAILED", "TERMINATED", "UNKNOWN"})
JOB_RUNNING = frozenset({"STARTING", "RUNNING"})

SERVICE_FAILED = frozenset({"SYSTEM_FAILURE", "TERMINATING", "TERMINATED", "UNKNOWN"})
VERSION_FAILED = frozenset({"SYSTEM_FAILURE", "TERMINATING", "TERMINATED"})

ProgressStatus = Literal["done", "waiting", "failed"]


@dataclass(frozen=True)
class Progress:
    status: ProgressStatus
    detail: str


@dataclass(frozen=True)
class VersionSnapshot:
    id: str
    state: str
    weight: int | None = None


@dataclass(frozen=True)
class ServiceSnapshot:
    """What `anyscale.service.status(name)` said, reduced to what the decisions need."""

    state: str
    primary: VersionSnapshot | None
    canary: VersionSnapshot | None

    @staticmethod
    def from_status(status: Any) -> ServiceSnapshot:
        """From an SDK `ServiceStatus` (or anything with the same attributes)."""

        def version(v: Any) -> VersionSnapshot | None:
            if v is None:
                return None
            weight = getattr(v, "weight", None)
            return VersionSnapshot(str(v.id), str(v.state), None if weight is None else int(weight))

        return ServiceSnapshot(
            str(status.state), version(status.primary_version), version(status.canary_version)
        )

    def to_dict(self) -> dict[str, Any]:
        def version(v: VersionSnapshot | None) -> dict[str, Any] | None:
            return None if v is None else {"id": v.id, "state": v.state, "weight": v.weight}

        return {"state": self.state, "primary": version(self.primary), "canary": version(self.canary)}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ServiceSnapshot:
        def version(v: Mapping[str, Any] | None) -> VersionSnapshot | None:
            return None if v is None else VersionSnapshot(str(v["id"]), str(v["state"]), v.get("weight"))

        return ServiceSnapshot(str(data["state"]), version(data.get("primary")), version(data.get("canary")))


def job_progress(state: str) -> Progress:
    if state in JOB_DONE:
        return Progress("done", f"job {state}")
    if state in JOB_RUNNING:
        return Progress("waiting", f"job {state}")
    if state in JOB_FAILED:
        return Progress("failed", f"job ended {state}")
    return Progress("failed", f"job in a state this runtime does not know: {state}")


RolloutKind = Literal["create", "in_place", "canary", "complete"]


@dataclass(frozen=True)
class RolloutGoal:
    """What one deploy asked for, and which versions served before it (read just before deploying)."""

    canary_percent: int | None
    in_place: bool
    existed: bool
    previous_primary_id: str | None = None
    previous_canary_id: str | None = None

    @property
    def kind(self) -> RolloutKind:
        if not self.existed:
            return "create"  # Anyscale ignores canary_percent when it creates the service
        if self.in_place:
            return "in_place"
        if self.canary_percent is not None and self.canary_percent < 100:
            return "canary"
        return "complete"

    def to_dict(self) -> dict[str, Any]:
        return {
            "canary_percent": self.canary_percent,
            "in_place": self.in_place,
            "existed": self.existed,
            "previous_primary_id": self.previous_primary_id,
            "previous_canary_id": self.previous_canary_id,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> RolloutGoal:
        percent = data.get("canary_percent")
        return RolloutGoal(
            canary_percent=None if percent is None else int(percent),
            in_place=bool(data["in_place"]),
            existed=bool(data["existed"]),
            previous_primary_id=data.get("previous_primary_id"),
            previous_canary_id=data.get("previous_canary_id"),
        )


def rollout_progress(goal: RolloutGoal, snap: ServiceSnapshot | None, seen_rollout: bool) -> Progress:
    """Decide one poll of a rollout. `seen_rollout`: an earlier poll saw this deploy's new version."""
    if snap is None:
        return Progress("failed", "the service no longer exists")
    if snap.state in SERVICE_FAILED:
        return Progress("failed", f"service state {snap.state}")
    kind = goal.kind
    if kind in ("create", "in_place"):
        if snap.state == "RUNNING" and (snap.primary is None or snap.primary.state == "RUNNING"):
            return Progress("done", "service RUNNING")
        return Progress("waiting", f"service {snap.state}")
    if snap.state == "ROLLING_BACK":
        return Progress("failed", "the rollout is being rolled back")
    if kind == "canary":
        canary = snap.canary
        if canary is None or canary.id == goal.previous_primary_id:
            if snap.state == "RUNNING" and seen_rollout:
                return Progress("failed", "the canary is gone (rolled back or completed by someone else)")
            return Progress("waiting", f"service {snap.state}, no canary version yet")
        if canary.state in VERSION_FAILED:
            return Progress("failed", f"canary version {canary.id} {canary.state}")
        if canary.state != "RUNNING":
            return Progress("waiting", f"canary version {canary.id} {canary.state}")
        if canary.weight is not None and canary.weight != goal.canary_percent:
            return Progress(
                "waiting", f"canary version {canary.id} at {canary.weight} %, not yet {goal.canary_percent} %"
            )
        return Progress(
            "done", f"canary version {canary.id} RUNNING at {goal.canary_percent} % (service {snap.state})"
        )
    # complete: the new version must end up primary, alone, healthy.
    primary = snap.primary
    if snap.canary is not None:
        if snap.canary.state in VERSION_FAILED:
            return Progress("failed", f"new version {snap.canary.id} {snap.canary.state}")
        return Progress("waiting", f"service {snap.state}, new version {snap.canary.id} {snap.canary.state}")
    if primary is not None and primary.id != goal.previous_primary_id:
        if snap.state == "RUNNING" and primary.state == "RUNNING":
            return Progress("done", f"version {primary.id} serves 100 %")
        return Progress("waiting", f"service {snap.state}, version {primary.id} {primary.state}")
    if snap.state == "RUNNING" and seen_rollout:
        return Progress("failed", "the rollout was rolled back; the previous version still serves")
    return Progress("waiting", f"service {snap.state}, rollout not visible yet")


def rollout_seen(goal: RolloutGoal, snap: ServiceSnapshot | None) -> bool:
    """Does this snapshot show the deploy's new version (as canary, or as a new primary)?"""
    if snap is None:
        return False
    if snap.canary is not None and snap.canary.id != goal.previous_primary_id:
        return True
    return snap.primary is not None and snap.primary.id != goal.previous_primary_id


TeardownStep = Literal["nothing", "rollback", "terminate"]


def teardown_step(action: str, snap: ServiceSnapshot | None) -> tuple[TeardownStep, str]:
    """What a teardown (`rollbackCanary` or `terminate`) must do to the service as it is now."""
    if action not in ("rollbackCanary", "terminate"):
        raise ValueError(f"unknown teardown action {action!r} (rollbackCanary or terminate)")
    if snap is None:
        return "nothing", "absent"
    if action == "terminate":
        if snap.state in ("TERMINATED", "TERMINATING"):
            return "nothing", "already " + snap.state.lower()
        return "terminate", "terminated"
    if snap.canary is None:
        return "nothing", "no canary to roll back"
    if snap.state == "ROLLING_BACK":
        return "nothing", "already rolling back"
    return "rollback", "rolled back"


def undo_step(goal: RolloutGoal) -> TeardownStep:
    """How to undo an unfinished rollout when its wait is killed, times out or fails.

    A new service has no earlier version to return to, so it is terminated; otherwise the unpromoted new
    version is rolled back and the version that served before keeps serving.
    """
    return "terminate" if goal.kind == "create" else "rollback"
