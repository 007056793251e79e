"""LoRA fine-tuning job: `python -m llm_workloads.finetune --base-model M --train-uri U ...`.

Stack: LLaMA-Factory (`llamafactory-cli train <config.yaml>`), the open-source trainer Anyscale's
current VIGGO template and its "Migrate from LLMForge" guide use. The config is built here as a
dict and written as YAML; the CLI is called with an argument list (never a shell string). Training
runs as a Ray task that asks for the GPUs, because the job's driver may sit on a CPU-only head node.

Guarantees:
* the adapter goes to `<lora-root>/<adapter-name>/`, a new directory per run; the job refuses to
  start if anything is already there, and every object is written with a create-only put, so the
  adapter a live service serves is never overwritten;
* a fixed seed (`seed` and `data_seed`), recorded with the hyper-parameters, the data hash and
  the final losses in a manifest at `--manifest-uri` (also create-only);
* train/valid files are validated record by record before any GPU time is spent;
* secrets (HF_TOKEN for gated base models) only come from the environment.
* the chat template is the one serving applies: for the families in `llm_workloads.chat_template`
  a template registered by `llm_workloads.trainers.llamafactory_launch` (proved equal to the served
  tokenizer chat template, and checked against the real tokenizer before training), not
  LLaMA-Factory's built-in one;
* `--base-model-revision` pins the base model's commit (weights, tokenizer, chat template); it is
  passed to LLaMA-Factory as `model_revision` and recorded in the manifest (`null` when not given);
* at least `--min-steps` optimizer steps (default 75, the low end of the published setups): the
  epochs are raised for small datasets, and the manifest records `epochs_requested`, the effective
  `epochs`, `steps_per_epoch` and `optimizer_steps`.

The trainer is chosen by the job's environment (`llm_workloads.trainers`): LLaMA-Factory on Ray by
default; on the local stack (`LLM_LOCAL_STACK=1`, or `LLM_TRAINER=stand-in`) a stand-in that writes
a real adapter folder without a GPU, while reading the data, the manifest and the create-only upload
stay this module's code.

Not run on the development machine: the actual training (needs GPUs, torch and LLaMA-Factory).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llm_workloads import chat_template, storage
from llm_workloads.manifest import data_hash, finetune_manifest, sha256_hex

ADAPTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
# LLaMA-Factory chat templates per base-model family. The template must match the chat template the
# serving engine (vLLM, via the tokenizer) applies, or the served model sees a different prompt format.
# Families listed in llm_workloads.chat_template use a template registered by our launcher that is
# proved equal to the serving template (LLaMA-Factory's own `mistral` is not); the rest are
# LLaMA-Factory built-ins.
TEMPLATES: tuple[tuple[str, str], ...] = (
    *((prefix, training) for prefix, _, training in chat_template.FAMILIES),
    ("mistralai/mistral-", "mistral"),
    ("qwen/qwen2.5-", "qwen"),
    ("qwen/qwen3-", "qwen3"),
    ("meta-llama/meta-llama-3", "llama3"),
    ("meta-llama/llama-3", "llama3"),
)
TRAIN_DATASET = "train"
VALID_DATASET = "valid"
# Files a LoRA run leaves in output_dir that a server needs; uploaded in this order, config last,
# because a loader treats a folder with adapter_config.json as a complete adapter.
ADAPTER_CONFIG = "adapter_config.json"
# Fewest optimizer steps a run may take: the published VIGGO setups take 75-155
# (../shared/reference/finetune-anchors.md); 100 records x 3 epochs at an effective batch of 16 would
# be 21. Below the floor the epochs are raised (the run trains on whole epochs, so the cosine
# schedule and every record's share stay as they are).
DEFAULT_MIN_STEPS = 75
LAUNCHER_MODULE = "llm_workloads.trainers.llamafactory_launch"


class FinetuneError(Exception):
    """A refused or failed fine-tune (message names the argument, file or URI)."""


@dataclass(frozen=True)
class FinetuneArgs:
    base_model: str
    train_uri: str
    valid_uri: str
    lora_root: str
    adapter_name: str
    seed: int
    epochs: int
    learning_rate: float
    lora_rank: int
    lora_alpha: int
    context_length: int
    manifest_uri: str
    lora_dropout: float = 0.05
    batch_size: int = 4
    gradient_accumulation_steps: int = 4
    template: str | None = None
    base_model_revision: str | None = None
    min_steps: int = DEFAULT_MIN_STEPS
    num_gpus: int = 1
    accelerator_type: str | None = None
    work_dir: str | None = None
    benchmark_uri: str | None = None

    @property
    def adapter_uri(self) -> str:
        return storage.join(self.lora_root, self.adapter_name)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "lora_rank": self.lora_rank,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": self.lora_dropout,
            "lora_target": "all",
            "context_length": self.context_length,
            "per_device_batch_size": self.batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "num_gpus": self.num_gpus,
            "template": template_for(self.base_model, self.template),
            "lr_scheduler": "cosine",
            "warmup_ratio": 0.1,
            "min_optimizer_steps": self.min_steps,
        }

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.gradient_accumulation_steps * self.num_gpus


@dataclass(frozen=True)
class Schedule:
    """The optimizer steps a run takes: what the trainer computes from the record count."""

    records: int
    steps_per_epoch: int
    epochs_requested: int
    epochs: int

    @property
    def optimizer_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def to_dict(self) -> dict[str, int]:
        return {
            "train_records": self.records,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs_requested": self.epochs_requested,
            "epochs": self.epochs,
            "optimizer_steps": self.optimizer_steps,
        }


def training_schedule(records: int, args: FinetuneArgs) -> Schedule:
    """Epochs raised until the run takes at least `args.min_steps` optimizer steps.

    Steps per epoch as the Hugging Face Trainer counts them (no packing): batches per device
    ceil(records / (batch x GPUs)), one optimizer step per `gradient_accumulation_steps` batches, the
    last partial accumulation included.
    """
    if records <= 0:
        raise FinetuneError("--train-uri: no training records")
    batches = -(-records // (args.batch_size * args.num_gpus))
    steps_per_epoch = -(-batches // args.gradient_accumulation_steps)
    epochs = max(args.epochs, -(-args.min_steps // steps_per_epoch))
    return Schedule(records, steps_per_epoch, args.epochs, epochs)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _dropout(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _adapter_name(text: str) -> str:
    if not ADAPTER_NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} must be 1-64 letters, digits, '.', '_' or '-' (it becomes '<base>:<adapter>')"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m llm_workloads.finetune", description=__doc__.splitlines()[0])
    p.add_argument(
        "--base-model", required=True, help="Hugging Face model id, e.g. mistralai/Mistral-7B-Instruct-v0.1"
    )
    p.add_argument("--train-uri", required=True)
    p.add_argument("--valid-uri", required=True)
    p.add_argument("--lora-root", required=True, help="root of all adapters; the service loads from here")
    p.add_argument(
        "--adapter-name", required=True, type=_adapter_name, help="new per-run folder under the root"
    )
    p.add_argument("--seed", required=True, type=_non_negative_int)
    p.add_argument("--epochs", required=True, type=_positive_int)
    p.add_argument("--learning-rate", required=True, type=_positive_float)
    p.add_argument("--lora-rank", required=True, type=_positive_int)
    p.add_argument("--lora-alpha", required=True, type=_positive_int)
    p.add_argument("--context-length", required=True, type=_positive_int)
    p.add_argument("--manifest-uri", required=True)
    p.add_argument("--lora-dropout", type=_dropout, default=0.05)
    p.add_argument("--batch-size", type=_positive_int, default=4, help="per-device train batch size")
    p.add_argument("--gradient-accumulation-steps", type=_positive_int, default=4)
    p.add_argument(
        "--template", default=None, help="LLaMA-Factory chat template (default: from --base-model)"
    )
    p.add_argument(
        "--base-model-revision",
        default=None,
        help="Hugging Face commit of the base model (pins weights, tokenizer and chat template)",
    )
    p.add_argument(
        "--min-steps",
        type=_non_negative_int,
        default=DEFAULT_MIN_STEPS,
        help="fewest optimizer steps; epochs are raised to reach it (0: no floor)",
    )
    p.add_argument("--num-gpus", type=_positive_int, default=1)
    p.add_argument(
        "--accelerator-type", default=None, help="Ray accelerator type for the training task, e.g. A10G"
    )
    p.add_argument("--work-dir", default=None, help="local scratch dir (default: a temp dir)")
    p.add_argument(
        "--benchmark-uri",
        default=None,
        help="manifest of the model line's frozen benchmark version (llm_workloads.benchmark): every train "
        "or "
        "valid record sharing a sentence or a meaning group with it is removed, and counted in the manifest",
    )
    return p


def parse_args(argv: Sequence[str] | None = None) -> FinetuneArgs:
    parser = build_parser()
    ns = parser.parse_args(argv)
    args = FinetuneArgs(**vars(ns))
    try:
        template_for(args.base_model, args.template)  # fail at parse time, not after the GPUs started
    except FinetuneError as error:
        parser.error(str(error))  # exits 2 with the usage line, like every other bad argument
    return args


def template_for(base_model: str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    lowered = base_model.lower()
    for prefix, template in TEMPLATES:
        if lowered.startswith(prefix):
            return template
    raise FinetuneError(f"--base-model {base_model!r}: no known LLaMA-Factory template; pass --template")


def dataset_info(train_file: str, valid_file: str) -> dict[str, Any]:
    """LLaMA-Factory dataset registry for OpenAI-style `messages` records (its "sharegpt" formatting)."""
    spec = {
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
            "system_tag": "system",
        },
    }
    return {
        TRAIN_DATASET: {"file_name": train_file, **spec},
        VALID_DATASET: {"file_name": valid_file, **spec},
    }


def llamafactory_config(
    args: FinetuneArgs, dataset_dir: str, output_dir: str, epochs: int | None = None
) -> dict[str, Any]:
    """The `llamafactory-cli train` config (LLaMA-Factory's YAML keys); `epochs`: the schedule's."""
    revision = {"model_revision": args.base_model_revision} if args.base_model_revision else {}
    return {
        "model_name_or_path": args.base_model,
        **revision,
        "trust_remote_code": False,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "lora",
        "lora_rank": args.lora_rank,
        "lora_alpha": args.lora_alpha,
        "lora_dropout": args.lora_dropout,
        "lora_target": "all",
        "dataset_dir": dataset_dir,
        "dataset": TRAIN_DATASET,
        "eval_dataset": VALID_DATASET,
        "template": template_for(args.base_model, args.template),
        "cutoff_len": args.context_length,
        "overwrite_cache": True,
        "preprocessing_num_workers": 4,
        "output_dir": output_dir,
        "overwrite_output_dir": False,
        "save_strategy": "no",  # only the final adapter is kept; no checkpoint folders to upload
        "logging_steps": 5,
        "plot_loss": False,
        "report_to": "none",
        "per_device_train_batch_size": args.batch_size,
        "per_device_eval_batch_size": args.batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "learning_rate": args.learning_rate,
        "num_train_epochs": float(args.epochs if epochs is None else epochs),
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.1,
        "bf16": True,
        "eval_strategy": "epoch",
        "seed": args.seed,
        "data_seed": args.seed,
    }


def training_command(config_path: Path, num_gpus: int = 1) -> list[str]:
    """`llamafactory-cli train <config>` through our launcher, which registers the chat templates of
    llm_workloads.chat_template first (one process per GPU under torchrun, each registering them)."""
    launch = ["-m", LAUNCHER_MODULE, "train", str(config_path)]
    if num_gpus > 1:
        return ["torchrun", "--standalone", f"--nproc_per_node={num_gpus}", *launch]
    return [sys.executable, *launch]


def training_env(args: FinetuneArgs, base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env["PYTHONHASHSEED"] = str(args.seed)
    return env


def check_adapter_absent(args: FinetuneArgs) -> None:
    if storage.prefix_exists(args.adapter_uri):
        raise FinetuneError(
            f"--adapter-name {args.adapter_name!r}: {args.adapter_uri} already holds an adapter; "
            "adapters are never overwritten (a live service may serve it) - use a new adapter name"
        )
    if storage.exists(args.manifest_uri):
        raise FinetuneError(f"--manifest-uri {args.manifest_uri}: already exists; use a new manifest URI")


def training_rows(uri: str, text: str) -> list[dict[str, Any]]:
    """Validated records of one split, reduced to `messages` (what the trainer reads)."""
    from llm_workloads.records import validate_text

    count, problems = validate_text(text)
    if problems:
        shown = "; ".join(p.format(uri) for p in problems[:5])
        raise FinetuneError(f"{uri}: {len({p.line for p in problems})} bad records: {shown}")
    if count == 0:
        raise FinetuneError(f"{uri}: no records")
    return [{"messages": json.loads(line)["messages"]} for line in text.splitlines()]


def exclude_benchmark(
    benchmark_uri: str | None, train: list[dict[str, Any]], valid: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None]:
    """Train and valid records without any that share a normalised, casefolded sentence or a meaning group
    (`splits.group_key`) with the frozen benchmark, and what was removed (None without a benchmark)."""
    if not benchmark_uri:
        return train, valid, None
    from llm_workloads.benchmark import BenchmarkError, exclusion_of

    try:
        manifest, exclusion = exclusion_of(benchmark_uri)
    except (BenchmarkError, storage.StorageError) as error:
        raise FinetuneError(f"--benchmark-uri: {error}") from error
    kept_train, removed_train = exclusion.split(train)
    kept_valid, removed_valid = exclusion.split(valid)
    if not kept_valid:
        raise FinetuneError(f"--valid-uri: every validation record overlaps the benchmark {benchmark_uri}")
    return (
        kept_train,
        kept_valid,
        {
            "uri": benchmark_uri,
            "version": manifest["version"],
            "sha256": manifest["sha256"],
            "items": manifest["items"],
            "excluded": {"train": removed_train, "valid": removed_valid},
        },
    )


def read_metrics(output_dir: Path) -> dict[str, float]:
    """Final losses and throughput from the trainer's all_results.json (empty if missing)."""
    path = output_dir / "all_results.json"
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    keep = ("train_loss", "eval_loss", "epoch", "train_runtime", "train_samples_per_second")
    return {key: float(raw[key]) for key in keep if isinstance(raw.get(key), int | float)}


def adapter_files(output_dir: Path) -> list[Path]:
    """Top-level files of the trainer output, adapter_config.json last. Fails if there is no adapter."""
    files = sorted(p for p in output_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    names = {p.name for p in files}
    if ADAPTER_CONFIG not in names or not names & {"adapter_model.safetensors", "adapter_model.bin"}:
        raise FinetuneError(
            f"{output_dir}: training finished without adapter_config.json and adapter weights"
        )
    return [p for p in files if p.name != ADAPTER_CONFIG] + [output_dir / ADAPTER_CONFIG]


def upload_adapter(output_dir: Path, adapter_uri: str) -> dict[str, str]:
    uploaded: dict[str, str] = {}
    for path in adapter_files(output_dir):
        data = path.read_bytes()
        try:
            storage.put_if_absent(storage.join(adapter_uri, path.name), data)
        except storage.AlreadyExistsError as error:
            raise FinetuneError(f"{adapter_uri}: appeared while training (another run?): {error}") from error
        uploaded[path.name] = sha256_hex(data)
    return uploaded


CommandRunner = Callable[[list[str], dict[str, str]], None]


def run_command(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True)  # argument list: no shell, no quoting issues


def train_locally(
    args: FinetuneArgs,
    runner: CommandRunner = run_command,
    info: Callable[[], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Download and validate data, train, upload the adapter. Runs where the GPUs are.

    `info` describes the trainer for the manifest (default: the LLaMA-Factory stack's versions).
    """
    train_text = storage.read_text(args.train_uri)
    valid_text = storage.read_text(args.valid_uri)
    train = training_rows(args.train_uri, train_text)
    valid = training_rows(args.valid_uri, valid_text)
    train, valid, benchmark = exclude_benchmark(args.benchmark_uri, train, valid)
    hashed = data_hash({"train.jsonl": train_text.encode(), "valid.jsonl": valid_text.encode()})
    with tempfile.TemporaryDirectory(prefix="llm-finetune-", dir=args.work_dir) as scratch:
        root = Path(scratch)
        data_dir = root / "data"
        data_dir.mkdir()
        (data_dir / "train.jsonl").write_text(storage.dumps_jsonl(train))
        (data_dir / "valid.jsonl").write_text(storage.dumps_jsonl(valid))
        (data_dir / "dataset_info.json").write_text(
            json.dumps(dataset_info("train.jsonl", "valid.jsonl"), indent=2)
        )
        output_dir = root / "output"
        config_path = root / "train.yaml"
        import yaml

        schedule = training_schedule(len(train), args)
        config = llamafactory_config(args, str(data_dir), str(output_dir), epochs=schedule.epochs)
        config_path.write_text(yaml.safe_dump(config, sort_keys=True, width=1_000_000))
        try:
            runner(training_command(config_path, args.num_gpus), training_env(args, os.environ))
        except subprocess.CalledProcessError as error:
            raise FinetuneError(f"llamafactory-cli train failed with exit code {error.returncode}") from error
        metrics = read_metrics(output_dir)
        uploaded = upload_adapter(output_dir, args.adapter_uri)
    return {
        "data_hash": hashed,
        "metrics": metrics,
        "adapter_files": uploaded,
        "counts": {"train": len(train), "valid": len(valid)},
        "schedule": schedule.to_dict(),
        "trainer": (info or trainer_info)(),  # where training ran (the GPU worker), not the driver
        "benchmark": benchmark,
    }


def train_on_ray(args: FinetuneArgs) -> dict[str, Any]:
    """Run `train_locally` as a Ray task holding the GPUs (import of ray only here)."""
    import ray

    options: dict[str, Any] = {"num_gpus": args.num_gpus, "max_retries": 0}
    if args.accelerator_type:
        options["accelerator_type"] = args.accelerator_type
    task = ray.remote(train_locally).options(**options)
    result: dict[str, Any] = ray.get(task.remote(args))
    return result


def trainer_info() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    info = {"stack": "llamafactory"}
    for package in ("llamafactory", "transformers", "peft", "torch"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = "unknown"
    return info


def train_with_stand_in(args: FinetuneArgs) -> dict[str, Any]:
    """The local stack's trainer: `train_locally` in this process with the stand-in for the CLI."""
    from llm_workloads.trainers import stand_in

    return train_locally(args, runner=stand_in.run, info=stand_in.info)


def select_trainer(env: Mapping[str, str]) -> Callable[[FinetuneArgs], dict[str, Any]]:
    """The trainer the job's environment selects (see `llm_workloads.trainers`)."""
    from llm_workloads.trainers import STAND_IN, trainer_name

    return train_with_stand_in if trainer_name(env) == STAND_IN else train_on_ray


def execute(
    args: FinetuneArgs, train: Callable[[FinetuneArgs], dict[str, Any]] = train_on_ray
) -> dict[str, Any]:
    check_adapter_absent(args)
    outcome = train(args)
    manifest = finetune_manifest(
        base_model=args.base_model,
        adapter_name=args.adapter_name,
        adapter_uri=args.adapter_uri,
        train_uri=args.train_uri,
        valid_uri=args.valid_uri,
        data_hash_value=outcome["data_hash"],
        hyperparameters={**args.hyperparameters(), **outcome.get("schedule", {})},
        trainer=outcome.get("trainer") or trainer_info(),
        metrics={**outcome["metrics"], **{f"{k}_records": v for k, v in outcome["counts"].items()}},
        adapter_files=outcome["adapter_files"],
    )
    # None when the definitions pass no revision: the manifest says so instead of pretending a pin.
    manifest["base_model_revision"] = args.base_model_revision
    # The frozen benchmark training was kept away from, and how many records were removed for it.
    manifest["benchmark"] = outcome.get("benchmark")
    manifest["arguments"] = {k: v for k, v in sorted(asdict(args).items()) if k != "work_dir"}
    storage.put_if_absent(args.manifest_uri, storage.dumps_json(manifest).encode(), "application/json")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    from llm_workloads.trainers import TrainerSelectionError, trainer_name
    from llm_workloads.trainers.stand_in import StandInTrainerError

    args = parse_args(argv)
    try:
        train = select_trainer(os.environ)
        print(f"finetune: trainer {trainer_name(os.environ)}", file=sys.stderr)
        manifest = execute(args, train=train)
    except (FinetuneError, storage.StorageError, TrainerSelectionError, StandInTrainerError) as error:
        print(f"finetune: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"adapter_uri": manifest["adapter_uri"], "model_id": manifest["model_id"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
