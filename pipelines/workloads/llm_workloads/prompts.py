"""Prompts sent to the model under evaluation, with versions that key the stored results.

Zero-shot sends exactly what the model was fine-tuned on: the record's system message and user
message (`Here is the target sentence:\\n<sentence>`). Few-shot puts N solved examples in front as
earlier chat turns (user sentence, assistant representation), which chat models follow far better
than the original demo's single text blob with "Output:" markers.

Change a template here => bump its version: the version is part of every result's settings key,
so results produced with different prompts are never mixed up or compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ZERO_SHOT_VERSION = "viggo-chat-v1"
FEW_SHOT_VERSION = "viggo-chat-fewshot-v1"

Message = dict[str, str]


def prompt_version(n_shots: int) -> str:
    return ZERO_SHOT_VERSION if n_shots == 0 else FEW_SHOT_VERSION


def _content(record: Mapping[str, Any], index: int) -> str:
    content: str = record["messages"][index]["content"]
    return content


def build_messages(record: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[Message]:
    """Chat messages for one test record: system, [example user/assistant turns], user."""
    messages: list[Message] = [{"role": "system", "content": _content(record, 0)}]
    for example in examples:
        messages.append({"role": "user", "content": _content(example, 1)})
        messages.append({"role": "assistant", "content": _content(example, 2)})
    messages.append({"role": "user", "content": _content(record, 1)})
    return messages


def _rank(seed: int, record: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{seed}\x00{_content(record, 1)}\x00{_content(record, 2)}".encode()).hexdigest()


def select_few_shot(
    pool: Iterable[Mapping[str, Any]], n: int, seed: int, test_records: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """`n` examples from `pool`, chosen reproducibly by `seed`.

    An example is never a test item in disguise: pool records whose sentence or whose target
    representation occurs in the test set are excluded (VIGGO has ~3 sentences per representation,
    so excluding only identical sentences would still leak answers). Distinct representations are
    preferred so the examples show variety. Raises ValueError when the pool is too small.
    """
    if n < 0:
        raise ValueError("number of few-shot examples must be >= 0")
    if n == 0:
        return []
    test = list(test_records)
    banned_sentences = {_content(r, 1) for r in test}
    banned_targets = {_content(r, 2) for r in test}
    candidates = [
        r for r in pool if _content(r, 1) not in banned_sentences and _content(r, 2) not in banned_targets
    ]
    candidates.sort(key=lambda r: _rank(seed, r))
    chosen: list[Mapping[str, Any]] = []
    seen_targets: set[str] = set()
    for record in candidates:
        if _content(record, 2) not in seen_targets:
            chosen.append(record)
            seen_targets.add(_content(record, 2))
        if len(chosen) == n:
            return chosen
    raise ValueError(
        f"few-shot pool has only {len(chosen)} usable examples with distinct targets not in the test set; "
        f"{n} requested"
    )
