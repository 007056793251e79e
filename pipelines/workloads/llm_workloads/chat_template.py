"""One chat template for training and serving.

Serving: vLLM (Ray Serve LLM) turns a chat request into text with the base model's tokenizer chat
template, the Jinja string in its `tokenizer_config.json`. Training: LLaMA-Factory turns the same
chat records into text with one of its own templates (slot lists). The two must produce the same
text, or the fine-tuned adapter is served prompts in a format it was not trained on.

LLaMA-Factory v0.9.3's built-in `mistral` template does not: it renders
`<s>[INST] system\\n\\nuser[/INST] answer</s>`, while Mistral-7B-Instruct-v0.1's chat template renders
`<s> [INST] system\\n\\nuser [/INST] answer</s>` (spaces around the instruction tags). So training uses
`TRAINING_TEMPLATES[...]`, slot lists written to equal the serving template; the LLaMA-Factory
launcher (`llm_workloads.trainers.llamafactory_launch`) registers them before training and, with the
tokenizer of the pinned base-model revision at hand, refuses to train when the tokenizer's own
chat template renders a probe conversation differently (`check_against_tokenizer`).

Both renderings here are string level. LLaMA-Factory tokenizes the prefix, each turn and each answer
separately; the server tokenizes the whole prompt, and the model generates the answer. The strings
agree exactly; the launcher's check compares the rendered text with the tokenizer's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Message = Mapping[str, str]

# The chat template of mistralai/Mistral-7B-Instruct-v0.1 (tokenizer_config.json, "chat_template"), as
# published on the Hugging Face Hub since Mistral's 2024 tokenizer update (an optional system message
# is folded into the first user turn). Text as reproduced in guidance-ai/guidance, guidance/chat.py
# (`mistral_7b_instruct_template`, which cites the tokenizer_config.json of the Mistral-7B-Instruct
# repositories). The base model revision pinned in pipelines/definitions/shared/platform.ts is the
# revision this text must match; the launcher checks it against the real tokenizer before training.
MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}\n"
    "    {%- set system_message = messages[0]['content'] %}\n"
    "    {%- set loop_messages = messages[1:] %}\n"
    "{%- else %}\n"
    "    {%- set loop_messages = messages %}\n"
    "{%- endif %}\n"
    "\n"
    "{{- bos_token }}\n"
    "{%- for message in loop_messages %}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n"
    "        {{- raise_exception('After the optional system message, conversation roles must alternate "
    "user/assistant/user/assistant/...') }}\n"
    "    {%- endif %}\n"
    "    {%- if message['role'] == 'user' %}\n"
    "        {%- if loop.first and system_message is defined %}\n"
    "            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n"
    "        {%- else %}\n"
    "            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n"
    "        {%- endif %}\n"
    "    {%- elif message['role'] == 'assistant' %}\n"
    "        {{- ' ' + message['content'] + eos_token}}\n"
    "    {%- else %}\n"
    "        {{- raise_exception('Only user and assistant roles are supported, with the exception of an "
    "initial optional system message!') }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
)
MISTRAL_SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}


@dataclass(frozen=True)
class SlotTemplate:
    """A LLaMA-Factory template whose system message is fused into the first user turn
    (its `Llama2Template` class): prefix, then per turn user / assistant slots.

    `{{content}}` marks where the text goes; `<bos>` / `<eos>` stand for the tokenizer's tokens
    (LLaMA-Factory's `{"bos_token"}` / `{"eos_token"}` slot elements)."""

    prefix: tuple[str, ...]
    system: str
    user: str
    assistant: tuple[str, ...]


BOS, EOS = "<bos>", "<eos>"

# Equal to MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE (proved by test_chat_template.py on the dataset's records).
TRAINING_TEMPLATES: dict[str, SlotTemplate] = {
    "viggo_mistral_instruct": SlotTemplate(
        prefix=(BOS,),
        system="{{content}}\n\n",
        user=" [INST] {{content}} [/INST]",
        assistant=(" {{content}}", EOS),
    ),
}
# LLaMA-Factory v0.9.3's own `mistral` template (src/llamafactory/data/template.py), for comparison.
LLAMAFACTORY_MISTRAL = SlotTemplate(
    prefix=(BOS,), system="{{content}}\n\n", user="[INST] {{content}}[/INST]", assistant=(" {{content}}", EOS)
)
# Serving chat template per base-model family (lower-case prefix of the Hugging Face id), and the
# training template that equals it.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("mistralai/mistral-7b-instruct-v0.1", MISTRAL_7B_INSTRUCT_CHAT_TEMPLATE, "viggo_mistral_instruct"),
)


class ChatTemplateError(ValueError):
    """A conversation a template cannot render, or templates that disagree."""


def render_chat_template(
    template: str,
    messages: Sequence[Message],
    special_tokens: Mapping[str, str] = MISTRAL_SPECIAL_TOKENS,
    add_generation_prompt: bool = False,
) -> str:
    """Render a tokenizer chat template as transformers' `apply_chat_template(tokenize=False)` does
    (sandboxed Jinja, trim_blocks and lstrip_blocks, `raise_exception`)."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ChatTemplateError(message)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.globals["raise_exception"] = raise_exception
    try:
        return env.from_string(template).render(
            messages=[dict(m) for m in messages],
            add_generation_prompt=add_generation_prompt,
            **special_tokens,
        )
    except TemplateError as error:
        raise ChatTemplateError(f"chat template: {error}") from error


def render_slots(
    template: SlotTemplate,
    messages: Sequence[Message],
    special_tokens: Mapping[str, str] = MISTRAL_SPECIAL_TOKENS,
) -> str:
    """The text LLaMA-Factory's Llama2Template builds for a conversation (string level)."""

    def fill(slot: str, content: str = "") -> str:
        if slot == BOS:
            return special_tokens["bos_token"]
        if slot == EOS:
            return special_tokens["eos_token"]
        return slot.replace("{{content}}", content)

    turns = list(messages)
    system = ""
    if turns and turns[0]["role"] == "system":
        system, turns = turns[0]["content"], turns[1:]
    parts = [fill(slot) for slot in template.prefix]
    for index, message in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if message["role"] != expected:
            raise ChatTemplateError(f"message {index}: expected role {expected!r}, got {message['role']!r}")
        if expected == "user":
            content = (fill(template.system, system) if index == 0 and system else "") + message["content"]
            parts.append(fill(template.user, content))
        else:
            parts.extend(fill(slot, message["content"]) for slot in template.assistant)
    return "".join(parts)


def family(base_model: str) -> tuple[str, str] | None:
    """(serving chat template, training template name) for a base model, or None if unknown."""
    lowered = base_model.lower()
    for prefix, serving, training in FAMILIES:
        if lowered.startswith(prefix):
            return serving, training
    return None


PROBE: tuple[Message, ...] = (
    {"role": "system", "content": "System text."},
    {"role": "user", "content": "First question?"},
    {"role": "assistant", "content": "first_answer()"},
    {"role": "user", "content": "Second question?"},
    {"role": "assistant", "content": "second_answer()"},
)


def check_against_tokenizer(tokenizer: Any, template_name: str) -> None:
    """Raise unless the tokenizer's own chat template renders PROBE exactly as the training template.

    Runs where the tokenizer of the pinned base-model revision is available (the training worker)."""
    apply = tokenizer.apply_chat_template
    served = apply([dict(m) for m in PROBE], tokenize=False)
    tokens = {
        "bos_token": str(tokenizer.bos_token),
        "eos_token": str(tokenizer.eos_token),
    }
    trained = render_slots(TRAINING_TEMPLATES[template_name], PROBE, tokens)
    if served != trained:
        raise ChatTemplateError(
            f"training template {template_name!r} renders {trained!r} but the base model's tokenizer chat "
            f"template (what vLLM serves) renders {served!r}; training would not match serving"
        )
