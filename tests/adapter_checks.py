"""Checks every speech adapter must pass, shared by their test modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from s2sbench.scorer.adapters import AdapterSpec, ScoreRequest, load_adapter

_TINY_MODELS: dict[tuple, Path] = {}
_ADAPTERS: dict[tuple, Any] = {}


def tiny_model(tmp_path_factory, build: Callable[..., Path], **options) -> Path:
    """``build(directory, **options)``, built once per test run: the family table's tests and the
    family's own module score the same model (building is most of an adapter test's setup)."""
    key = (build, *sorted(options.items()))
    if key not in _TINY_MODELS:
        _TINY_MODELS[key] = build(tmp_path_factory.mktemp(build.__name__.removeprefix("build_")), **options)
    return _TINY_MODELS[key]


def cpu_adapter(directory: Path, name: str, **options):
    """Adapter ``name`` of the model in ``directory``, on the CPU in float32, loaded once per test run
    for each ``options`` (AdapterSpec.options)."""
    key = (str(directory), name, *sorted(options.items()))
    if key not in _ADAPTERS:
        _ADAPTERS[key] = load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32", options=options), name)
    return _ADAPTERS[key]


def batch_scores(adapter, items, mode, prompt):
    """Scores of ``items`` in one batch: the one place these tests call the adapters' batch API."""
    return adapter.loglikelihood([ScoreRequest(item, mode, prompt) for item in items])


def assert_batches_equal_one_at_a_time_and_naive(adapter, items, mode, prompt) -> None:
    """Items scored in batches of 8 equal items scored one at a time and the per-candidate path."""
    one = [adapter.score(item, mode, prompt) for item in items]
    eight = [scores for start in range(0, len(items), 8) for scores in batch_scores(adapter, items[start : start + 8], mode, prompt)]
    naive = [adapter.naive_score(item, mode, prompt, features_per_candidate=False) for item in items]
    for item, a, b, c in zip(items, one, eight, naive, strict=True):
        assert [s.n_tokens for s in a] == [s.n_tokens for s in b] == [s.n_tokens for s in c]
        assert [s.loss for s in b] == pytest.approx([s.loss for s in a], abs=1e-4), item.id
        assert [s.loss for s in b] == pytest.approx([s.loss for s in c], abs=1e-4), item.id


def assert_shared_prefix_matches_naive(adapter, item, mode, prompt) -> None:
    """Shared-prefix scores equal S2SBench's one-forward-per-candidate ones, and tell candidates apart."""
    shared = adapter.score(item, mode, prompt)
    naive = adapter.naive_score(item, mode, prompt)
    assert len(shared) == len(naive) == len(item.candidates)
    assert [s.n_tokens for s in shared] == [n.n_tokens for n in naive]
    for s, n in zip(shared, naive, strict=True):
        assert s.loss == pytest.approx(n.loss, abs=1e-4), (item.id, mode)
    assert len({round(s.loss, 6) for s in shared}) > 1  # the candidates are told apart: not a vacuous match


def assert_named_special_tokens(tokenizer, named: dict[str, str]) -> None:
    """Each ``tokenizer.<name>`` is its token, and the token encodes to its one id (never split)."""
    for name, token in named.items():
        assert getattr(tokenizer, name) == token
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]


def assert_trained_bpe(tokenizer, bos: str | None = None) -> None:
    """A tiny BPE tokenizer as reloaded: only ``bos`` put before text (None: nothing, as Qwen2's;
    Gemma's and Mistral's put theirs), text decoded back, its merges in use."""
    text = "Anna wanted to bake cookies for her friends."
    plain = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer(text)["input_ids"] == ([tokenizer.convert_tokens_to_ids(bos)] if bos else []) + plain
    assert tokenizer.decode(plain) == text
    assert len(plain) < len(text.encode())  # the trained merges apply after reloading


def assert_tokenizer_round_trips(tokenizer) -> None:
    """The tiny BPE tokenizer as reloaded: Qwen2's special tokens, no BOS, its merges in use."""
    assert tokenizer.pad_token == tokenizer.eos_token == "<|endoftext|>" and tokenizer.bos_token_id is None
    assert_trained_bpe(tokenizer)


def assert_results_directory(output: Path, adapter_name: str, items, modes: tuple[str, str] = ("t2t", "s2t")) -> None:
    """A run of ``items`` (2 stories, 2 questions) in the text mode and one speech mode: every
    candidate's line in order, each item's last line marked, and per subset both modes and their
    degradation on 2 items, no other speech mode."""
    assert json.loads((output / "run.json").read_text())["adapter"]["adapter"] == adapter_name
    records = [json.loads(line) for line in (output / "scores.jsonl").read_text().splitlines()]
    for item in items:
        for mode in modes:
            lines = [r for r in records if r["id"] == item.id and r["mode"] == mode]
            assert [r["candidate"] for r in lines] == list(range(len(item.candidates)))
            assert lines[-1].get("last") is True
    speech = modes[1]
    degradation = "degradation" if speech == "s2t" else f"degradation_{speech}"
    summary = json.loads((output / "summary.json").read_text())
    assert set(summary) == {"story", "question"}
    for figures in summary.values():
        assert {*modes, degradation} <= set(figures) and not ({"s2t", "s2s"} - {speech}) & set(figures)
        assert figures[degradation]["n"] == 2
    assert (output / "summary.md").is_file()
