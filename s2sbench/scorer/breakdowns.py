"""Where the degradation comes from: the paired t2t - s2t figures again, per bucket of items.

Each item carries *facets* (:func:`s2sbench.scorer.inputs.item_facets`): its category (a CMMLU or
MMLU subject), its context clip's engine (in a build that rotated several), voice, duration and
validation error, and its context's length in words. For every facet, the items both modes scored are grouped into buckets (a duration or a
length by the quartiles of the subset's items; a validation error as ``0``, ``(0, 0.1]``,
``(0.1, max]`` and ``failed``, the last only with ``--include-failed``) and each bucket gets the
degradation of :func:`s2sbench.scorer.metric.degradation`, interval included. A bucket of fewer than
:data:`MIN_ITEMS` items gets its point figures and ``"too_few": true``, no interval: with ten items a
95% interval spans most of [-1, 1] and says nothing. The same minimum holds for a subset's headline
degradation (:func:`flagged`): its figures are kept, with ``"too_few": true``, and the reports say
"too few items" in place of its interval. Each bucket also has its ``chance`` (the mean of 1/K over
its items, :func:`s2sbench.scorer.metric.chance`), for the plots' speech-at-chance tick.

Buckets are not experiments: a long context is also a long clip, and a voice may be worse on long
texts, so two facets can show one cause. :func:`flips` asks the question most degradations start
with: of the items right from text and wrong from speech, how many had a clip the recognizer
already got wrong, against how many among all items. :func:`cascade_overlap` asks it of a cascade
scored on the same items: of a speech LM's right-to-wrong items, how many the cascade (whose only
speech is its recognizer's transcript) flipped too, against the cascade's flips among all items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from s2sbench.scorer.metric import ACCURACIES, ItemOutcome, chance, degradation, share

MIN_ITEMS = 10
FACETS = ("category", "engine", "voice", "duration", "asr_error", "words")
QUARTILED = ("duration", "words")
ASR_ORDER = {"0": 0, "(": 1, "f": 2}  # "0", then "(0, 0.1]" and "(0.1, max]" (ordered by text), then "failed"


def quartile_edges(values: Sequence[float]) -> list[float]:
    """The 25th, 50th and 75th percentiles of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return [ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 4) - 1))] for q in (1, 2, 3)]


def quartile_label(value: float, edges: Sequence[float]) -> str:
    low, middle, high = (f"{edge:g}" for edge in edges)
    if value <= edges[0]:
        return f"<= {low}"
    if value <= edges[1]:
        return f"({low}, {middle}]"
    if value <= edges[2]:
        return f"({middle}, {high}]"
    return f"> {high}"


def too_few(n: int) -> bool:
    """Fewer items than :data:`MIN_ITEMS`: no interval worth showing."""
    return n < MIN_ITEMS


def flagged(figures: dict[str, Any]) -> dict[str, Any]:
    """A :func:`degradation` result, with ``"too_few": true`` added when it covers fewer than
    :data:`MIN_ITEMS` items (its interval then says nothing; its numbers stay)."""
    return {**figures, "too_few": True} if too_few(int(figures["n"])) else figures


def bucket_figures(text: Sequence[ItemOutcome], speech: Sequence[ItemOutcome]) -> dict[str, Any]:
    figures: dict[str, Any] = {"n": len(text), "acc_t2t": share(text), "acc_speech": share(speech), "chance": chance(text)}
    if too_few(len(text)):
        return {**figures, "acc": figures["acc_t2t"] - figures["acc_speech"], "too_few": True}
    return {**figures, **degradation(text, speech)}


def breakdowns(text: dict[str, ItemOutcome], speech: dict[str, ItemOutcome], facets: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """facet -> bucket -> degradation figures, over the items scored in both modes."""
    shared = [item for item in text if item in speech and facets.get(item)]
    result: dict[str, dict[str, Any]] = {}
    for facet in FACETS:
        values = {item: facets[item].get(facet) for item in shared if facets[item].get(facet) is not None}
        if not values:
            continue
        rank = {item: str(value) for item, value in values.items()}  # buckets in the order of their values
        if facet in QUARTILED:
            edges = quartile_edges(list(values.values()))
            rank = {item: f"{min(3, sum(value > edge for edge in edges))}" for item, value in values.items()}
            values = {item: quartile_label(value, edges) for item, value in values.items()}
        elif facet == "asr_error":
            rank = {item: f"{ASR_ORDER.get(str(value)[:1], 9)}{value}" for item, value in values.items()}
        groups: dict[str, list[str]] = defaultdict(list)
        order: dict[str, str] = {}
        for item, label in values.items():
            groups[str(label)].append(item)
            order[str(label)] = rank[item]
        result[facet] = {label: bucket_figures([text[i] for i in groups[label]], [speech[i] for i in groups[label]])
                         for label in sorted(groups, key=lambda label: (order[label], label))}
    return result


def flips(text: dict[str, ItemOutcome], speech: dict[str, ItemOutcome], facets: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Of the items right in t2t and wrong from speech, the share whose context clip the recognizer
    did not get exactly (validation error above 0), beside that share among all items."""
    known = [item for item in text if item in speech and (facets.get(item) or {}).get("asr_error") is not None]
    if not known:
        return None
    misheard = {item for item in known if facets[item]["asr_error"] != "0"}
    flipped = [item for item in known if text[item].correct and not speech[item].correct]
    return {
        "items": len(known),
        "right_to_wrong": len(flipped),
        "right_to_wrong_misheard": sum(item in misheard for item in flipped) / len(flipped) if flipped else float("nan"),
        "all_misheard": len(misheard) / len(known),
    }


def _right_to_wrong(text: dict[str, ItemOutcome], speech: dict[str, ItemOutcome], items: Sequence[str], field: str) -> set[str]:
    return {item for item in items if getattr(text[item], field) and not getattr(speech[item], field)}


def cascade_overlap(model: tuple[dict[str, ItemOutcome], dict[str, ItemOutcome]], cascade: tuple[dict[str, ItemOutcome], dict[str, ItemOutcome]],
                    figure: str = "acc") -> dict[str, Any] | None:
    """A speech LM's (t2t, s2t) outcomes beside a cascade's, on the items both scored in both modes.

    ``model_degradation`` and ``cascade_degradation``: :func:`degradation` of each on those items
    (:func:`flagged` when they are too few).
    ``model_right_to_wrong``: the LM's items right in t2t and wrong in s2t (by ``figure``'s per-item
    outcome; ``acc``'s for ``pairwise_acc``, which has none); ``also_cascade``: how many of them the
    cascade flipped too, and ``also_cascade_share`` that as a share; ``cascade_share_all``: the
    cascade's right-to-wrong items among all shared items, the share to expect by chance alone.
    None when no item was scored by both in both modes.
    """
    items = sorted(set(model[0]) & set(model[1]) & set(cascade[0]) & set(cascade[1]))
    if not items:
        return None
    field = ACCURACIES.get(figure, "correct")
    if any(getattr(outcome[item], field) is None for outcome in (*model, *cascade) for item in items):
        field = "correct"  # scores without summed log-likelihoods: flips by acc
    flipped = _right_to_wrong(*model, items, field)
    cascade_flipped = _right_to_wrong(*cascade, items, field)
    both = len(flipped & cascade_flipped)
    return {
        "n": len(items),
        "flips_by": next(name for name, known in ACCURACIES.items() if known == field),
        "model_degradation": flagged(degradation([model[0][i] for i in items], [model[1][i] for i in items])),
        "cascade_degradation": flagged(degradation([cascade[0][i] for i in items], [cascade[1][i] for i in items])),
        "model_right_to_wrong": len(flipped),
        "also_cascade": both,
        "also_cascade_share": both / len(flipped) if flipped else float("nan"),
        "cascade_right_to_wrong": len(cascade_flipped),
        "cascade_share_all": len(cascade_flipped) / len(items),
    }
