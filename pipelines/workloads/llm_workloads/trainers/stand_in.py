"""The stand-in for `llamafactory-cli train` on the local stack (no GPU, torch, Ray or LLaMA-Factory).

It is a `finetune.CommandRunner`: it receives the same command and the same YAML config the real
trainer gets, reads the same dataset files, and leaves in `output_dir` what a LoRA run leaves there:

* `adapter_config.json`: a PEFT LoRA config with the run's base model, rank, alpha, dropout and
  the modules LLaMA-Factory's `lora_target: all` resolves to for these model families;
* `adapter_model.safetensors`: a valid safetensors file with one lora_A/lora_B pair per target
  module (of one layer, at a reduced width, so it stays a few kilobytes). The values are drawn from
  a generator seeded with the run's seed and the training data, so a re-run writes the same bytes.
  The header metadata says `stand_in: true`: these are not trained weights;
* `trainer_log.jsonl` and `all_results.json`: a loss curve over the run's real step count,
  computed from the seed and data (deterministic, no timings), in LLaMA-Factory's field names.

Everything around it (reading and validating the data, the config, create-only upload, the manifest)
is `llm_workloads.finetune`'s real code.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from pathlib import Path
from typing import Any

FORMAT_VERSION = "1"
# The linear layers of Mistral, Llama and Qwen decoder blocks: what `lora_target: all` selects there.
ALL_LINEAR_MODULES = ("down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj")
ATTENTION_MODULES = frozenset({"k_proj", "o_proj", "q_proj", "v_proj"})
REDUCED_WIDTH = 64  # in/out features of the stand-in matrices (the real ones are the model's hidden size)
LOGGING_STEPS_KEY = "logging_steps"


class StandInTrainerError(Exception):
    """The config or data the stand-in was given is not what the real trainer would accept."""


def info() -> dict[str, str]:
    """Recorded in the manifest as `trainer`, in place of the LLaMA-Factory package versions."""
    return {"stack": "stand-in", "stand_in_format": FORMAT_VERSION}


def _config(command: list[str]) -> dict[str, Any]:
    import yaml

    # finetune.training_command: `<python> -m <launcher> train <config>`, under torchrun for several GPUs.
    launcher = "llm_workloads.trainers.llamafactory_launch"
    if len(command) < 5 or command[-4:-1] != ["-m", launcher, "train"]:
        raise StandInTrainerError(f"expected '<python> -m {launcher} train <config>', got {command}")
    path = command[-1]
    config = yaml.safe_load(Path(path).read_text("utf-8"))
    if not isinstance(config, dict):
        raise StandInTrainerError(f"{path}: not a YAML mapping")
    required = ("model_name_or_path", "output_dir", "dataset_dir", "dataset", "eval_dataset", "lora_rank")
    missing = [key for key in required if key not in config]
    if missing:
        raise StandInTrainerError(f"{path}: missing {', '.join(missing)}")
    if config.get("finetuning_type") != "lora":
        raise StandInTrainerError(f"{path}: finetuning_type: only lora is supported")
    return config


def _dataset_bytes(config: dict[str, Any], name: str) -> bytes:
    dataset_dir = Path(config["dataset_dir"])
    registry = json.loads((dataset_dir / "dataset_info.json").read_text("utf-8"))
    entry = registry.get(name)
    if not isinstance(entry, dict) or "file_name" not in entry:
        raise StandInTrainerError(f"{dataset_dir}/dataset_info.json: no dataset named {name!r}")
    return (dataset_dir / entry["file_name"]).read_bytes()


def target_modules(lora_target: str) -> list[str]:
    if lora_target == "all":
        return list(ALL_LINEAR_MODULES)
    return sorted({part.strip() for part in lora_target.split(",") if part.strip()})


def adapter_config(config: dict[str, Any]) -> dict[str, Any]:
    """PEFT's LoraConfig as `save_pretrained` writes it (the fields vLLM and PEFT read)."""
    return {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": config["model_name_or_path"],
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": int(config.get("lora_alpha", 2 * int(config["lora_rank"]))),
        "lora_dropout": float(config.get("lora_dropout", 0.0)),
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": int(config["lora_rank"]),
        "rank_pattern": {},
        "revision": None,
        "target_modules": target_modules(str(config.get("lora_target", "all"))),
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }


def safetensors_bytes(tensors: dict[str, tuple[list[int], list[float]]], metadata: dict[str, str]) -> bytes:
    """The safetensors layout: u64 header length, JSON header (keys sorted), then F32 data in that order."""
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    blobs: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        if math.prod(shape) != len(values):
            raise StandInTrainerError(f"tensor {name}: shape {shape} does not hold {len(values)} values")
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header to 8-byte alignment
    return struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs)


def _module_path(module: str) -> str:
    block = "self_attn" if module in ATTENTION_MODULES else "mlp"
    return f"base_model.model.model.layers.0.{block}.{module}"


def adapter_weights(config: dict[str, Any], rng: random.Random) -> bytes:
    rank = int(config["lora_rank"])
    tensors: dict[str, tuple[list[int], list[float]]] = {}
    for module in target_modules(str(config.get("lora_target", "all"))):
        path = _module_path(module)
        a = [rng.uniform(-0.02, 0.02) for _ in range(rank * REDUCED_WIDTH)]
        b = [rng.uniform(-0.002, 0.002) for _ in range(REDUCED_WIDTH * rank)]
        tensors[f"{path}.lora_A.weight"] = ([rank, REDUCED_WIDTH], a)
        tensors[f"{path}.lora_B.weight"] = ([REDUCED_WIDTH, rank], b)
    metadata = {"format": "pt", "stand_in": "true", "note": "not trained weights (local stack)"}
    return safetensors_bytes(tensors, metadata)


def loss_curve(config: dict[str, Any], train_records: int, rng: random.Random) -> list[dict[str, Any]]:
    """One log line per `logging_steps` over the real step count, in trainer_log.jsonl's field names."""
    epochs = float(config.get("num_train_epochs", 1.0))
    per_step = int(config.get("per_device_train_batch_size", 1)) * int(
        config.get("gradient_accumulation_steps", 1)
    )
    steps_per_epoch = max(1, math.ceil(train_records / per_step))
    total = max(1, math.ceil(steps_per_epoch * epochs))
    every = max(1, int(config.get(LOGGING_STEPS_KEY, 5)))
    logged = sorted({*range(every, total + 1, every), total})
    lr = float(config.get("learning_rate", 1e-4))
    lines = []
    for step in logged:
        progress = step / total
        loss = 0.35 + 1.8 * math.exp(-4.0 * progress) + rng.uniform(-0.03, 0.03)
        lines.append(
            {
                "current_steps": step,
                "total_steps": total,
                "loss": round(loss, 4),
                "lr": round(lr * 0.5 * (1 + math.cos(math.pi * progress)), 10),
                "epoch": round(epochs * progress, 4),
                "percentage": round(100 * progress, 2),
            }
        )
    return lines


def run(command: list[str], env: dict[str, str]) -> None:
    """Drop-in for `finetune.run_command` (same arguments; the environment is not needed here)."""
    config = _config(command)
    train = _dataset_bytes(config, config["dataset"])
    valid = _dataset_bytes(config, config["eval_dataset"])
    train_records = sum(1 for line in train.splitlines() if line.strip())
    if train_records == 0:
        raise StandInTrainerError(f"{config['dataset_dir']}: dataset {config['dataset']!r} is empty")
    output_dir = Path(config["output_dir"])
    if output_dir.exists() and any(output_dir.iterdir()) and not config.get("overwrite_output_dir"):
        raise StandInTrainerError(f"{output_dir}: output_dir is not empty and overwrite_output_dir is off")
    seed = hashlib.sha256(
        b"\x00".join([str(config.get("seed", 0)).encode(), hashlib.sha256(train + valid).digest()])
    ).digest()
    rng = random.Random(int.from_bytes(seed[:8], "big"))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "adapter_model.safetensors").write_bytes(adapter_weights(config, rng))
    curve = loss_curve(config, train_records, rng)
    (output_dir / "trainer_log.jsonl").write_text(
        "".join(json.dumps(line, sort_keys=True) + "\n" for line in curve), "utf-8"
    )
    train_loss = sum(line["loss"] for line in curve) / len(curve)
    results = {
        "epoch": float(config.get("num_train_epochs", 1.0)),
        "eval_loss": round(curve[-1]["loss"] + 0.05, 4),
        "train_loss": round(train_loss, 4),
        "stand_in": True,
    }
    (output_dir / "all_results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (output_dir / "adapter_config.json").write_text(
        json.dumps(adapter_config(config), indent=2, sort_keys=True) + "\n", "utf-8"
    )
