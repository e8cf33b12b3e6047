"""Checks every speech adapter must pass, shared by their test modules."""

from __future__ import annotations

import pytest


def assert_batches_equal_one_at_a_time_and_naive(adapter, items, mode, prompt) -> None:
    """Items scored in batches of 8 equal items scored one at a time and the per-candidate path."""
    one = [adapter.score(item, mode, prompt) for item in items]
    eight = [scores for start in range(0, len(items), 8) for scores in adapter.score_batch(items[start : start + 8], mode, prompt)]
    naive = [adapter.naive_score(item, mode, prompt, features_per_candidate=False) for item in items]
    for item, a, b, c in zip(items, one, eight, naive, strict=True):
        assert [s.n_tokens for s in a] == [s.n_tokens for s in b] == [s.n_tokens for s in c]
        assert [s.loss for s in b] == pytest.approx([s.loss for s in a], abs=1e-4), item.id
        assert [s.loss for s in b] == pytest.approx([s.loss for s in c], abs=1e-4), item.id
