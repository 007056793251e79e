"""The teardown helper rendered into DAGs with a serviceTeardown task, run against a fake AnyscaleHook.

No Anyscale account is reachable here, so the hook is replaced; what is checked is the decision logic: what
the helper does for an absent service, a running one, a terminated one, with or without an unpromoted canary.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

CASE = Path(__file__).resolve().parents[2] / "golden" / "cases" / "asset-scheduled"
DAG_FILE = CASE / "dags" / "asset_consumer.py"


class FakeService:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def terminate(self, **kwargs: Any) -> str:
        self.calls.append(("terminate", kwargs))
        return "svc_1"

    def rollback(self, **kwargs: Any) -> str:
        self.calls.append(("rollback", kwargs))
        return "svc_1"


def _hook_class(status: Any, service: FakeService) -> type:
    class FakeHook:
        def __init__(self, conn_id: str) -> None:
            assert conn_id == "anyscale_conn"
            self.client = type("Client", (), {"service": service})()

        def get_service_status(self, name: str, cloud: str | None = None, project: str | None = None) -> Any:
            if isinstance(status, Exception):
                raise status
            return status

    return FakeHook


@pytest.fixture(scope="module")
def clean_up_service() -> Any:
    spec = importlib.util.spec_from_file_location("rendered_asset_consumer", DAG_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._clean_up_service


def _status(state: str, canary: object | None = None) -> Any:
    from anyscale.service.models import ServiceState  # the SDK's own enum, as ServiceStatus.state carries it

    return type("Status", (), {"state": ServiceState(state), "canary_version": canary})()


@pytest.mark.parametrize(
    ("action", "status", "want_result", "want_calls"),
    [
        ("terminate", RuntimeError("Service with name 'svc' was not found."), "absent", []),
        ("rollbackCanary", RuntimeError("Service with name 'svc' was not found."), "absent", []),
        ("terminate", _status("RUNNING"), "terminated", ["terminate"]),
        ("terminate", _status("TERMINATED"), "already terminated", []),
        ("terminate", _status("TERMINATING"), "already terminating", []),
        ("rollbackCanary", _status("RUNNING"), "no canary to roll back", []),
        ("rollbackCanary", _status("ROLLING_OUT", canary={"id": "v2"}), "rolled back", ["rollback"]),
    ],
)
def test_clean_up_service(
    monkeypatch: pytest.MonkeyPatch,
    clean_up_service: Any,
    action: str,
    status: Any,
    want_result: str,
    want_calls: list[str],
) -> None:
    import anyscale_provider.hooks.anyscale as hooks

    service = FakeService()
    monkeypatch.setattr(hooks, "AnyscaleHook", _hook_class(status, service))
    got = clean_up_service(conn_id="anyscale_conn", service_name="svc", action=action, cloud="c", project="p")
    assert got == want_result
    assert [c[0] for c in service.calls] == want_calls
    for _, kwargs in service.calls:
        assert kwargs == {"name": "svc", "cloud": "c", "project": "p"}


def test_other_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch, clean_up_service: Any) -> None:
    import anyscale_provider.hooks.anyscale as hooks

    monkeypatch.setattr(hooks, "AnyscaleHook", _hook_class(RuntimeError("401 Unauthorized"), FakeService()))
    with pytest.raises(RuntimeError, match="401"):
        clean_up_service(conn_id="anyscale_conn", service_name="svc", action="terminate")
