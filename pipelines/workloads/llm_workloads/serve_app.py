"""Ray Serve application builder named by the service YAML (`llm_workloads.serve_app:build_app`).

Ray Serve calls `build_app(args)` with the `args` mapping of the application entry. The arguments
are validated with the same typed `ServeArgs` the entry was rendered from; ray is imported only here.

Known gap: the stable model name (`model_alias` -> `alias_adapter`, llm_workloads.serving) is validated here
but not yet served by Ray Serve (ray cannot be installed and run on the development machine, so an ingress
that rewrites the name could not be verified); the local stack's version servers serve it. Until then users
of a real deployment call `<model_id>:<adapter>` as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_workloads.serve import llm_config, serve_args_from_mapping


def build_app(args: Mapping[str, Any]) -> Any:
    from ray.serve.llm import LLMConfig, build_openai_app

    config = LLMConfig(**llm_config(serve_args_from_mapping(args)))
    return build_openai_app({"llm_configs": [config]})
