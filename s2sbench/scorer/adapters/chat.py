"""Prompt styles: S2SBench's raw wording, or the model's own chat template (``--prompt-style``).

``raw`` (the default) is S2SBench's procedure: the language profile's ``text_prefix`` (t2t) or
``speech_prefix`` and the audio (s2t) as plain text, then ``separator + candidate``, the sequence
started as the tokenizer starts text (``--bos``).

``chat`` is for instruction-tuned models: the same context becomes the user's turn of the model's
chat template, closed and followed by the template's generation prompt (the assistant's turn
opened); each candidate is the assistant's reply, scored as it would be written there: without the
profile's separator, the template supplying whatever starts the sequence (so ``--bos`` does not
apply). In s2t the audio goes where the family's own template puts it: a processor with a chat
template renders a typed user turn (text, then audio), which the processor then expands as in
raw; without one, the tokenizer's template gets the text with the family's audio markup.

A model without a chat template cannot be scored in the chat style: one line says so before any
item is scored.
"""

from __future__ import annotations

from typing import Any

from s2sbench.errors import EngineError, S2SBenchError

PROMPT_STYLES = ("raw", "chat")


def check_prompt_style(style: str) -> None:
    if style not in PROMPT_STYLES:
        raise S2SBenchError(f"--prompt-style must be one of {', '.join(PROMPT_STYLES)}, not {style!r}")


def has_chat_template(owner: Any) -> bool:
    """Whether ``owner`` (a tokenizer or processor) has a chat template of its own."""
    return bool(getattr(owner, "chat_template", None))


def require_chat_template(owner: Any, model: str) -> None:
    if not has_chat_template(owner):
        raise EngineError(f"--prompt-style chat: {model!r} has no chat template; score it with --prompt-style raw")


def user_turn(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def as_ids(encoded: Any) -> list[int]:
    """The token ids of an ``apply_chat_template(tokenize=True)`` result (a list, or a mapping holding them)."""
    ids = encoded["input_ids"] if not isinstance(encoded, list) else encoded
    if ids and isinstance(ids[0], list):  # a batch of one
        ids = ids[0]
    return [int(i) for i in ids]


def chat_prefix_ids(tokenizer: Any, text: str) -> list[int]:
    """``text`` as the user's turn of the tokenizer's chat template, the assistant's turn opened."""
    return as_ids(tokenizer.apply_chat_template(user_turn(text), add_generation_prompt=True, tokenize=True))


def chat_prefix_text(owner: Any, content: Any) -> str:
    """The user's turn (``content``: a text, or typed parts for a processor) rendered by ``owner``'s chat template, the assistant's turn opened."""
    return owner.apply_chat_template(user_turn(content), add_generation_prompt=True, tokenize=False)
