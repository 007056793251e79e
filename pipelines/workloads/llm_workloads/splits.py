"""Deterministic train/valid/test assignment by hash.

A record's split is a pure function of one key and a fixed salt, never of the other records, so
adding records never moves an existing one between splits.

The default key is the record's *meaning-representation group* (its canonical representation with case,
whitespace, slot order and list order ignored: `rating[Good]` and `rating[ good ]` are `rating[good]`),
not its id. VIGGO has about three sentences per representation; splitting by record id would put paraphrases
of the same representation in train and test, and test scores
would measure memorisation. Grouping keeps a whole group in one split. `key="record_id"` is
available for sources without such groups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal

from llm_workloads.mr import LIST_VALUED_SLOTS, MeaningRepresentation

Split = Literal["train", "valid", "test"]
SplitKey = Literal["mr_group", "record_id"]
SPLITS: tuple[Split, ...] = ("train", "valid", "test")
DEFAULT_FRACTIONS: Mapping[Split, float] = {"train": 0.8, "valid": 0.1, "test": 0.1}
DEFAULT_SALT = "llm-workloads-split-v1"
# Version of the group-key normalisation, recorded in every dataset manifest's split policy: a dataset version
# never changes split policy relative to its parent (llm_workloads.dataset refuses it).
GROUP_KEY_VERSION = 2


def _fold(value: str) -> str:
    return " ".join(value.split()).casefold()


def group_key(mr: MeaningRepresentation) -> str:
    """Canonical text of a representation with case, whitespace, slot order and list-value order ignored.

    Paraphrases of one meaning must share a key, or they could land in train and test: annotators write
    `rating[Good]` as often as `rating[good]`.
    """
    parts = []
    for slot, values in sorted((_fold(slot), tuple(_fold(v) for v in values)) for slot, values in mr.slots):
        ordered = sorted(values) if slot in LIST_VALUED_SLOTS else list(values)
        parts.append(f"{slot}[{'|'.join(ordered)}]")
    return f"{_fold(mr.act)}({';'.join(parts)})"


def unit_interval(key: str, salt: str = DEFAULT_SALT) -> float:
    """A uniform-looking number in [0, 1) from sha256(salt, key)."""
    digest = hashlib.sha256(f"{salt}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(
    key: str, fractions: Mapping[Split, float] = DEFAULT_FRACTIONS, salt: str = DEFAULT_SALT
) -> Split:
    check_fractions(fractions)
    point = unit_interval(key, salt)
    edge = 0.0
    for split in SPLITS:
        edge += fractions[split]
        if point < edge:
            return split
    return "test"  # floating-point remainder at the very top of the interval


def check_fractions(fractions: Mapping[Split, float]) -> None:
    if set(fractions) != set(SPLITS):
        raise ValueError(f"split fractions must name exactly {list(SPLITS)}, got {sorted(fractions)}")
    if any(value < 0 for value in fractions.values()):
        raise ValueError("split fractions must not be negative")
    if abs(sum(fractions.values()) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1, got {sum(fractions.values())}")
