"""The stable model name: which adapter a service version serves under the model line's name.

Users call one model name (the model line, e.g. `viggo`). Every service version maps it to exactly one
adapter, through two application args of the service spec: `model_alias` (the stable name) and
`alias_adapter` (the adapter it means in this version). The silent rollout is a version that maps the name
to the challenger; promotion gives that version 100 % of the traffic, so promotion changes what users get.
Champion and challenger stay reachable by their explicit ids (`<base model>:<adapter>`) for the evaluation.

`deploy_pinned` (used by `python -m llm_workloads.registry rollback --service`) redeploys a service's current
config with the stable name mapped to another adapter and waits until that version serves all traffic.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

ALIAS_NAME_ARG = "model_alias"
ALIAS_ADAPTER_ARG = "alias_adapter"


class ServingError(RuntimeError):
    """A service that cannot be redeployed as asked (the message names it)."""


def resolve_model(model: str, args: Mapping[str, Any]) -> str:
    """The model id a request for `model` means in a version with these application args.

    The stable name becomes `<base model>:<alias_adapter>`; every other id is served as named.
    """
    alias, adapter = args.get(ALIAS_NAME_ARG), args.get(ALIAS_ADAPTER_ARG)
    if alias and adapter and model == alias:
        return f"{args.get('model_id') or args.get('base_model')}:{adapter}"
    return model


def pinned_applications(applications: list[dict[str, Any]], adapter: str) -> list[dict[str, Any]]:
    """The applications with the stable name mapped to `adapter` (each must already carry the alias args)."""
    out = []
    for app in applications:
        args = dict(app.get("args") or {})
        if ALIAS_NAME_ARG not in args:
            raise ServingError(
                f"application {app.get('name')!r}: args have no {ALIAS_NAME_ARG} (no stable name)"
            )
        args[ALIAS_ADAPTER_ARG] = adapter
        out.append({**app, "args": args})
    return out


def _pinned_adapter(version: Any) -> str | None:
    apps = getattr(version.config, "applications", None) or []
    return (apps[0].get("args") or {}).get(ALIAS_ADAPTER_ARG) if apps else None


def deploy_pinned(service: str, adapter: str, timeout_s: float = 1800) -> None:
    """Deploy `service`'s primary config with the stable name mapped to `adapter`; wait for 100 %."""
    import anyscale
    from anyscale.service.models import ServiceState

    status = anyscale.service.status(name=service)
    if status.primary_version is None:
        raise ServingError(f"service {service}: no primary version to redeploy")
    if status.canary_version is not None:
        raise ServingError(
            f"service {service}: a rollout is in progress ({status.canary_version.name}); try later"
        )
    config = status.primary_version.config
    if _pinned_adapter(status.primary_version) == adapter:
        return
    # A new version: version names are unique per service, and the primary's must not be reused.
    pinned = config.options(
        applications=pinned_applications(list(config.applications), adapter), version_name=None
    )
    anyscale.service.deploy(pinned, name=service, canary_percent=100)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = anyscale.service.status(name=service)
        if (
            now.state == ServiceState.RUNNING
            and now.canary_version is None
            and now.primary_version is not None
            and _pinned_adapter(now.primary_version) == adapter
        ):
            return
        if now.state in (ServiceState.SYSTEM_FAILURE, ServiceState.TERMINATED):
            raise ServingError(f"service {service}: {now.state} while deploying adapter {adapter}")
        time.sleep(1)
    raise ServingError(f"service {service}: adapter {adapter} not serving 100 % within {timeout_s:.0f} s")
