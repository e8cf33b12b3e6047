"""The metric against hand-computed cases, ties included, for 2-way and 4-way items."""

from __future__ import annotations

import math

import pytest

from s2sbench.scorer.metric import ItemOutcome, degradation, is_correct, mcnemar_p, mode_summary, pairwise_wins


@pytest.mark.parametrize(
    ("losses", "answer", "correct", "wins"),
    [
        ([1.0, 2.0], 0, True, (1, 1)),
        ([2.0, 1.0], 0, False, (0, 1)),
        ([1.5, 1.5], 0, False, (0, 1)),  # 2-way tie: strictly lower is required for both figures
        ([1.0, 2.0, 3.0, 4.0], 0, True, (3, 3)),
        ([2.0, 1.0, 3.0, 4.0], 0, False, (2, 3)),
        ([1.0, 1.0, 3.0, 4.0], 0, False, (3, 3)),  # 4-way tie: not acc, but pairwise counts <=
        ([3.0, 2.0, 2.0, 1.0], 2, False, (2, 3)),
        ([5.0, 5.0, 5.0, 5.0], 3, False, (3, 3)),
    ],
)
def test_item_outcomes(losses, answer, correct, wins):
    assert is_correct(losses, answer) is correct
    assert pairwise_wins(losses, answer) == wins


def test_mode_summary_by_hand():
    outcomes = [ItemOutcome.from_losses(losses, a) for losses, a in [([1.0, 2.0], 0), ([2.0, 1.0], 0), ([1.0, 1.0, 3.0, 4.0], 0), ([0.5, 1.0, 1.5, 2.0], 3)]]
    summary = mode_summary(outcomes)
    assert summary["n"] == 4
    assert summary["acc"] == pytest.approx(1 / 4)
    assert summary["pairwise_acc"] == pytest.approx((1 + 0 + 3 + 0) / (1 + 1 + 3 + 3))
    assert summary["mean_loss_plausible"] == pytest.approx((1.0 + 2.0 + 1.0 + 2.0) / 4)
    assert summary["mean_loss_implausible"] == pytest.approx((2.0 + 1.0 + 8 / 3 + 1.0) / 4)


def test_mcnemar_exact_values():
    # b=3 discordant one way, c=0 the other: p = 2 * (1/2)^3 = 0.25
    assert mcnemar_p([True, True, True, False], [False, False, False, False]) == pytest.approx(0.25)
    assert mcnemar_p([True, False], [True, False]) == 1.0
    # b=1, c=1: p = 2 * (C(2,0)+C(2,1))/4 = 1.5 -> capped at 1
    assert mcnemar_p([True, False], [False, True]) == 1.0
    # b=10, c=0: p = 2 / 1024
    assert mcnemar_p([True] * 10, [False] * 10) == pytest.approx(2 / 1024)


def test_degradation_point_estimate_and_interval():
    text = [ItemOutcome.from_losses([1.0, 2.0], 0)] * 8 + [ItemOutcome.from_losses([2.0, 1.0], 0)] * 2
    speech = [ItemOutcome.from_losses([1.0, 2.0], 0)] * 5 + [ItemOutcome.from_losses([2.0, 1.0], 0)] * 5
    result = degradation(text, speech, resamples=500)
    assert result["acc"] == pytest.approx(0.8 - 0.5)
    assert result["pairwise_acc"] == pytest.approx(0.3)
    low, high = result["acc_ci"]
    assert 0.0 <= low <= 0.3 <= high <= 0.7
    assert result["mcnemar_p"] == pytest.approx(2 * 1 / 8)  # b=3, c=0


def test_no_degradation_when_modes_agree():
    same = [ItemOutcome.from_losses([1.0, 2.0, 3.0, 0.5], i % 4) for i in range(12)]
    result = degradation(same, same, resamples=200)
    assert result["acc"] == 0.0 and result["acc_ci"] == [0.0, 0.0] and result["mcnemar_p"] == 1.0


def test_degradation_needs_the_same_items():
    with pytest.raises(ValueError):
        degradation([ItemOutcome.from_losses([1.0, 2.0], 0)], [])


def test_sum_and_byte_accuracies_by_hand():
    # Mean NLL prefers the long candidate 1; the sum prefers the short candidate 0; per byte, 1 again.
    losses, logprobs, n_bytes = [2.0, 1.0], [-4.0, -6.0], [5, 30]
    outcome = ItemOutcome.from_losses(losses, 0, logprobs, n_bytes)
    assert (outcome.correct, outcome.correct_sum, outcome.correct_bytes) == (False, True, False)
    tie = ItemOutcome.from_losses([1.0, 1.0], 1, [-3.0, -3.0], [4, 4])
    assert (tie.correct, tie.correct_sum, tie.correct_bytes) == (False, False, False)  # a tie goes to the first, as np.argmax
    summary = mode_summary([outcome, ItemOutcome.from_losses([1.0, 2.0], 0, [-1.0, -2.0], [3, 3])])
    assert (summary["acc"], summary["acc_sum"], summary["acc_bytes"]) == (0.5, 1.0, 0.5)
    unknown = mode_summary([ItemOutcome.from_losses([1.0, 2.0], 0)])
    assert unknown["acc"] == 1.0 and math.isnan(unknown["acc_sum"])


def test_degradation_of_every_convention():
    text = [ItemOutcome.from_losses([1.0, 2.0], 0, [-1.0, -2.0], [3, 3])] * 4
    speech = [ItemOutcome.from_losses([2.0, 1.0], 0, [-1.0, -2.0], [3, 30])] * 2 + text[:2]
    result = degradation(text, speech, resamples=200)
    assert (result["acc"], result["acc_sum"], result["acc_bytes"]) == (0.5, 0.0, 0.5)
    assert result["acc_sum_ci"] == [0.0, 0.0]


def test_bootstrap_interval_equals_a_naive_loop_over_the_same_draws():
    """The vectorized bootstrap against the plain definition: per draw, the paired difference of the
    resampled items (the draws from NumPy's frozen RandomState, seed 0)."""
    import random

    import numpy as np

    rng = random.Random(1)
    text = [ItemOutcome.from_losses([rng.random() for _ in range(4)], rng.randrange(4)) for _ in range(37)]
    speech = [ItemOutcome.from_losses([rng.random() for _ in range(4)], o.wins % 4) for o in text]
    result = degradation(text, speech, resamples=300, seed=0)
    draws = np.random.RandomState(0).randint(0, 37, size=(300, 37))
    naive_acc = sorted(sum(text[i].correct - speech[i].correct for i in draw) / 37 for draw in draws.tolist())
    naive_pairs = sorted(sum(text[i].wins - speech[i].wins for i in draw) / sum(text[i].pairs for i in draw) for draw in draws.tolist())
    assert result["acc_ci"] == pytest.approx([naive_acc[int(0.025 * 299)], naive_acc[math.ceil(0.975 * 299)]], abs=1e-12)
    assert result["pairwise_acc_ci"] == pytest.approx([naive_pairs[int(0.025 * 299)], naive_pairs[math.ceil(0.975 * 299)]], abs=1e-12)
    assert degradation(text, speech, resamples=300, seed=0) == result  # the same numbers on every run


def test_breakdowns_by_hand():
    from s2sbench.scorer.breakdowns import MIN_ITEMS, breakdowns, flips, quartile_edges, quartile_label

    right, wrong = ItemOutcome.from_losses([1.0, 2.0], 0), ItemOutcome.from_losses([2.0, 1.0], 0)
    # 12 items by voice "a": right in text, 6 wrong from speech; 3 by voice "b": right in both.
    ids = [f"i{n}" for n in range(15)]
    text = dict.fromkeys(ids, right)
    speech = {item: (wrong if n < 6 else right) for n, item in enumerate(ids)}
    facets = {item: {"voice": "a" if n < 12 else "b", "words": n + 1, "asr_error": "(0, 0.1]" if n < 3 else "0", "category": None}
              for n, item in enumerate(ids)}
    result = breakdowns(text, speech, facets)
    assert set(result) == {"voice", "words", "asr_error"}  # no category: no bucket
    assert result["voice"]["a"]["n"] == 12 and result["voice"]["a"]["acc"] == pytest.approx(6 / 12) and "acc_ci" in result["voice"]["a"]
    assert result["voice"]["b"] == {"n": 3, "acc_t2t": 1.0, "acc_speech": 1.0, "chance": 0.5, "acc": 0.0, "too_few": True} and 3 < MIN_ITEMS
    assert quartile_edges(list(range(1, 16))) == [4, 8, 12]
    assert [quartile_label(v, [4, 8, 12]) for v in (1, 4, 5, 12, 13)] == ["<= 4", "<= 4", "(4, 8]", "(8, 12]", "> 12"]
    words = result["words"]
    assert list(words) == ["<= 4", "(4, 8]", "(8, 12]", "> 12"] and list(result["asr_error"]) == ["0", "(0, 0.1]"]  # in the order of their values
    assert [words[label]["n"] for label in ("<= 4", "(4, 8]", "(8, 12]", "> 12")] == [4, 4, 4, 3]
    assert words["<= 4"]["acc"] == 1.0 and words["(4, 8]"]["acc"] == 0.5 and words["> 12"]["acc"] == 0.0
    # 6 flips, 3 of them on a misheard clip; 3 of 15 items misheard in all
    assert flips(text, speech, facets) == {"items": 15, "right_to_wrong": 6, "right_to_wrong_misheard": 0.5, "all_misheard": 0.2}
