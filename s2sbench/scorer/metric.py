"""The reference metric of spoken-continuation benchmarks, as small pure functions.

For one item scored in one mode, ``losses[k]`` is the mean token NLL of candidate k given the
context, and ``answer`` indexes the plausible candidate.

- ``acc``: the plausible candidate has the strictly lowest loss (chance 1/K).
- ``pairwise_acc``: S2SBench's own figure, the share of (plausible, implausible) pairs where the
  plausible loss is lower: strictly for 2-way items, lower-or-equal for 4-way and wider (as the
  S2SBench sCMMLU script counts), chance 1/2.
- ``acc_sum``: lm-evaluation-harness's ``acc``, the candidate of highest *summed* log-likelihood
  (a tie goes to the first candidate, as ``np.argmax``), which favours short candidates.
- ``acc_bytes``: lm-evaluation-harness's ``acc_bytes`` (its ``acc_norm`` counts characters, the
  same for ASCII): the highest log-likelihood per UTF-8 byte of the candidate text.
- ``chance``: what a model guessing at random would score by ``acc`` (or ``acc_sum``, ``acc_bytes``),
  the mean of 1/K over the items, K the number of candidates of each item (items of 2 and 3
  candidates mixed: neither 1/2 nor 1/3).
- ``acc_stderr`` (and ``acc_sum_stderr``, ``acc_bytes_stderr``): the standard error as
  lm-evaluation-harness prints it, the sample standard deviation of the per-item 0/1 outcomes over
  sqrt(n), i.e. sqrt(acc (1 - acc) / (n - 1)); NaN for fewer than two items (its "N/A").
- degradation = metric(t2t) - metric(s2t) on the same items, for each of the four, with a paired
  bootstrap 95% interval, and McNemar's exact test on the per-item ``acc`` outcomes.
"""

from __future__ import annotations

import math
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


def first_best(values: Sequence[float]) -> int:
    """The index of the highest value, the first one on a tie (``np.argmax``)."""
    return max(range(len(values)), key=lambda k: (values[k], -k))


@dataclass(frozen=True)
class ItemOutcome:
    """One item in one mode, reduced to what the metric needs."""

    correct: bool
    wins: int
    pairs: int
    plausible_loss: float
    implausible_loss: float  # mean over the implausible candidates
    correct_sum: bool | None = None  # None: not known (scores without summed log-likelihoods)
    correct_bytes: bool | None = None

    @property
    def candidates(self) -> int:
        """K, the item's number of candidates (each implausible one is a pair with the plausible)."""
        return self.pairs + 1

    @classmethod
    def from_losses(cls, losses: Sequence[float], answer: int, logprobs: Sequence[float] | None = None,
                    n_bytes: Sequence[int] | None = None) -> ItemOutcome:
        """``logprobs[k]``: candidate k's summed log-likelihood; ``n_bytes[k]``: its text's UTF-8 bytes."""
        wins, pairs = pairwise_wins(losses, answer)
        others = [loss for k, loss in enumerate(losses) if k != answer]
        correct_sum = first_best(logprobs) == answer if logprobs is not None else None
        correct_bytes = first_best([lp / b for lp, b in zip(logprobs, n_bytes)]) == answer if logprobs is not None and n_bytes is not None else None
        return cls(is_correct(losses, answer), wins, pairs, float(losses[answer]), sum(others) / len(others), correct_sum, correct_bytes)


# Accuracy figures -> the ItemOutcome field that counts an item right for it.
ACCURACIES = {"acc": "correct", "acc_sum": "correct_sum", "acc_bytes": "correct_bytes"}


def share(outcomes: Sequence[ItemOutcome], field: str = "correct") -> float:
    """The share of ``outcomes`` right by ``field`` (an ItemOutcome field of ACCURACIES); NaN when unknown."""
    values = [getattr(o, field) for o in outcomes]
    return sum(values) / len(values) if values and None not in values else float("nan")


def chance(outcomes: Sequence[ItemOutcome]) -> float:
    """``acc`` at random: the mean over the items of 1/K (K: each item's candidates); NaN for no item."""
    return sum(1 / o.candidates for o in outcomes) / len(outcomes) if outcomes else float("nan")


def stderr(outcomes: Sequence[ItemOutcome], field: str = "correct") -> float:
    """lm-evaluation-harness's standard error of an accuracy: the sample standard deviation of the
    per-item 0/1 outcomes divided by sqrt(n); NaN for fewer than two items or unknown outcomes."""
    values = [getattr(o, field) for o in outcomes]
    n = len(values)
    if n < 2 or None in values:
        return float("nan")
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) / math.sqrt(n)


def mode_summary(outcomes: Sequence[ItemOutcome]) -> dict[str, float | int]:
    """The figures of one mode: n, chance, each accuracy with its standard error, pairwise_acc and the mean losses."""
    n = len(outcomes)
    pairs = sum(o.pairs for o in outcomes)
    return {
        "n": n,
        "chance": chance(outcomes),
        "acc": share(outcomes, "correct"),
        "acc_stderr": stderr(outcomes, "correct"),
        "pairwise_acc": sum(o.wins for o in outcomes) / pairs if pairs else float("nan"),
        "acc_sum": share(outcomes, "correct_sum"),
        "acc_sum_stderr": stderr(outcomes, "correct_sum"),
        "acc_bytes": share(outcomes, "correct_bytes"),
        "acc_bytes_stderr": stderr(outcomes, "correct_bytes"),
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


def _per_item(outcomes: Sequence[ItemOutcome], figure: str) -> list[float]:
    """Each item's count towards ``figure``: 1/0 for an accuracy, pairs won for pairwise_acc."""
    if figure == "pairwise_acc":
        return [o.wins for o in outcomes]
    field = ACCURACIES[figure]
    return [float(getattr(o, field)) for o in outcomes]


def degradation(text: Sequence[ItemOutcome], speech: Sequence[ItemOutcome], resamples: int = 2000, seed: int = 0) -> dict[str, object]:
    """metric(text) - metric(speech) on the same items (same order), with 95% bootstrap intervals.

    The resamples are drawn by NumPy's legacy ``RandomState``, whose stream NumPy keeps frozen: the
    same seed gives the same intervals with every NumPy version. Every figure uses the same draws.
    """
    import numpy as np

    if len(text) != len(speech):
        raise ValueError("degradation needs the same items in both modes")
    n = len(text)
    result: dict[str, object] = {"n": n}
    draws = np.random.RandomState(seed).randint(0, n, size=(resamples, n)) if n else None
    pairs = np.array([o.pairs for o in text], dtype=float)
    for name in ("acc", "pairwise_acc", "acc_sum", "acc_bytes"):
        field = ACCURACIES.get(name)
        if field is not None and any(getattr(o, field) is None for o in (*text, *speech)):
            continue  # scores written without summed log-likelihoods
        difference = np.array(_per_item(text, name), dtype=float) - np.array(_per_item(speech, name), dtype=float)
        weights = pairs if name == "pairwise_acc" else np.ones(n)
        if not n:
            result[name], result[f"{name}_ci"] = float("nan"), [float("nan")] * 2
            continue
        point = float(difference.sum() / weights.sum()) if weights.sum() else 0.0
        totals = weights[draws].sum(axis=1)
        samples = np.sort(np.divide(difference[draws].sum(axis=1), totals, out=np.zeros(resamples), where=totals > 0))
        result[name] = point
        result[f"{name}_ci"] = [float(samples[int(0.025 * (resamples - 1))]), float(samples[int(math.ceil(0.975 * (resamples - 1)))])]
    result["mcnemar_p"] = mcnemar_p([o.correct for o in text], [o.correct for o in speech])
    return result
