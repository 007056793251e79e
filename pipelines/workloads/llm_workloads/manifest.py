"""Manifests: small JSON documents that say exactly what a dataset version or an adapter was built from.

They hold no timestamps or host names, so the same inputs give byte-identical manifests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

MANIFEST_SCHEMA_VERSION = 1


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_hash(files: Mapping[str, bytes]) -> str:
    """One hash over named files: sha256 of the sorted `name:sha256` lines."""
    lines = "".join(f"{name}:{sha256_hex(files[name])}\n" for name in sorted(files))
    return "sha256:" + sha256_hex(lines.encode())


def data_hash_of_digests(digests: Mapping[str, str]) -> str:
    """`data_hash` from precomputed sha256 hex digests (files streamed to disk, never held in memory)."""
    lines = "".join(f"{name}:{digests[name]}\n" for name in sorted(digests))
    return "sha256:" + sha256_hex(lines.encode())


def dataset_manifest(
    *,
    version: str,
    inputs: list[str],
    digests: Mapping[str, Mapping[str, Any]],
    counts: Mapping[str, int],
    rejected_by_reason: Mapping[str, int],
    split_policy: Mapping[str, Any],
    hashed_files: tuple[str, ...] = ("train.jsonl", "valid.jsonl", "test.jsonl"),
) -> dict[str, Any]:
    """`digests`: file name -> {"sha256", "bytes"}; the data hash covers the split files only."""
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "kind": "dataset",
        "version": version,
        "inputs": sorted(inputs),
        "data_hash": data_hash_of_digests({name: str(digests[name]["sha256"]) for name in hashed_files}),
        "files": {
            name: {"sha256": str(d["sha256"]), "bytes": int(d["bytes"])}
            for name, d in sorted(digests.items())
        },
        "counts": dict(sorted(counts.items())),
        "rejected_by_reason": dict(sorted(rejected_by_reason.items())),
        "split_policy": dict(split_policy),
    }


def finetune_manifest(
    *,
    base_model: str,
    adapter_name: str,
    adapter_uri: str,
    train_uri: str,
    valid_uri: str,
    data_hash_value: str,
    hyperparameters: Mapping[str, Any],
    trainer: Mapping[str, Any],
    metrics: Mapping[str, Any],
    adapter_files: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "kind": "lora_adapter",
        "base_model": base_model,
        "adapter_name": adapter_name,
        "adapter_uri": adapter_uri,
        "model_id": f"{base_model}:{adapter_name}",
        "data": {"train_uri": train_uri, "valid_uri": valid_uri, "data_hash": data_hash_value},
        "hyperparameters": dict(sorted(hyperparameters.items())),
        "trainer": dict(sorted(trainer.items())),
        "metrics": dict(sorted(metrics.items())),
        "adapter_files": dict(sorted(adapter_files.items())),
    }
