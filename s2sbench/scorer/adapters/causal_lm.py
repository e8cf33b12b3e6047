"""Text causal LMs: any ``AutoModelForCausalLM`` (hub id or directory) or a GGUF file; t2t only.

Scoring shares the prefix: the context runs once with the KV cache, the cache is expanded to the
K candidates, and the candidates run as one right-padded batch with explicit position ids. Only
the scored positions go through the loss. :meth:`CausalLM.naive_score` is the one-sequence-per-
candidate reference the shared path is tested against.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter


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


def load_causal_lm(model: str, device: str, dtype):
    """(model, tokenizer) from a hub id, a directory, or a ``.gguf`` file."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise EngineError(f"transformers is not installed ({exc}): pip install 's2sbench[score]'") from exc
    path = Path(model).expanduser()
    if model.startswith((".", "/", "~")) and not path.exists():
        raise EngineError(f"{model}: no such model directory or file")
    kwargs: dict[str, Any] = {}
    source = model
    if path.suffix == ".gguf":
        if not path.is_file():
            raise EngineError(f"{path}: GGUF file not found")
        source, kwargs["gguf_file"] = str(path.parent), path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        network = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs).to(device).eval()
    except Exception as exc:
        raise EngineError(f"cannot load causal LM {model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    return network, tokenizer


def score_after_prefix(decoder, head, last_logits, cache, prefix_length: int, continuations: list[list[int]], pad_id: int, prefix_mask=None) -> list[CandidateScore]:
    """Mean NLL of K token continuations after a cached prefix, in one right-padded batch.

    ``cache`` already holds one prefix row per continuation (``batch_repeat_interleave``, or
    ``batch_select_indices`` when several items share the batch); ``last_logits`` holds each row's
    last real prefix position's output, which predicts the continuation's first token. Prefixes of
    different lengths are right-padded to ``prefix_length`` and described by ``prefix_mask`` (rows x
    prefix_length; default all ones). ``decoder`` is the transformer body (returns
    ``last_hidden_state``), ``head`` the LM head, applied only to scored positions.
    """
    import torch

    device = last_logits.device
    k = len(continuations)
    if prefix_mask is None:
        prefix_mask = torch.ones((k, prefix_length), dtype=torch.long, device=device)
    longest = max(len(c) for c in continuations)
    tokens = torch.full((k, longest), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((k, longest), dtype=torch.long, device=device)
    for row, continuation in enumerate(continuations):
        tokens[row, : len(continuation)] = torch.tensor(continuation, device=device)
        mask[row, : len(continuation)] = 1
    attention = torch.cat([prefix_mask, mask], dim=1)
    positions = prefix_mask.sum(dim=1, keepdim=True) + torch.arange(longest, device=device)
    hidden = decoder(input_ids=tokens, attention_mask=attention, position_ids=positions, cache=cache, use_cache=True).last_hidden_state
    # Token j of a candidate is predicted by position j-1; token 0 by the prefix's last position.
    scored = mask[:, 1:].bool()
    log_probs_rest = torch.log_softmax(head(hidden[:, :-1][scored]).float(), dim=-1).gather(1, tokens[:, 1:][scored].unsqueeze(1)).squeeze(1)
    first_log_probs = torch.log_softmax(last_logits, dim=-1).expand(k, -1).gather(1, tokens[:, :1]).squeeze(1)
    scores, offset = [], 0
    for row, continuation in enumerate(continuations):
        count = len(continuation) - 1
        total = first_log_probs[row] + log_probs_rest[offset : offset + count].sum()
        offset += count
        scores.append(CandidateScore(loss=float(-total / len(continuation)), n_tokens=len(continuation)))
    return scores


class CausalLM:
    modes = ("t2t",)

    def __init__(self, spec: AdapterSpec):
        self.spec = spec
        self.device, self.dtype = resolve_device_dtype(spec)
        self.model, self.tokenizer = load_causal_lm(spec.model, self.device, self.dtype)

    def identity(self) -> dict[str, Any]:
        return {"adapter": "causal-lm", "model": self.spec.model, "dtype": str(self.dtype).replace("torch.", ""), "device": self.device}

    # Tokenization: each part separately, so a candidate's tokens never merge with the context's.
    def encode_parts(self, context: str, candidates: list[str], prompt: Prompt) -> tuple[list[int], list[list[int]]]:
        bos = [self.tokenizer.bos_token_id] if self.tokenizer.bos_token_id is not None else []
        prefix = self.tokenizer(prompt.text_prefix + context, add_special_tokens=False)["input_ids"]
        continuations = [self.tokenizer(prompt.separator + text, add_special_tokens=False)["input_ids"] for text in candidates]
        if any(not c for c in continuations):
            raise EngineError("a candidate tokenizes to nothing")
        return bos + prefix, continuations

    def score(self, item: ScoreItem, mode: str, prompt: Prompt) -> list[CandidateScore]:
        context, continuations = self.encode_parts(item.context, item.candidates, prompt)
        return self.score_tokens(context, continuations)

    def score_tokens(self, context: list[int], continuations: list[list[int]]) -> list[CandidateScore]:
        """Shared-prefix scoring of token continuations after a token context."""
        import torch

        with torch.inference_mode():
            ids = torch.tensor([context], device=self.device)
            first = self.model(input_ids=ids, use_cache=True, logits_to_keep=1)
            cache = getattr(first, "cache", None) or first.past_key_values
            k = len(continuations)
            cache.batch_repeat_interleave(k)
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            return score_after_prefix(self.model.model, self.model.lm_head, first.logits[:, -1].float(), cache, len(context), continuations, pad)

    def score_batch(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        """Several items at once: their contexts right-padded in one forward, each context's cache
        row repeated for its K candidates, every candidate of the batch in one forward."""
        import torch

        encoded = [self.encode_parts(item.context, item.candidates, prompt) for item in items]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        lengths = torch.tensor([len(context) for context, _ in encoded], device=self.device)
        width = int(lengths.max())
        ids = torch.full((len(items), width), pad, dtype=torch.long, device=self.device)
        mask = torch.zeros((len(items), width), dtype=torch.long, device=self.device)
        for row, (context, _) in enumerate(encoded):
            ids[row, : len(context)] = torch.tensor(context, device=self.device)
            mask[row, : len(context)] = 1
        with torch.inference_mode():
            positions = torch.arange(width, device=self.device).expand(len(items), width)
            out = self.model.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
            cache = getattr(out, "cache", None) or out.past_key_values
            last_hidden = out.last_hidden_state[torch.arange(len(items), device=self.device), lengths - 1]
            last_logits = self.model.lm_head(last_hidden).float()
            rows = torch.repeat_interleave(torch.arange(len(items), device=self.device), torch.tensor([len(c) for _, c in encoded], device=self.device))
            cache.batch_select_indices(rows)
            continuations = [c for _, item_continuations in encoded for c in item_continuations]
            flat = score_after_prefix(self.model.model, self.model.lm_head, last_logits[rows], cache, width, continuations, pad, prefix_mask=mask[rows])
        results, offset = [], 0
        for _, item_continuations in encoded:
            results.append(flat[offset : offset + len(item_continuations)])
            offset += len(item_continuations)
        return results

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
                scores.append(CandidateScore(loss=float(nll / len(continuation)), n_tokens=len(continuation)))
        return scores


register_adapter("causal-lm")(CausalLM)
