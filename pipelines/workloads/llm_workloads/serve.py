"""Ray Serve LLM application for the fine-tuned service, built from typed inputs.

One OpenAI-compatible application (`ray.serve.llm.build_openai_app`) serves the base model with
LoRA adapters loaded on demand from the LoRA root (`lora_config.dynamic_lora_loading_path`). A
request for `model="<model_id>:<adapter>"` loads `<lora_root>/<adapter>/`, so the champion and the
challenger adapters are both queryable from one service, and an older adapter stays servable for
a rollback because every run writes a new folder under the same root.

`application_entry(...)` returns the `applications[]` item of the Anyscale service YAML. Its
`import_path` is `llm_workloads.serve_app:build_app`, a Ray Serve application builder that turns the
same typed arguments into the `LLMConfig` (ray is imported there, at deploy time, not here).

`python -m llm_workloads.serve --base-model M --lora-root R [...]` prints the entry as JSON.
Secrets (HF_TOKEN for gated models) are not part of the entry: they come from the service's
environment (Anyscale secrets), so they never land in a rendered file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

IMPORT_PATH = "llm_workloads.serve_app:build_app"
_APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
_ADAPTER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}\Z")
_REVISION = re.compile(r"[0-9a-f]{40}\Z")
# vLLM accepts these LoRA ranks for max_lora_rank.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


class ServeConfigError(ValueError):
    """An invalid serving argument (the message names it)."""


@dataclass(frozen=True)
class ServeArgs:
    base_model: str
    lora_root: str
    #: Hugging Face commit of the base model (weights and tokenizer, so its chat template, which must
    #: be the one the adapters were trained with: llm_workloads.chat_template). None: the hub's main.
    base_model_revision: str | None = None
    model_id: str | None = None
    accelerator_type: str = "A10G"
    min_replicas: int = 1
    max_replicas: int = 2
    max_ongoing_requests: int = 64
    max_model_len: int = 2048
    max_lora_rank: int = 8
    max_adapters_per_replica: int = 16
    max_loras_per_batch: int = 2
    tensor_parallel_size: int = 1
    app_name: str = "llm"
    route_prefix: str = "/"
    #: The stable model name users call and the adapter it means in this version (llm_workloads.serving).
    model_alias: str | None = None
    alias_adapter: str | None = None

    @property
    def served_model_id(self) -> str:
        return self.model_id or self.base_model

    def validate(self) -> None:
        if not self.base_model.strip():
            raise ServeConfigError("base_model: must not be empty")
        if self.base_model_revision is not None and not _REVISION.match(self.base_model_revision):
            raise ServeConfigError(
                f"base_model_revision {self.base_model_revision!r}: must be a 40-character commit hash"
            )
        if ":" in self.served_model_id:
            raise ServeConfigError(f"model_id {self.served_model_id!r}: ':' separates model and adapter ids")
        if not self.lora_root.strip() or "://" not in self.lora_root:
            raise ServeConfigError(
                f"lora_root {self.lora_root!r}: must be a cloud URI such as s3://bucket/lora"
            )
        if not _APP_NAME.match(self.app_name):
            raise ServeConfigError(f"app_name {self.app_name!r}: letters, digits, '_' and '-' only")
        if not self.route_prefix.startswith("/"):
            raise ServeConfigError(f"route_prefix {self.route_prefix!r}: must start with '/'")
        for name in (
            "min_replicas",
            "max_ongoing_requests",
            "max_model_len",
            "max_adapters_per_replica",
            "max_loras_per_batch",
            "tensor_parallel_size",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "min_replicas" else 1):
                raise ServeConfigError(f"{name}: must be a positive integer, got {value!r}")
        if self.max_replicas < max(1, self.min_replicas):
            raise ServeConfigError(f"max_replicas: must be >= max(1, min_replicas), got {self.max_replicas}")
        if self.max_lora_rank not in VLLM_LORA_RANKS:
            raise ServeConfigError(
                f"max_lora_rank: must be one of {VLLM_LORA_RANKS}, got {self.max_lora_rank}"
            )
        if self.max_loras_per_batch > self.max_adapters_per_replica:
            raise ServeConfigError("max_loras_per_batch: must not exceed max_adapters_per_replica")
        if (self.model_alias is None) != (self.alias_adapter is None):
            raise ServeConfigError("model_alias and alias_adapter: give both or neither")
        for name in ("model_alias", "alias_adapter"):
            value = getattr(self, name)
            if value is not None and not _ADAPTER_NAME.match(value):
                raise ServeConfigError(f"{name} {value!r}: lower-case letters, digits, '.', '_' and '-' only")
        if self.model_alias is not None and self.model_alias == self.served_model_id:
            raise ServeConfigError(f"model_alias {self.model_alias!r}: must differ from the model id")


def serve_args_from_mapping(raw: Mapping[str, Any]) -> ServeArgs:
    known = {f.name for f in fields(ServeArgs)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ServeConfigError(f"unknown serve arguments: {unknown}")
    missing = sorted({"base_model", "lora_root"} - set(raw))
    if missing:
        raise ServeConfigError(f"missing serve arguments: {missing}")
    args = ServeArgs(**dict(raw))
    args.validate()
    return args


def llm_config(args: ServeArgs) -> dict[str, Any]:
    """The `ray.serve.llm.LLMConfig` fields, as plain data."""
    args.validate()
    return {
        "model_loading_config": {"model_id": args.served_model_id, "model_source": args.base_model},
        "lora_config": {
            "dynamic_lora_loading_path": args.lora_root.rstrip("/"),
            "max_num_adapters_per_replica": args.max_adapters_per_replica,
        },
        "accelerator_type": args.accelerator_type,
        "deployment_config": {
            "autoscaling_config": {"min_replicas": args.min_replicas, "max_replicas": args.max_replicas},
            "max_ongoing_requests": args.max_ongoing_requests,
        },
        "engine_kwargs": {
            "max_model_len": args.max_model_len,
            "enable_lora": True,
            "max_lora_rank": args.max_lora_rank,
            "max_loras": args.max_loras_per_batch,
            "tensor_parallel_size": args.tensor_parallel_size,
            # vLLM engine args: the pinned commit for the weights and for the tokenizer (chat template).
            **(
                {"revision": args.base_model_revision, "tokenizer_revision": args.base_model_revision}
                if args.base_model_revision
                else {}
            ),
        },
    }


def application_entry(args: ServeArgs) -> dict[str, Any]:
    """The `applications[]` item of the service YAML (import_path + args)."""
    args.validate()
    return {
        "name": args.app_name,
        "route_prefix": args.route_prefix,
        "import_path": IMPORT_PATH,
        "args": {
            key: value for key, value in asdict(args).items() if key not in ("app_name", "route_prefix")
        },
    }


def adapter_model_id(args: ServeArgs, adapter_name: str) -> str:
    """The `model` value that selects one adapter: `<model_id>:<adapter>`."""
    return f"{args.served_model_id}:{adapter_name}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llm_workloads.serve", description="print the service app entry"
    )
    parser.add_argument("--base-model", required=True)
    parser.add_argument("--lora-root", required=True)
    parser.add_argument("--model-id", default=None)
    parser.add_argument("--accelerator-type", default="A10G")
    parser.add_argument("--min-replicas", type=int, default=1)
    parser.add_argument("--max-replicas", type=int, default=2)
    parser.add_argument("--max-model-len", type=int, default=2048)
    parser.add_argument("--max-lora-rank", type=int, default=8)
    ns = parser.parse_args(argv)
    try:
        entry = application_entry(serve_args_from_mapping(vars(ns)))
    except ServeConfigError as error:
        parser.error(str(error))
    print(json.dumps(entry, sort_keys=True, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
