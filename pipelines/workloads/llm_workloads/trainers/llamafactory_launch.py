"""`python -m llm_workloads.trainers.llamafactory_launch train <config.yaml>`: LLaMA-Factory's training
with the chat templates of `llm_workloads.chat_template` registered first.

LLaMA-Factory only knows the templates registered in its process, and its built-in `mistral` template
does not render what vLLM serves (see llm_workloads.chat_template). This launcher registers ours,
then, when the config names one of them, loads the base model's tokenizer at the configured revision
and refuses to train unless the tokenizer's own chat template (the one vLLM applies) renders a probe
conversation exactly as the training template does. Then it runs LLaMA-Factory's `run_exp` on the
config, in this process (torchrun starts one such process per GPU).

Needs LLaMA-Factory, transformers and the GPUs: runs in the training task, never on the development
machine (the stand-in trainer replaces the whole command on the local stack).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_workloads import chat_template


def _slots(slots: Sequence[str]) -> list[Any]:
    mapped: list[Any] = []
    for slot in slots:
        if slot == chat_template.BOS:
            mapped.append({"bos_token"})
        elif slot == chat_template.EOS:
            mapped.append({"eos_token"})
        else:
            mapped.append(slot)
    return mapped


def register_templates() -> None:
    from llamafactory.data.formatter import EmptyFormatter, StringFormatter
    from llamafactory.data.template import Llama2Template, register_template

    for name, spec in chat_template.TRAINING_TEMPLATES.items():
        register_template(
            name=name,
            format_user=StringFormatter(slots=_slots([spec.user])),
            format_assistant=StringFormatter(slots=_slots(spec.assistant)),
            format_system=StringFormatter(slots=_slots([spec.system])),
            format_prefix=EmptyFormatter(slots=_slots(spec.prefix)),
            template_class=Llama2Template,  # the system message goes into the first user turn
        )


def check_template(config: dict[str, Any]) -> None:
    name = config.get("template")
    if name not in chat_template.TRAINING_TEMPLATES:
        return
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        config["model_name_or_path"], revision=config.get("model_revision", "main")
    )
    chat_template.check_against_tokenizer(tokenizer, str(name))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "train":
        print(
            "usage: python -m llm_workloads.trainers.llamafactory_launch train <config.yaml>", file=sys.stderr
        )
        return 2
    import yaml

    config = yaml.safe_load(Path(args[1]).read_text("utf-8"))
    register_templates()
    check_template(config)
    from llamafactory.train.tuner import run_exp

    run_exp(args=config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
