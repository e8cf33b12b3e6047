"""Where a scored sequence starts: the model's own convention, or ``--bos always|never``.

A context is scored the way the model's tokenizer encodes text: with the tokens the tokenizer
itself puts before it (a Llama tokenizer adds ``<s>``; Qwen2's and SmolLM2's add nothing, and a
GGUF tokenizer follows its ``tokenizer.ggml.add_bos_token``). Putting a BOS token before a model
that never sees one before plain text moves every log-likelihood (by up to 5.5 nats on SmolLM2),
which is why this is the default (``auto``), as it is lm-evaluation-harness's. ``always`` puts the
BOS token (or, with none, EOS) first; ``never`` puts nothing. Whatever the policy, a sequence with
nothing before its candidates (an empty context: a silent clip's transcript) starts from a
document boundary, BOS or else EOS, so the candidates are scored as unconditioned text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s2sbench.errors import EngineError

BOS_POLICIES = ("auto", "always", "never")
_PROBE = "Hello world"  # any plain text: what the tokenizer adds around it is what it adds around every text


def leading_special_tokens(tokenizer: Any) -> list[int]:
    """The tokens ``tokenizer`` puts before a text when asked to add its special tokens."""
    plain = tokenizer(_PROBE, add_special_tokens=False)["input_ids"]
    special = tokenizer(_PROBE)["input_ids"]
    for start in range(len(special) - len(plain) + 1):
        if special[start : start + len(plain)] == plain:
            return list(special[:start])
    return []


@dataclass(frozen=True)
class SequenceStart:
    """The tokens before every context under one policy, and the boundary for an empty one."""

    policy: str
    tokens: tuple[int, ...]  # put before every context
    tokenizer_adds: tuple[int, ...]  # what the tokenizer itself puts before a text (the ``auto`` tokens)
    boundary: int | None  # starts a sequence that would otherwise be empty

    @classmethod
    def of(cls, tokenizer: Any, policy: str = "auto") -> SequenceStart:
        if policy not in BOS_POLICIES:
            raise EngineError(f"--bos must be one of {', '.join(BOS_POLICIES)}, not {policy!r}")
        adds = tuple(leading_special_tokens(tokenizer))
        boundary = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        tokens = {"auto": adds, "always": (boundary,) if boundary is not None else (), "never": ()}[policy]
        return cls(policy, tokens, adds, boundary)

    def before(self, ids: list[int]) -> list[int]:
        """``ids`` (a context encoded without special tokens) with this start; never empty."""
        sequence = [*self.tokens, *ids]
        if not sequence and self.boundary is not None:
            return [self.boundary]
        return sequence

    def restart(self, ids: list[int]) -> list[int]:
        """``ids`` as a processor encoded them (with the tokenizer's own start) under this policy."""
        return self.before(self.template(ids))

    def template(self, ids: list[int]) -> list[int]:
        """``ids`` as a processor encoded them, without the tokenizer's own start: for a chat
        template's text, which already holds its start (a template's ``<bos>`` would be doubled)."""
        if self.tokenizer_adds and list(ids[: len(self.tokenizer_adds)]) == list(self.tokenizer_adds):
            return list(ids[len(self.tokenizer_adds) :])
        return list(ids)

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "tokens": list(self.tokens)}
