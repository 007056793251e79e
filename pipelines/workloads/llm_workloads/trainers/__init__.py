"""Which trainer a fine-tune job uses, chosen by the job's environment (never by a flag or another DAG).

* `llamafactory` (the default): `llamafactory-cli train` in a Ray task holding the GPUs (Anyscale).
* `stand-in`: `stand_in.run`, in-process, for the local stack, where there is no GPU, Ray or
  LLaMA-Factory. The local job runner sets `LLM_LOCAL_STACK=1`; `LLM_TRAINER=stand-in` selects it
  explicitly. The rendered DAG and the job's entrypoint are the same in both cases.
"""

from __future__ import annotations

from collections.abc import Mapping

TRAINER_ENV = "LLM_TRAINER"
LOCAL_STACK_ENV = "LLM_LOCAL_STACK"
LLAMAFACTORY = "llamafactory"
STAND_IN = "stand-in"
TRAINERS = (LLAMAFACTORY, STAND_IN)


class TrainerSelectionError(ValueError):
    """The environment names a trainer that does not exist."""


def trainer_name(env: Mapping[str, str]) -> str:
    """The trainer the environment asks for: LLM_TRAINER if set, else stand-in on the local stack."""
    explicit = env.get(TRAINER_ENV, "").strip()
    if explicit:
        if explicit not in TRAINERS:
            raise TrainerSelectionError(
                f"{TRAINER_ENV}={explicit!r}: unknown trainer; expected one of {', '.join(TRAINERS)}"
            )
        return explicit
    local = env.get(LOCAL_STACK_ENV, "").strip()
    if local not in ("", "0", "1"):
        raise TrainerSelectionError(f"{LOCAL_STACK_ENV}={local!r}: expected 1 (local stack) or 0")
    return STAND_IN if local == "1" else LLAMAFACTORY
