"""The hook that holds the Anyscale client: every SDK call of the runtime goes through it.

The client is the one `astro-provider-anyscale`'s `AnyscaleHook` builds from the Airflow connection (the
token is the connection's password; the host comes from `ANYSCALE_HOST`), so connections configured for
the provider keep working. The SDK and the provider are imported on first use, inside a running task or
trigger, never when a DAG file is parsed. Methods are blocking; triggers call them in a thread.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from functools import cached_property
from typing import Any

from llm_workloads.airflow_runtime.states import ServiceSnapshot

_BEARER = re.compile(r"(Bearer\s+)[^\s'\"]+")


class _RedactingStream(io.TextIOBase):
    """Writes through to `stream` with bearer tokens replaced by `***`."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(_BEARER.sub(r"\1***", text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


@contextmanager
def redacted_sdk_output() -> Iterator[None]:
    """The SDK prints a ready-made `curl -H "Authorization: Bearer <query token>"` line after every deploy, to
    stderr, which Airflow copies into the task log; the token must not land there."""
    with redirect_stdout(_RedactingStream(sys.stdout)), redirect_stderr(_RedactingStream(sys.stderr)):
        yield


def api_host(conn: Any) -> str | None:
    """The API URL a connection names in its host (`http://127.0.0.1:8080`, or `host` + `port` as https)."""
    host = (getattr(conn, "host", None) or "").strip()
    if not host:
        return None
    if "://" in host:
        return host.rstrip("/")
    port = getattr(conn, "port", None)
    return f"https://{host}" + (f":{port}" if port else "")


class AnyscaleRuntimeHook:
    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id

    @cached_property
    def client(self) -> Any:
        from anyscale_provider.hooks.anyscale import AnyscaleHook

        provider = AnyscaleHook(conn_id=self.conn_id)
        conn = provider.get_connection(self.conn_id)
        host = api_host(conn)
        if host is None:
            return provider.client  # the provider's client: ANYSCALE_HOST or Anyscale's own endpoint
        from anyscale import Anyscale

        # The provider ignores the connection's host; honouring it lets one connection say where Anyscale is
        # (the local stack's emulator, a proxy) instead of a process-wide ANYSCALE_HOST read at SDK import.
        token = conn.password or os.environ.get("ANYSCALE_CLI_TOKEN")
        if not token:
            raise ValueError(f"connection {self.conn_id!r} has no password (the Anyscale API token)")
        return Anyscale(auth_token=token, _host=host, headers={"X-Anyscale-Source": "airflow"})

    # Jobs ------------------------------------------------------------------------------------------

    def submit_job(self, params: dict[str, Any]) -> str:
        from anyscale.job.models import JobConfig

        return str(self.client.job.submit(config=JobConfig(**params)))

    def job_state(self, job_id: str) -> str:
        return str(self.client.job.status(id=job_id).state)

    def terminate_job(self, job_id: str) -> None:
        self.client.job.terminate(id=job_id)

    def job_logs_tail(self, job_id: str, lines: int = 40) -> str:
        """The last lines of the job's logs, or a note saying why there are none (never raises)."""
        try:
            text = str(self.client.job.get_logs(id=job_id, max_lines=lines))
        except Exception as error:  # logs are diagnostics: their absence must not mask the job's outcome
            return f"(logs unavailable: {error})"
        return "\n".join(text.splitlines()[-lines:])

    # Services --------------------------------------------------------------------------------------

    def _status(self, name: str, cloud: str | None, project: str | None) -> Any | None:
        """The SDK's ServiceStatus, or None when no such service exists."""
        try:
            return self.client.service.status(name=name, cloud=cloud, project=project)
        except RuntimeError as error:
            # The SDK raises RuntimeError("Service with name '…' was not found…") for an unknown name.
            if "was not found" in str(error):
                return None
            raise

    def service_snapshot(self, name: str, cloud: str | None, project: str | None) -> ServiceSnapshot | None:
        """The service's state and versions, or None when no such service exists."""
        status = self._status(name, cloud, project)
        return None if status is None else ServiceSnapshot.from_status(status)

    def deploy_service(
        self,
        params: dict[str, Any],
        *,
        in_place: bool,
        canary_percent: int | None,
        max_surge_percent: int | None,
    ) -> str:
        from anyscale.service.models import ServiceConfig

        with redacted_sdk_output():
            return str(
                self.client.service.deploy(
                    configs=ServiceConfig(**params),
                    in_place=in_place,
                    canary_percent=canary_percent,
                    max_surge_percent=max_surge_percent,
                )
            )

    def held_canary_config(self, name: str, cloud: str | None, project: str | None) -> Any | None:
        """The config of the service's canary version (a rollout held at a split), or None."""
        status = self._status(name, cloud, project)
        return status.canary_version.config if status and status.canary_version is not None else None

    def redeploy(self, config: Any, *, canary_percent: int | None, max_surge_percent: int | None) -> str:
        """Apply a config read back from the service (the held canary's) with another canary percent."""
        with redacted_sdk_output():
            return str(
                self.client.service.deploy(
                    configs=config, canary_percent=canary_percent, max_surge_percent=max_surge_percent
                )
            )

    def rollback_service(self, name: str, cloud: str | None, project: str | None) -> None:
        self.client.service.rollback(name=name, cloud=cloud, project=project)

    def terminate_service(self, name: str, cloud: str | None, project: str | None) -> None:
        self.client.service.terminate(name=name, cloud=cloud, project=project)
