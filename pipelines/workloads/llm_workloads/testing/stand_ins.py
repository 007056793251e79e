"""Local stand-ins for the GPU parts of the flow, for notebooks and tests on a CPU-only machine.

* `StandInResponder` plays the models behind an OpenAI-compatible service: it knows the reference
  answers of the data it is given and answers a configurable share of items correctly (chosen by a
  hash, so runs are reproducible); the other answers are prose or near-misses (a wrong value or a
  wrong act). Its scores say nothing about any real model - they only exercise the evaluation.
* `stand_in_trainer_runner` (the local stack's `llm_workloads.trainers.stand_in.run`) replaces the
  `llamafactory-cli train` call of `llm_workloads.finetune`: everything around it (data validation,
  config, create-only upload, manifest) is the real code, but the weights it writes are untrained.

Every output of these stand-ins carries the word STAND-IN.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_workloads.mr import MeaningRepresentation, ParseOk, parse_mr, render_mr
from llm_workloads.testing.server import Action, ChatRequest, HttpError, Reply
from llm_workloads.trainers.stand_in import run as stand_in_trainer_runner  # noqa: F401 (re-export)

STAND_IN_NOTICE = (
    "STAND-IN: no model was trained or served here; answers come from a scripted local server "
    "that knows the reference labels. Figures only exercise the evaluation code."
)


@dataclass(frozen=True)
class StandInModel:
    """A pretend model: the share of items it answers exactly right, without and with few-shot examples."""

    model_id: str
    zero_shot_accuracy: float
    few_shot_accuracy: float
    prose_when_wrong: bool = False  # base chat models answer in prose without examples


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def near_miss(target: MeaningRepresentation, salt: str) -> str:
    """A plausible wrong answer: a different act, or one slot value changed."""
    if _unit("kind", salt) < 0.4:
        act = "inform" if target.act != "inform" else "give_opinion"
        return render_mr(MeaningRepresentation(act, target.slots))
    slots = list(target.slots)
    index = int(_unit("slot", salt) * len(slots))
    name, _ = slots[index]
    slots[index] = (name, ("unknown",))
    return render_mr(MeaningRepresentation(target.act, tuple(slots)))


class StandInResponder:
    """Responder for `llm_workloads.testing.server` that plays several stand-in models."""

    def __init__(self, records: Iterable[Mapping[str, Any]], models: Sequence[StandInModel]):
        self._targets: dict[str, MeaningRepresentation] = {}
        for record in records:
            parsed = parse_mr(record["messages"][2]["content"])
            if isinstance(parsed, ParseOk):
                self._targets[record["messages"][1]["content"]] = parsed.value
        self._models = {model.model_id: model for model in models}

    @property
    def model_ids(self) -> list[str]:
        return sorted(self._models)

    def __call__(self, request: ChatRequest) -> Action:
        model = self._models.get(request.model)
        if model is None:
            return HttpError(404, f"model {request.model!r} is not served (STAND-IN serves {self.model_ids})")
        target = self._targets.get(request.user_content)
        if target is None:
            return Reply("I am not sure what this sentence is about.")
        shots = sum(1 for m in request.messages if m.get("role") == "assistant")
        few_shot = shots > 0
        accuracy = model.few_shot_accuracy if few_shot else model.zero_shot_accuracy
        salt = f"{model.model_id}\x00{shots}\x00{request.user_content}"
        if _unit("right", salt) < accuracy:
            return Reply(render_mr(target))
        if model.prose_when_wrong and not few_shot:
            return Reply(
                f"This sentence is about the video game {target.slot_dict().get('name', ('a game',))[0]}."
            )
        return Reply(near_miss(target, salt))
