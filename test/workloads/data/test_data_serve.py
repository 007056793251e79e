"""The Ray Serve LLM application entry for the Anyscale service (ray itself is not installed here)."""

from __future__ import annotations

import json

import pytest
from llm_workloads.serve import (
    IMPORT_PATH,
    ServeArgs,
    ServeConfigError,
    adapter_model_id,
    application_entry,
    llm_config,
    main,
    serve_args_from_mapping,
)

BASE = "mistralai/Mistral-7B-Instruct-v0.1"


def test_application_entry_and_llm_config() -> None:
    args = ServeArgs(base_model=BASE, lora_root="s3://bucket/lora/viggo/")
    entry = application_entry(args)
    assert entry["import_path"] == IMPORT_PATH == "llm_workloads.serve_app:build_app"
    assert entry["name"] == "llm" and entry["route_prefix"] == "/"
    # the args round-trip to the same typed inputs, which is what the builder does at deploy time
    assert serve_args_from_mapping(entry["args"]) == args
    config = llm_config(serve_args_from_mapping(entry["args"]))
    assert config["model_loading_config"] == {"model_id": BASE, "model_source": BASE}
    assert config["lora_config"]["dynamic_lora_loading_path"] == "s3://bucket/lora/viggo"
    assert config["engine_kwargs"]["enable_lora"] is True and config["engine_kwargs"]["max_lora_rank"] == 8
    assert adapter_model_id(args, "viggo-run-7") == f"{BASE}:viggo-run-7"
    json.dumps(entry)
    assert "revision" not in config["engine_kwargs"]  # not pinned: vLLM loads the hub's main


def test_pinned_revision_reaches_weights_and_tokenizer() -> None:
    revision = "b422f01f8a0eba935d8f7fbc436dc5d1ab25a250"
    args = ServeArgs(base_model=BASE, lora_root="s3://b/l", base_model_revision=revision)
    engine = llm_config(serve_args_from_mapping(application_entry(args)["args"]))["engine_kwargs"]
    assert (engine["revision"], engine["tokenizer_revision"]) == (revision, revision)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lora_root": "/local/path"}, "cloud URI"),
        ({"model_id": "a:b"}, "':' separates"),
        ({"max_lora_rank": 12}, "max_lora_rank"),
        ({"min_replicas": 3, "max_replicas": 2}, "max_replicas"),
        ({"app_name": "bad name"}, "app_name"),
        ({"route_prefix": "api"}, "route_prefix"),
        ({"max_loras_per_batch": 32}, "max_loras_per_batch"),
        ({"base_model_revision": "main"}, "40-character commit hash"),
    ],
)
def test_invalid_inputs_are_named(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ServeConfigError, match=message):
        application_entry(ServeArgs(**{"base_model": BASE, "lora_root": "s3://b/l", **overrides}))  # type: ignore[arg-type]


def test_builder_args_are_checked() -> None:
    with pytest.raises(ServeConfigError, match="unknown serve arguments: \\['hf_token'\\]"):
        serve_args_from_mapping({"base_model": BASE, "lora_root": "s3://b/l", "hf_token": "x"})
    with pytest.raises(ServeConfigError, match="missing serve arguments: \\['lora_root'\\]"):
        serve_args_from_mapping({"base_model": BASE})


def test_cli_prints_the_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-model", BASE, "--lora-root", "s3://b/lora", "--max-replicas", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["args"]["max_replicas"] == 3 and printed["import_path"] == IMPORT_PATH


def test_build_app_with_ray() -> None:  # pragma: no cover - runs only where ray[serve,llm] is installed
    # The lock installs ray[data] (the dataset build's Ray path) but not ray[serve,llm] (vLLM, GPU-only).
    try:
        import ray.serve.llm  # noqa: F401
    except ImportError as error:
        pytest.skip(f"ray[serve,llm] is not installed on this machine ({error})")
    from llm_workloads.serve_app import build_app

    assert build_app(application_entry(ServeArgs(base_model=BASE, lora_root="s3://b/l"))["args"]) is not None
