"""The reference metric of spoken-continuation benchmarks, as small pure functions.

For one item scored in one mode, ``losses[k]`` is the mean token NLL of candidate k given the
context, and ``answer`` indexes the plausible candidate.

- ``acc``: the plausible candidate has the strictly lowest loss (chance 1/K).
- ``pairwise_acc``: S2SBench's own figure, the share of (plausible, implausible) pairs where the
  plausible loss is lower: strictly for 2-way items, lower-or-equal for 4-way and wider (as the
  S2SBench sCMMLU script counts), chance 1/2.
- degradation = metric(t2t) - metric(s2t) on the same items, with a paired bootstrap 95% interval
  and McNemar's exact test on the per-item ``acc`` outcomes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


def is_correct(losses: Sequence[float], answer: int) -> bool:
    """``acc`` of one item: the plausible loss is strictly below every other."""
    return all(losses[answer] < loss for k, loss in enumerate(losses) if k != answer)


def pairwise_wins(losses: Sequence[float], answer: int) -> tuple[int, int]:
    """(pairs won, pairs) of one item: 2-way strictly lower, wider items lower-or-equal."""
    strict = len(losses) == 2
    others = [loss for k, loss in enumerate(losses) if k != answer]
    wins = sum((losses[answer] < loss) if strict else (losses[answer] <= loss) for loss in others)
    return wins, len(others)


@dataclass(frozen=True)
class ItemOutcome:
    """One item in one mode, reduced to what the metric needs."""

    correct: bool
    wins: int
    pairs: int
    plausible_loss: float
    implausible_loss: float  # mean over the implausible candidates

    @classmethod
    def from_losses(cls, losses: Sequence[float], answer: int) -> ItemOutcome:
        wins, pairs = pairwise_wins(losses, answer)
        others = [loss for k, loss in enumerate(losses) if k != answer]
        return cls(is_correct(losses, answer), wins, pairs, float(losses[answer]), sum(others) / len(others))


def mode_summary(outcomes: Sequence[ItemOutcome]) -> dict[str, float | int]:
    n = len(outcomes)
    pairs = sum(o.pairs for o in outcomes)
    return {
        "n": n,
        "acc": sum(o.correct for o in outcomes) / n if n else float("nan"),
        "pairwise_acc": sum(o.wins for o in outcomes) / pairs if pairs else float("nan"),
        "mean_loss_plausible": sum(o.plausible_loss for o in outcomes) / n if n else float("nan"),
        "mean_loss_implausible": sum(o.implausible_loss for o in outcomes) / n if n else float("nan"),
    }


def mcnemar_p(first_correct: Sequence[bool], second_correct: Sequence[bool]) -> float:
    """Exact two-sided McNemar p-value for paired binary outcomes (1.0 when no discordant pair)."""
    b = sum(f and not s for f, s in zip(first_correct, second_correct))
    c = sum(s and not f for f, s in zip(first_correct, second_correct))
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def _paired_difference(first: Sequence[ItemOutcome], second: Sequence[ItemOutcome], indices: Sequence[int], pairwise: bool) -> float:
    if pairwise:
        pairs = sum(first[i].pairs for i in indices)
        return (sum(first[i].wins for i in indices) - sum(second[i].wins for i in indices)) / pairs if pairs else 0.0
    return (sum(first[i].correct for i in indices) - sum(second[i].correct for i in indices)) / len(indices)


def degradation(text: Sequence[ItemOutcome], speech: Sequence[ItemOutcome], resamples: int = 2000, seed: int = 0) -> dict[str, object]:
    """metric(text) - metric(speech) on the same items (same order), with 95% bootstrap intervals."""
    if len(text) != len(speech):
        raise ValueError("degradation needs the same items in both modes")
    n = len(text)
    everything = range(n)
    result: dict[str, object] = {"n": n}
    generator = random.Random(seed)
    draws = [[generator.randrange(n) for _ in everything] for _ in range(resamples)] if n else []
    for name, pairwise in (("acc", False), ("pairwise_acc", True)):
        point = _paired_difference(text, speech, everything, pairwise) if n else float("nan")
        samples = sorted(_paired_difference(text, speech, draw, pairwise) for draw in draws)
        interval = [samples[int(0.025 * (resamples - 1))], samples[int(math.ceil(0.975 * (resamples - 1)))]] if samples else [float("nan")] * 2
        result[name] = point
        result[f"{name}_ci"] = interval
    result["mcnemar_p"] = mcnemar_p([o.correct for o in text], [o.correct for o in speech])
    return result
