"""The fine-tune job: argument parsing, LLaMA-Factory config, adapter-path refusal, upload, manifest.

Training itself (GPUs, torch, LLaMA-Factory) is NOT run here: `execute` is driven with a command
runner that plays the trainer's part by writing the files LLaMA-Factory writes into output_dir.
The local stack's stand-in trainer is run as the job runs it: `python -m llm_workloads.finetune` in a
subprocess with `LLM_LOCAL_STACK=1` against a moto S3 server, its outputs read back with boto3.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
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
    # Not LLaMA-Factory's `mistral`: the registered template equal to the served chat template.
    assert args.hyperparameters()["template"] == "viggo_mistral_instruct"
    assert args.min_steps == finetune.DEFAULT_MIN_STEPS == 75 and args.base_model_revision is None


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
    launch = ["-m", "llm_workloads.trainers.llamafactory_launch", "train", "/x/train.yaml"]
    assert finetune.training_command(Path("/x/train.yaml")) == [sys.executable, *launch]
    assert finetune.training_command(Path("/x/train.yaml"), 4) == [
        "torchrun", "--standalone", "--nproc_per_node=4", *launch
    ]  # fmt: skip
    env = finetune.training_env(FinetuneArgs(**{**args.__dict__, "num_gpus": 4}), {"HF_TOKEN": "secret"})
    assert env["PYTHONHASHSEED"] == "42" and env["HF_TOKEN"] == "secret"
    assert "model_revision" not in config
    pinned = parse_args(argv(tmp_path, **{"--base-model-revision": "0123abc"}))
    assert llamafactory_config(pinned, "/data", "/out", epochs=11)["model_revision"] == "0123abc"
    assert llamafactory_config(pinned, "/data", "/out", epochs=11)["num_train_epochs"] == 11.0


@pytest.mark.parametrize(
    ("records", "batch", "accumulation", "gpus", "epochs", "min_steps", "expected"),
    [
        # 100 records, effective batch 16: ceil(ceil(100/4)/4) = 7 steps per epoch; 3 epochs = 21 < 75,
        # so ceil(75/7) = 11 epochs, 77 steps.
        (100, 4, 4, 1, 3, 75, (7, 11, 77)),
        # 400 records: 25 steps per epoch, 3 epochs = 75: the floor is met, epochs unchanged.
        (400, 4, 4, 1, 3, 75, (25, 3, 75)),
        # 4 GPUs: batches per device ceil(100/16) = 7, steps ceil(7/4) = 2 per epoch -> 38 epochs, 76 steps.
        (100, 4, 4, 4, 3, 75, (2, 38, 76)),
        (100, 4, 4, 1, 3, 0, (7, 3, 21)),  # no floor
    ],
)
def test_training_schedule_has_a_floor_on_optimizer_steps(
    tmp_path: Path, records: int, batch: int, accumulation: int, gpus: int, epochs: int, min_steps: int,
    expected: tuple[int, int, int],
) -> None:  # fmt: skip
    args = FinetuneArgs(
        **{
            **parse_args(argv(tmp_path)).__dict__,
            "batch_size": batch,
            "gradient_accumulation_steps": accumulation,
            "num_gpus": gpus,
            "epochs": epochs,
            "min_steps": min_steps,
        }
    )
    schedule = finetune.training_schedule(records, args)
    assert (schedule.steps_per_epoch, schedule.epochs, schedule.optimizer_steps) == expected
    assert schedule.epochs_requested == epochs


def fake_trainer(seen: dict[str, object]) -> finetune.CommandRunner:
    """Plays LLaMA-Factory: checks the config it is given and writes what a LoRA run writes."""

    def run(command: list[str], env: dict[str, str]) -> None:
        config = yaml.safe_load(Path(command[-1]).read_text())
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
    # 4 records at an effective batch of 16: 1 step per epoch, so 75 epochs reach the 75-step floor.
    assert {k: manifest["hyperparameters"][k] for k in ("epochs_requested", "epochs", "optimizer_steps")} == {
        "epochs_requested": 3,
        "epochs": 75,
        "optimizer_steps": 75,
    }
    assert seen["config"]["num_train_epochs"] == 75.0  # type: ignore[index]
    assert manifest["base_model_revision"] is None
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
        Path(yaml.safe_load(Path(command[-1]).read_text())["output_dir"]).mkdir()

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


# --- The stand-in trainer of the local stack, chosen by the job's environment -------------------------


def test_trainer_is_chosen_by_the_environment() -> None:
    from llm_workloads.trainers import TrainerSelectionError

    assert finetune.select_trainer({}) is finetune.train_on_ray
    assert finetune.select_trainer({"LLM_LOCAL_STACK": "0"}) is finetune.train_on_ray
    assert finetune.select_trainer({"LLM_LOCAL_STACK": "1"}) is finetune.train_with_stand_in
    assert finetune.select_trainer({"LLM_TRAINER": "stand-in"}) is finetune.train_with_stand_in
    # An explicit choice wins over the local-stack default.
    assert finetune.select_trainer({"LLM_LOCAL_STACK": "1", "LLM_TRAINER": "llamafactory"}) is (
        finetune.train_on_ray
    )
    with pytest.raises(TrainerSelectionError, match="LLM_TRAINER='gpu'"):
        finetune.select_trainer({"LLM_TRAINER": "gpu"})
    with pytest.raises(TrainerSelectionError, match="LLM_LOCAL_STACK='yes'"):
        finetune.select_trainer({"LLM_LOCAL_STACK": "yes"})


def read_safetensors(data: bytes) -> tuple[dict[str, object], bytes]:
    """Header and payload of a safetensors file, read by its published layout (u64 length, JSON, data)."""
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def run_finetune_cli(env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llm_workloads.finetune", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def local_stack_job(s3_bucket: str, moto_endpoint: str, tmp_path: Path) -> tuple[dict[str, str], str]:
    """A dataset in S3 and the environment the local job runner gives a job (no HF token, no GPU)."""
    write_data(tmp_path, n=10)
    base = f"s3://{s3_bucket}"
    for name in ("train", "valid"):
        storage.write_bytes(f"{base}/data/{name}.jsonl", (tmp_path / f"{name}.jsonl").read_bytes())
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LLM_")) and key != "PYTHONPATH"
    }
    env.update(
        LLM_LOCAL_STACK="1",
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env, base


def s3_argv(base: str, adapter: str, **overrides: str) -> list[str]:
    values = {
        "--base-model": "mistralai/Mistral-7B-Instruct-v0.1",
        "--train-uri": f"{base}/data/train.jsonl",
        "--valid-uri": f"{base}/data/valid.jsonl",
        "--lora-root": f"{base}/lora",
        "--adapter-name": adapter,
        "--seed": "42",
        "--epochs": "3",
        "--learning-rate": "1e-4",
        "--lora-rank": "8",
        "--lora-alpha": "16",
        "--context-length": "512",
        "--manifest-uri": f"{base}/manifests/{adapter}.json",
        "--batch-size": "2",
        "--gradient-accumulation-steps": "1",
    }
    values.update(overrides)
    return [item for pair in values.items() for item in pair]


def objects(bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under a prefix, read with a plain boto3 client (not the code under test)."""
    import boto3

    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_local_stack_job_writes_a_real_adapter_folder_and_manifest_to_s3(
    local_stack_job: tuple[dict[str, str], str], s3_bucket: str
) -> None:
    from llm_workloads.manifest import data_hash

    env, base = local_stack_job
    done = run_finetune_cli(env, s3_argv(base, "viggo-local-1"))
    assert done.returncode == 0, done.stderr
    assert "trainer stand-in" in done.stderr
    assert json.loads(done.stdout) == {
        "adapter_uri": f"{base}/lora/viggo-local-1",
        "model_id": "mistralai/Mistral-7B-Instruct-v0.1:viggo-local-1",
    }
    stored = objects(s3_bucket, "lora/viggo-local-1/")
    assert sorted(stored) == [
        f"lora/viggo-local-1/{name}"
        for name in (
            "adapter_config.json",
            "adapter_model.safetensors",
            "all_results.json",
            "trainer_log.jsonl",
        )
    ]
    config = json.loads(stored["lora/viggo-local-1/adapter_config.json"])
    assert (config["peft_type"], config["r"], config["lora_alpha"], config["lora_dropout"]) == (
        "LORA",
        8,
        16,
        0.05,
    )
    assert config["base_model_name_or_path"] == "mistralai/Mistral-7B-Instruct-v0.1"
    assert set(config["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    header, payload = read_safetensors(stored["lora/viggo-local-1/adapter_model.safetensors"])
    assert header.pop("__metadata__") == {
        "format": "pt",
        "note": "not trained weights (local stack)",
        "stand_in": "true",
    }
    assert len(header) == 2 * len(config["target_modules"])
    end = 0
    for name, tensor in header.items():
        assert isinstance(tensor, dict) and tensor["dtype"] == "F32", name
        rows, cols = tensor["shape"]
        assert (rows if name.endswith("lora_A.weight") else cols) == 8, name  # the rank
        begin, stop = tensor["data_offsets"]
        assert stop - begin == 4 * rows * cols
        end = max(end, stop)
    assert end == len(payload)
    # Steps: 10 records / (batch 2 x accumulation 1) = 5 per epoch; 3 epochs would be 15 steps, below
    # the 75-step floor, so 15 epochs run: 75 steps, logged every 5 steps.
    log_lines = [json.loads(line) for line in stored["lora/viggo-local-1/trainer_log.jsonl"].splitlines()]
    assert [line["current_steps"] for line in log_lines] == list(range(5, 80, 5))
    assert all(line["total_steps"] == 75 for line in log_lines)

    manifest = json.loads(objects(s3_bucket, "manifests/")["manifests/viggo-local-1.json"])
    assert manifest["trainer"] == {"stack": "stand-in", "stand_in_format": "1"}
    assert manifest["adapter_files"] == {
        key.rsplit("/", 1)[1]: hashlib.sha256(data).hexdigest() for key, data in stored.items()
    }
    inputs = objects(s3_bucket, "data/")
    assert manifest["data"]["data_hash"] == data_hash(
        {"train.jsonl": inputs["data/train.jsonl"], "valid.jsonl": inputs["data/valid.jsonl"]}
    )
    results = json.loads(stored["lora/viggo-local-1/all_results.json"])
    assert manifest["metrics"] == {
        "epoch": 15.0,
        "eval_loss": results["eval_loss"],
        "train_loss": results["train_loss"],
        "train_records": 10,
        "valid_records": 10,
    }
    assert results["train_loss"] == round(sum(line["loss"] for line in log_lines) / len(log_lines), 4)
    assert (manifest["hyperparameters"]["optimizer_steps"], manifest["hyperparameters"]["epochs"]) == (75, 15)
    assert manifest["hyperparameters"]["lora_rank"] == 8


def test_local_stack_job_refuses_an_existing_adapter_and_is_deterministic(
    local_stack_job: tuple[dict[str, str], str], s3_bucket: str
) -> None:
    env, base = local_stack_job
    assert run_finetune_cli(env, s3_argv(base, "viggo-a")).returncode == 0
    first = objects(s3_bucket, "lora/viggo-a/")

    again = run_finetune_cli(env, s3_argv(base, "viggo-a", **{"--manifest-uri": f"{base}/manifests/x.json"}))
    assert again.returncode == 1 and "never overwritten" in again.stderr
    assert objects(s3_bucket, "lora/viggo-a/") == first
    assert "manifests/x.json" not in objects(s3_bucket, "manifests/")

    # Same data and seed under another name: byte-identical weights; another seed: other weights.
    explicit = {**{k: v for k, v in env.items() if k != "LLM_LOCAL_STACK"}, "LLM_TRAINER": "stand-in"}
    assert run_finetune_cli(explicit, s3_argv(base, "viggo-b")).returncode == 0
    assert run_finetune_cli(env, s3_argv(base, "viggo-c", **{"--seed": "7"})).returncode == 0
    weights = {
        name: objects(s3_bucket, f"lora/{name}/")[f"lora/{name}/adapter_model.safetensors"]
        for name in ("viggo-a", "viggo-b", "viggo-c")
    }
    assert weights["viggo-a"] == weights["viggo-b"] != weights["viggo-c"]


def test_local_stack_job_with_bad_data_or_trainer_writes_nothing(
    local_stack_job: tuple[dict[str, str], str], s3_bucket: str
) -> None:
    env, base = local_stack_job
    bad = run_finetune_cli({**env, "LLM_TRAINER": "gpu"}, s3_argv(base, "viggo-bad"))
    assert bad.returncode == 1 and "LLM_TRAINER='gpu': unknown trainer" in bad.stderr
    storage.write_bytes(f"{base}/data/broken.jsonl", b'{"messages": []}\n')
    broken = run_finetune_cli(env, s3_argv(base, "viggo-bad", **{"--train-uri": f"{base}/data/broken.jsonl"}))
    assert broken.returncode == 1 and f"{base}/data/broken.jsonl: 1 bad records" in broken.stderr
    assert objects(s3_bucket, "lora/") == {} and objects(s3_bucket, "manifests/") == {}
