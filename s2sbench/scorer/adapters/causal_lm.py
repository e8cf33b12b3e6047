"""Text causal LMs: any ``AutoModelForCausalLM`` (hub id or directory) or a GGUF file; t2t only.

Scoring shares the prefix: the context runs once with the KV cache, the cache is expanded to the
K candidates, and the candidates run as one right-padded batch with explicit position ids. Only
the scored positions go through the loss. Several items share each forward
(:meth:`CausalLM.score_items`). :meth:`CausalLM.naive_score` is the one-sequence-per-candidate
reference the shared path is tested against.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import Adapter, AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.chat import PROMPT_STYLES, chat_prefix_ids, require_chat_template
from s2sbench.scorer.adapters.tokens import SequenceStart


def resolve_device_dtype(spec: AdapterSpec):
    import torch

    device = spec.device
    if device == "auto":
        # Under torchrun each process takes the GPU of its local rank.
        device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if torch.cuda.is_available() else "cpu"
    if spec.dtype == "auto":
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    else:
        dtype = getattr(torch, spec.dtype)
    return device, dtype


def load_causal_lm(model: str, device: str, dtype, trust_remote_code: bool = False):
    """(model, tokenizer) from a hub id, a directory, or a ``.gguf`` file; ``trust_remote_code``:
    run the checkpoint's own modelling code (``--trust-remote-code``)."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise EngineError(f"transformers is not installed ({exc}): pip install 's2sbench[score]'") from exc
    path = Path(model).expanduser()
    if model.startswith((".", "/", "~")) and not path.exists():
        raise EngineError(f"{model}: no such model directory or file")
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}  # False, not None: transformers would ask on stdin
    source = model
    if path.suffix == ".gguf":
        if not path.is_file():
            raise EngineError(f"{path}: GGUF file not found")
        source, kwargs["gguf_file"] = str(path.parent), path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        network = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs).to(device).eval()
    except Exception as exc:
        if "trust_remote_code" in str(exc) and not trust_remote_code:  # its code is in the checkpoint: the user decides
            raise EngineError(f"{model!r} runs its own modelling code; pass --trust-remote-code if you trust it") from exc
        raise EngineError(f"cannot load causal LM {model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    return network, tokenizer


def right_pad(sequences: list[list[int]], pad_id: int, device: str) -> tuple[Any, Any]:
    """(ids, mask): token sequences right-padded to the longest, and which positions are real."""
    import torch

    ids = torch.full((len(sequences), max(len(s) for s in sequences)), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        mask[row, : len(sequence)] = 1
    return ids.to(device), mask.to(device)


def left_pad(sequences: list[list[int]], pad_id: int, device: str) -> tuple[Any, Any, Any]:
    """(ids, mask, positions): token sequences left-padded to the longest, which positions are
    real, and each real token's position in its own sequence (padding: 0).

    For models with sliding-window layers: their cache keeps only the last window of keys, which
    with right padding can be a short prefix's padding alone, and their window is counted along
    the padded batch, so a gap of padding would shift it. Left-padded, every row's real tokens end
    the prefix and lie as far apart as they are in their own sequence."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, sequence in enumerate(sequences):
        ids[row, width - len(sequence) :] = torch.tensor(sequence, dtype=torch.long)
        mask[row, width - len(sequence) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def score_after_prefixes(decoder, head, prefix, prefix_mask, continuations: list[list[list[int]]], pad_id: int) -> list[list[CandidateScore]]:
    """Mean NLL of each prefix's token continuations, every continuation of the batch in one forward.

    ``prefix`` is the output of one forward of the padded prefixes (right- or left-padded) with the cache
    (``last_hidden_state`` and ``cache``), ``prefix_mask`` their attention mask (prefixes x width),
    ``continuations[i]`` the K continuations of prefix i. Each prefix's cache row is repeated for its
    continuations, which then run as one right-padded batch with explicit position ids. ``decoder`` is
    the transformer body (returns ``last_hidden_state``), ``head`` the LM head, applied only to the
    scored positions.
    """
    import torch

    device = prefix_mask.device
    count = prefix_mask.shape[0]
    width = prefix_mask.shape[1]
    last = (prefix_mask * torch.arange(width, device=device)).argmax(dim=1)  # each row's last real token, right- or left-padded
    last_logits = head(prefix.last_hidden_state[torch.arange(count, device=device), last]).float()
    rows = torch.repeat_interleave(torch.arange(count, device=device), torch.tensor([len(c) for c in continuations], device=device))
    cache = getattr(prefix, "cache", None) or prefix.past_key_values
    cache.batch_select_indices(rows)
    flat = [continuation for item_continuations in continuations for continuation in item_continuations]
    scores = _score_continuations(decoder, head, last_logits[rows], cache, prefix_mask[rows], flat, pad_id)
    results, offset = [], 0
    for item_continuations in continuations:
        results.append(scores[offset : offset + len(item_continuations)])
        offset += len(item_continuations)
    return results


def _score_continuations(decoder, head, last_logits, cache, prefix_mask, continuations: list[list[int]], pad_id: int) -> list[CandidateScore]:
    """Mean NLL of token continuations, one per cached prefix row (``prefix_mask``: rows x width;
    ``last_logits``: each row's output at its last real prefix position, which predicts the
    continuation's first token)."""
    import torch

    tokens, mask = right_pad(continuations, pad_id, last_logits.device)
    attention = torch.cat([prefix_mask, mask], dim=1)
    positions = prefix_mask.sum(dim=1, keepdim=True) + torch.arange(tokens.shape[1], device=tokens.device)
    hidden = decoder(input_ids=tokens, attention_mask=attention, position_ids=positions, cache=cache, use_cache=True).last_hidden_state
    # Token j of a candidate is predicted by position j-1; token 0 by the prefix's last position.
    scored = mask[:, 1:].bool()
    log_probs_rest = torch.log_softmax(head(hidden[:, :-1][scored]).float(), dim=-1).gather(1, tokens[:, 1:][scored].unsqueeze(1)).squeeze(1)
    first_log_probs = torch.log_softmax(last_logits, dim=-1).gather(1, tokens[:, :1]).squeeze(1)
    scores, offset = [], 0
    for row, continuation in enumerate(continuations):
        count = len(continuation) - 1
        total = first_log_probs[row] + log_probs_rest[offset : offset + count].sum()
        offset += count
        scores.append(CandidateScore(loss=float(-total / len(continuation)), n_tokens=len(continuation), logprob=float(total)))
    return scores


class CausalLM(Adapter):
    modes = ("t2t",)
    prompt_styles = PROMPT_STYLES
    auto_for = "any other model, .gguf files"  # what --adapter auto falls back to

    def __init__(self, spec: AdapterSpec):
        self.spec = spec
        self.device, self.dtype = resolve_device_dtype(spec)
        self.model, self.tokenizer = load_causal_lm(spec.model, self.device, self.dtype, bool(spec.options.get("trust_remote_code")))
        self.start = SequenceStart.of(self.tokenizer, spec.options.get("bos", "auto"))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    def identity(self) -> dict[str, Any]:
        return {"adapter": "causal-lm", "model": self.spec.model, "dtype": str(self.dtype).replace("torch.", ""), "device": self.device, "bos": self.start.as_dict()}

    def check_prompt_style(self, style: str) -> None:
        """Before any item: the chat style needs the model's chat template."""
        if style == "chat":
            require_chat_template(self.tokenizer, self.spec.model)

    # Tokenization: each part separately, so a candidate's tokens never merge with the context's.
    def encode_parts(self, context: str, candidates: list[str], prompt: Prompt) -> tuple[list[int], list[list[int]]]:
        if prompt.chat:  # the user's turn of the chat template, the assistant's opened: the template starts the sequence
            prefix = chat_prefix_ids(self.tokenizer, prompt.text_prefix + context)
        else:
            prefix = self.start.before(self.tokenizer(prompt.text_prefix + context, add_special_tokens=False)["input_ids"])
        continuations = [self.tokenizer(prompt.candidate_separator + text, add_special_tokens=False)["input_ids"] for text in candidates]
        if any(not text.strip() or not ids for text, ids in zip(candidates, continuations)):
            raise EngineError("a candidate is empty (an empty transcript?); there is nothing to score")
        return prefix, continuations  # an empty context starts from a document boundary: see tokens.py

    def _encode_item(self, item: ScoreItem, prompt: Prompt) -> tuple[list[int], list[list[int]]]:
        try:
            return self.encode_parts(item.context, item.candidates, prompt)
        except EngineError as exc:
            raise EngineError(f"{item.id}: {exc}") from exc

    def score_items(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        """Several items at once: their contexts left-padded in one forward (any model may have
        sliding-window layers: see :func:`left_pad`), each context's cache row repeated for its K
        candidates, every candidate of the batch in one forward."""
        import torch

        encoded = [self._encode_item(item, prompt) for item in items]
        ids, mask, positions = left_pad([context for context, _ in encoded], self.pad_id, self.device)
        with torch.inference_mode():
            out = self.model.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
            return score_after_prefixes(self.model.model, self.model.lm_head, out, mask, [c for _, c in encoded], self.pad_id)

    def naive_score(self, item: ScoreItem, prompt: Prompt) -> list[CandidateScore]:
        """One full forward per candidate, batch 1: the reference the shared path must match."""
        import torch

        context, continuations = self.encode_parts(item.context, item.candidates, prompt)
        scores = []
        with torch.inference_mode():
            for continuation in continuations:
                ids = torch.tensor([context + continuation], device=self.device)
                logits = self.model(input_ids=ids).logits[0, len(context) - 1 : -1].float()
                nll = -torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(continuation, device=self.device).unsqueeze(1)).sum()
                scores.append(CandidateScore(loss=float(nll / len(continuation)), n_tokens=len(continuation), logprob=-float(nll)))
        return scores


register_adapter("causal-lm")(CausalLM)
