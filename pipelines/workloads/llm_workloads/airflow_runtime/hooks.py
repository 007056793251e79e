"""The hook that holds the Anyscale client: every SDK call of the runtime goes through it.

The client is the one `astro-provider-anyscale`'s `AnyscaleHook` builds from the Airflow connection (the
token is the connection's password; the host comes from `ANYSCALE_HOST`), so connections configured for
the provider keep working. The SDK and the provider are imported on first use, inside a running task or
trigger, never when a DAG file is parsed. Methods are blocking; triggers call them in a thread.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from llm_workloads.airflow_runtime.states import ServiceSnapshot


class ServiceNotFound(LookupError):
    pass


class AnyscaleRuntimeHook:
    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id

    @cached_property
    def client(self) -> Any:
        from anyscale_provider.hooks.anyscale import AnyscaleHook

        return AnyscaleHook(conn_id=self.conn_id).client

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

    def service_snapshot(self, name: str, cloud: str | None, project: str | None) -> ServiceSnapshot | None:
        """The service's state and versions, or None when no such service exists."""
        try:
            status = self.client.service.status(name=name, cloud=cloud, project=project)
        except RuntimeError as error:
            # The SDK raises RuntimeError("Service with name '…' was not found…") for an unknown name.
            if "was not found" in str(error):
                return None
            raise
        return ServiceSnapshot.from_status(status)

    def deploy_service(
        self,
        params: dict[str, Any],
        *,
        in_place: bool,
        canary_percent: int | None,
        max_surge_percent: int | None,
    ) -> str:
        from anyscale.service.models import ServiceConfig

        return str(
            self.client.service.deploy(
                configs=ServiceConfig(**params),
                in_place=in_place,
                canary_percent=canary_percent,
                max_surge_percent=max_surge_percent,
            )
        )

    def rollback_service(self, name: str, cloud: str | None, project: str | None) -> None:
        self.client.service.rollback(name=name, cloud=cloud, project=project)

    def terminate_service(self, name: str, cloud: str | None, project: str | None) -> None:
        self.client.service.terminate(name=name, cloud=cloud, project=project)
