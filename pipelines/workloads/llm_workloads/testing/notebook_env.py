"""What the development notebooks share: the mode switch, the workspace, and the model endpoint.

`LLM_NOTEBOOK_MODE=local` (the default): no Anyscale, no GPU. "Deploying" a service writes a small
descriptor to the workspace; evaluating against it starts the local scripted OpenAI-compatible
server with `StandInResponder` models for the duration of the evaluation. Fine-tuning runs the real
`llm_workloads.finetune` code around a stand-in trainer. All of it prints a STAND-IN notice.

`LLM_NOTEBOOK_MODE=anyscale`: the notebooks call the real `anyscale` SDK (service deploy/status,
job submit/wait) and the workspace is `$ANYSCALE_ARTIFACT_STORAGE/<LLM_NOTEBOOK_PREFIX or llm-dev>`.

Other settings: `LLM_NOTEBOOK_WORKDIR` (local workspace, default ~/.cache/llm-workloads-notebooks),
`LLM_VIGGO_DIR` (the VIGGO sample; default ../shared/data/viggo next to the repository).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llm_workloads import storage
from llm_workloads.evaluate import ResolvedEndpoint
from llm_workloads.testing.stand_ins import STAND_IN_NOTICE, StandInModel, StandInResponder

Mode = Literal["local", "anyscale"]
DEFAULT_BASE_MODEL = "mistralai/Mistral-7B-Instruct-v0.1"
DEFAULT_SERVICE = "viggo-llm-dev"


@dataclass(frozen=True)
class NotebookEnv:
    mode: Mode
    workdir: str
    viggo_dir: str
    base_model: str = DEFAULT_BASE_MODEL
    service_name: str = DEFAULT_SERVICE

    @property
    def local(self) -> bool:
        return self.mode == "local"

    def uri(self, *parts: str) -> str:
        return storage.join(self.workdir, *parts)

    @property
    def lora_root(self) -> str:
        root = self.uri("lora")
        return root if "://" in root else Path(root).resolve().as_uri()


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pipelines" / "workloads").is_dir() and (parent / "notebooks").is_dir():
            return parent
    return Path.cwd()


def notebook_env(environ: os._Environ[str] | dict[str, str] | None = None) -> NotebookEnv:
    env = os.environ if environ is None else environ
    mode = env.get("LLM_NOTEBOOK_MODE", "local")
    if mode not in ("local", "anyscale"):
        raise ValueError(f"LLM_NOTEBOOK_MODE: expected 'local' or 'anyscale', got {mode!r}")
    viggo_dir = env.get("LLM_VIGGO_DIR") or str(_repo_root().parent / "shared" / "data" / "viggo")
    if mode == "local":
        workdir = env.get("LLM_NOTEBOOK_WORKDIR") or str(Path.home() / ".cache" / "llm-workloads-notebooks")
        Path(workdir).mkdir(parents=True, exist_ok=True)
    else:
        artifacts = env.get("ANYSCALE_ARTIFACT_STORAGE")
        if not artifacts:
            raise ValueError("ANYSCALE_ARTIFACT_STORAGE: not set; run the notebook in an Anyscale workspace")
        workdir = storage.join(artifacts, env.get("LLM_NOTEBOOK_PREFIX", "llm-dev"))
    return NotebookEnv(
        mode=mode,  # type: ignore[arg-type]  # checked above
        workdir=workdir,
        viggo_dir=viggo_dir,
        base_model=env.get("LLM_BASE_MODEL", DEFAULT_BASE_MODEL),
        service_name=env.get("LLM_SERVICE_NAME", DEFAULT_SERVICE),
    )


def describe(env: NotebookEnv) -> str:
    lines = [f"mode: {env.mode}", f"workspace: {env.workdir}", f"base model: {env.base_model}"]
    if env.local:
        lines.append(STAND_IN_NOTICE)
    return "\n".join(lines)


# --- local "service": a descriptor in the workspace, served on demand --------------------------------


def deploy_local_service(env: NotebookEnv, models: Sequence[StandInModel]) -> dict[str, Any]:
    """Record which stand-in models the local "service" serves (replacing the previous version)."""
    descriptor = {
        "service": env.service_name,
        "stand_in": True,
        "notice": STAND_IN_NOTICE,
        "models": [
            {
                "model_id": m.model_id,
                "zero_shot_accuracy": m.zero_shot_accuracy,
                "few_shot_accuracy": m.few_shot_accuracy,
                "prose_when_wrong": m.prose_when_wrong,
            }
            for m in models
        ],
    }
    storage.write_json(env.uri("services", f"{env.service_name}.json"), descriptor)
    return descriptor


def local_service_models(env: NotebookEnv) -> list[StandInModel]:
    uri = env.uri("services", f"{env.service_name}.json")
    if not storage.exists(uri):
        raise RuntimeError(f"{uri}: no local service deployed yet; run the deploy notebook first")
    return [StandInModel(**m) for m in storage.read_json(uri)["models"]]


@contextmanager
def service_endpoint(env: NotebookEnv) -> Iterator[ResolvedEndpoint]:
    """The service's URL and token for the duration of a `with` block.

    Local mode starts the scripted server (token-protected, like a real service) and stops it after.
    Anyscale mode asks the SDK for the query URL and token (never printed).
    """
    if env.local:
        from secrets import token_urlsafe

        from llm_workloads.testing.server import start

        records = [r for split in ("train", "valid", "test") for r in _split_records(env, split)]
        token = token_urlsafe(16)
        server = start(StandInResponder(records, local_service_models(env)), token=token)
        try:
            yield ResolvedEndpoint(server.url, token, {"service": env.service_name, "stand_in": "local"})
        finally:
            server.close()
        return
    import anyscale

    status = anyscale.service.status(name=env.service_name)
    yield ResolvedEndpoint(status.query_url, status.query_auth_token, {"service": env.service_name})


def _split_records(env: NotebookEnv, split: str) -> list[dict[str, Any]]:
    uri = env.uri("data", f"{split}.jsonl")
    return storage.read_jsonl(uri) if storage.exists(uri) else []
