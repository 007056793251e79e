"""The fine-tune job: argument parsing, LLaMA-Factory config, adapter-path refusal, upload, manifest.

Training itself (GPUs, torch, LLaMA-Factory) is NOT run here: `execute` is driven with a command
runner that plays the trainer's part by writing the files LLaMA-Factory writes into output_dir.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from llm_workloads import finetune, storage
from llm_workloads.finetune import FinetuneArgs, FinetuneError, llamafactory_config, parse_args
from llm_workloads.records import make_record


def argv(tmp_path: Path, **overrides: str) -> list[str]:
    values = {
        "--base-model": "mistralai/Mistral-7B-Instruct-v0.1",
        "--train-uri": str(tmp_path / "train.jsonl"),
        "--valid-uri": str(tmp_path / "valid.jsonl"),
        "--lora-root": str(tmp_path / "lora"),
        "--adapter-name": "viggo-run-1",
        "--seed": "42",
        "--epochs": "3",
        "--learning-rate": "1e-4",
        "--lora-rank": "8",
        "--lora-alpha": "16",
        "--context-length": "512",
        "--manifest-uri": str(tmp_path / "manifests" / "viggo-run-1.json"),
    }
    values.update(overrides)
    return [item for pair in values.items() for item in pair]


def write_data(tmp_path: Path, n: int = 4) -> None:
    for name in ("train", "valid"):
        rows = [
            {**make_record(f"{name} {i}?", f"request(name[Game {i}])"), "id": f"s3:{i}"} for i in range(n)
        ]
        (tmp_path / f"{name}.jsonl").write_text(storage.dumps_jsonl(rows))


def test_parse_args_types_and_defaults(tmp_path: Path) -> None:
    args = parse_args(argv(tmp_path))
    assert (args.seed, args.epochs, args.learning_rate, args.lora_rank, args.lora_alpha) == (
        42,
        3,
        1e-4,
        8,
        16,
    )
    assert args.adapter_uri == f"{tmp_path}/lora/viggo-run-1"
    assert args.hyperparameters()["template"] == "mistral"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--epochs", "0", "positive integer"),
        ("--learning-rate", "nan", "positive finite"),
        ("--learning-rate", "-1", "positive finite"),
        ("--adapter-name", "base:adapter", "letters, digits"),
        ("--adapter-name", "../escape", "letters, digits"),
        ("--seed", "-1", ">= 0"),
        ("--base-model", "acme/unknown-7b", "pass --template"),
    ],
)
def test_bad_arguments_exit_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv(tmp_path, **{flag: value}))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and (flag in err or flag == "--base-model")


def test_llamafactory_config_and_dataset_info(tmp_path: Path) -> None:
    args = parse_args(argv(tmp_path, **{"--template": "custom"}))
    config = llamafactory_config(args, "/data", "/out")
    assert config["template"] == "custom"
    assert {
        k: config[k]
        for k in ("seed", "data_seed", "lora_rank", "lora_alpha", "cutoff_len", "num_train_epochs")
    } == {
        "seed": 42,
        "data_seed": 42,
        "lora_rank": 8,
        "lora_alpha": 16,
        "cutoff_len": 512,
        "num_train_epochs": 3.0,
    }
    assert config["finetuning_type"] == "lora" and config["overwrite_output_dir"] is False
    info = finetune.dataset_info("train.jsonl", "valid.jsonl")
    assert info["train"]["tags"]["system_tag"] == "system" and info["valid"]["file_name"] == "valid.jsonl"
    assert finetune.training_command(Path("/x/train.yaml")) == ["llamafactory-cli", "train", "/x/train.yaml"]
    env = finetune.training_env(FinetuneArgs(**{**args.__dict__, "num_gpus": 4}), {"HF_TOKEN": "secret"})
    assert env["FORCE_TORCHRUN"] == "1" and env["PYTHONHASHSEED"] == "42" and env["HF_TOKEN"] == "secret"


def fake_trainer(seen: dict[str, object]) -> finetune.CommandRunner:
    """Plays LLaMA-Factory: checks the config it is given and writes what a LoRA run writes."""

    def run(command: list[str], env: dict[str, str]) -> None:
        config = yaml.safe_load(Path(command[2]).read_text())
        info = json.loads((Path(config["dataset_dir"]) / "dataset_info.json").read_text())
        train_rows = Path(config["dataset_dir"], info["train"]["file_name"]).read_text().splitlines()
        seen.update(
            command=command,
            config=config,
            train_rows=train_rows,
            secret_in_argv="secret" in " ".join(command),
        )
        out = Path(config["output_dir"])
        out.mkdir()
        (out / "adapter_model.safetensors").write_bytes(b"weights")
        (out / "adapter_config.json").write_text('{"r": 8}')
        (out / "all_results.json").write_text(
            '{"train_loss": 0.25, "eval_loss": 0.5, "epoch": 3.0, "note": "x"}'
        )

    return run


def test_execute_trains_uploads_and_writes_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_data(tmp_path)
    monkeypatch.setenv("HF_TOKEN", "secret")
    args = parse_args(argv(tmp_path))
    seen: dict[str, object] = {}
    manifest = finetune.execute(args, train=lambda a: finetune.train_locally(a, fake_trainer(seen)))
    assert seen["secret_in_argv"] is False
    assert all(set(json.loads(line)) == {"messages"} for line in seen["train_rows"])  # type: ignore[union-attr]
    adapter = tmp_path / "lora" / "viggo-run-1"
    assert sorted(p.name for p in adapter.iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "all_results.json",
    ]
    on_disk = json.loads((tmp_path / "manifests" / "viggo-run-1.json").read_text())
    assert on_disk == manifest
    assert manifest["model_id"] == "mistralai/Mistral-7B-Instruct-v0.1:viggo-run-1"
    assert manifest["metrics"] == {
        "epoch": 3.0,
        "eval_loss": 0.5,
        "train_loss": 0.25,
        "train_records": 4,
        "valid_records": 4,
    }
    assert manifest["hyperparameters"]["seed"] == 42 and manifest["data"]["data_hash"].startswith("sha256:")
    assert "secret" not in json.dumps(manifest)


def test_existing_adapter_is_refused_before_training(tmp_path: Path) -> None:
    write_data(tmp_path)
    existing = tmp_path / "lora" / "viggo-run-1"
    existing.mkdir(parents=True)
    (existing / "adapter_config.json").write_text("{}")

    def must_not_train(_: FinetuneArgs) -> dict[str, object]:
        raise AssertionError("training started although the adapter exists")

    with pytest.raises(FinetuneError, match="never overwritten"):
        finetune.execute(parse_args(argv(tmp_path)), train=must_not_train)
    assert (existing / "adapter_config.json").read_text() == "{}"
    assert finetune.main(argv(tmp_path)) == 1  # CLI: error message and exit 1, ray never imported


def test_bad_training_data_fails_before_the_trainer_runs(tmp_path: Path) -> None:
    write_data(tmp_path)
    with (tmp_path / "train.jsonl").open("a") as handle:
        handle.write('{"messages": []}\n')
    with pytest.raises(FinetuneError, match=r"train.jsonl: 1 bad records: .*train.jsonl:5: messages"):
        finetune.train_locally(parse_args(argv(tmp_path)), runner=lambda c, e: pytest.fail("trainer ran"))


def test_trainer_without_adapter_output_is_an_error(tmp_path: Path) -> None:
    write_data(tmp_path)

    def no_output(command: list[str], env: dict[str, str]) -> None:
        Path(yaml.safe_load(Path(command[2]).read_text())["output_dir"]).mkdir()

    with pytest.raises(FinetuneError, match="without adapter_config.json"):
        finetune.train_locally(parse_args(argv(tmp_path)), runner=no_output)
    assert not (tmp_path / "lora").exists()


def test_execute_against_s3_refuses_a_second_run_with_the_same_adapter(
    s3_bucket: str, tmp_path: Path
) -> None:
    write_data(tmp_path)
    base = f"s3://{s3_bucket}"
    for name in ("train", "valid"):
        storage.write_bytes(f"{base}/data/{name}.jsonl", (tmp_path / f"{name}.jsonl").read_bytes())
    overrides = {
        "--train-uri": f"{base}/data/train.jsonl",
        "--valid-uri": f"{base}/data/valid.jsonl",
        "--lora-root": f"{base}/lora",
        "--manifest-uri": f"{base}/manifests/viggo-run-1.json",
    }
    args = parse_args(argv(tmp_path, **overrides))
    manifest = finetune.execute(args, train=lambda a: finetune.train_locally(a, fake_trainer({})))
    assert manifest["adapter_uri"] == f"{base}/lora/viggo-run-1"
    listed = list(storage.list_uris(f"{base}/lora/viggo-run-1"))
    assert [u.rsplit("/", 1)[1] for u in listed] == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "all_results.json",
    ]
    assert storage.read_bytes(f"{base}/lora/viggo-run-1/adapter_model.safetensors") == b"weights"
    again = parse_args(argv(tmp_path, **{**overrides, "--manifest-uri": f"{base}/manifests/other.json"}))
    with pytest.raises(FinetuneError, match="never overwritten"):
        finetune.execute(again, train=lambda a: pytest.fail("trained twice"))


def test_adapter_that_appears_during_training_is_not_overwritten(tmp_path: Path) -> None:
    write_data(tmp_path)
    args = parse_args(argv(tmp_path))
    trainer = fake_trainer({})

    def racing_trainer(command: list[str], env: dict[str, str]) -> None:
        trainer(command, env)
        other = tmp_path / "lora" / "viggo-run-1"
        other.mkdir(parents=True)
        (other / "adapter_config.json").write_text("other run")

    with pytest.raises(FinetuneError, match="appeared while training"):
        finetune.execute(args, train=lambda a: finetune.train_locally(a, racing_trainer))
    assert (tmp_path / "lora" / "viggo-run-1" / "adapter_config.json").read_text() == "other run"
    assert not (tmp_path / "manifests" / "viggo-run-1.json").exists()
