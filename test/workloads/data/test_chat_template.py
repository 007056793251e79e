"""Training renders the same text as serving: the dataset's chat records through both templates.

Serving: the Mistral-7B-Instruct-v0.1 tokenizer chat template (the Jinja text vLLM applies, embedded
in llm_workloads.chat_template with its source), given what the evaluation sends
(`prompts.build_messages`), followed by the answer the model is trained to generate.
Training: the LLaMA-Factory slot template the fine-tune job selects for the base model.
"""

from __future__ import annotations

import json

import pytest
from llm_workloads import chat_template as ct
from llm_workloads.finetune import template_for
from llm_workloads.prompts import build_messages

BASE_MODEL = "mistralai/Mistral-7B-Instruct-v0.1"


def test_training_text_equals_serving_text_on_every_sample_record(viggo_lines: list[str]) -> None:
    serving, name = ct.family(BASE_MODEL) or ("", "")
    assert template_for(BASE_MODEL) == name == "viggo_mistral_instruct"
    template = ct.TRAINING_TEMPLATES[name]
    checked = 0
    for line in viggo_lines:
        record = json.loads(line)
        messages = record["messages"]
        trained = ct.render_slots(template, messages)
        # What the server builds from the evaluation's request, then the answer and end of sequence.
        prompt = ct.render_chat_template(serving, build_messages(record), add_generation_prompt=True)
        assert trained == prompt + " " + messages[2]["content"] + "</s>", record
        assert trained == ct.render_chat_template(serving, messages)
        checked += 1
    assert checked >= 100
    example = json.loads(viggo_lines[0])["messages"]
    assert ct.render_slots(template, example).startswith("<s> [INST] " + example[0]["content"] + "\n\n")


def test_few_shot_turns_render_alike() -> None:
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "U2"},
        {"role": "assistant", "content": "A2"},
    ]
    serving = ct.render_chat_template(ct.MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE, messages)
    assert serving == "<s> [INST] S\n\nU1 [/INST] A1</s> [INST] U2 [/INST] A2</s>"
    assert ct.render_slots(ct.TRAINING_TEMPLATES["viggo_mistral_instruct"], messages) == serving


def test_llamafactory_builtin_mistral_template_does_not_match_serving() -> None:
    # Why the job does not use LLaMA-Factory's `mistral` template: no spaces around [INST] / [/INST].
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U"},
        {"role": "assistant", "content": "A"},
    ]
    builtin = ct.render_slots(ct.LLAMAFACTORY_MISTRAL, messages)
    assert builtin == "<s>[INST] S\n\nU[/INST] A</s>"
    assert builtin != ct.render_chat_template(ct.MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE, messages)


def test_tokenizer_check_refuses_a_different_template() -> None:
    class Tokenizer:
        bos_token, eos_token = "<s>", "</s>"

        def __init__(self, template: str) -> None:
            self.template = template

        def apply_chat_template(self, messages: list[dict], tokenize: bool) -> str:
            assert tokenize is False
            return ct.render_chat_template(self.template, messages)

    ct.check_against_tokenizer(Tokenizer(ct.MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE), "viggo_mistral_instruct")
    other = ct.MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE.replace("' [/INST]'", "'[/INST]'")
    with pytest.raises(ct.ChatTemplateError, match="training would not match serving"):
        ct.check_against_tokenizer(Tokenizer(other), "viggo_mistral_instruct")


def test_roles_out_of_order_are_refused_by_both() -> None:
    bad = [{"role": "assistant", "content": "A"}]
    with pytest.raises(ct.ChatTemplateError, match="alternate"):
        ct.render_chat_template(ct.MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE, bad)
    with pytest.raises(ct.ChatTemplateError, match="expected role 'user'"):
        ct.render_slots(ct.TRAINING_TEMPLATES["viggo_mistral_instruct"], bad)
