"""Figures of results directories as PNG bytes: the degradation per breakdown bucket.

``s2s score`` draws it for its own run as ``summary.png`` beside ``summary.json``; ``s2s report
--plot`` draws it for several runs, one marker per run in each bucket. Each panel is one subset and
one facet (the first panels: each subset's degradation on all its items); a bucket's marker is its
degradation with the paired bootstrap 95% interval of :func:`s2sbench.scorer.metric.degradation`,
a hollow marker without an interval when the bucket holds too few items for one. The solid line is
no degradation; the dashed tick above a bucket (``acc`` only) is the degradation that speech at
chance would show, ``acc_t2t - chance``, chance the mean of 1/K over the bucket's items (K: each
item's candidates; :func:`s2sbench.scorer.metric.chance`): a marker there means speech input left
nothing of the text accuracy. Without matplotlib there are no figures (it comes with the ``asr`` extra).
"""

from __future__ import annotations

import math
from typing import Any

from s2sbench.plotting import png, pyplot
from s2sbench.scorer.breakdowns import FACETS

# One series: a label and a run's summary (summary.json; each bucket and degradation holds its chance).
Series = tuple[str, dict[str, Any]]
PANEL_SIZE = (4.6, 3.3)  # inches per panel
INCHES_PER_BUCKET = 0.3  # a panel is at least this wide per bucket
COLUMNS = 3


def _panels(series: list[Series]) -> list[tuple[str, str, list[str]]]:
    """(subset, facet, bucket labels) of every panel, ``"all items"`` first in each subset; the
    buckets in the order the first series holding them gives."""
    panels = []
    subsets = sorted({subset for _, summary in series for subset, figures in summary.items() if "degradation" in figures})
    for subset in subsets:
        panels.append((subset, "all items", [subset]))
        for facet in FACETS:
            labels: dict[str, None] = {}
            for _, summary in series:
                labels.update(dict.fromkeys((summary.get(subset, {}).get("breakdowns") or {}).get(facet, {})))
            if labels:
                panels.append((subset, facet, list(labels)))
    return panels


def _bucket(summary: dict[str, Any], subset: str, facet: str, label: str) -> dict[str, Any] | None:
    """A bucket's figures as breakdowns.py gives them; ``all items`` from the subset's degradation."""
    figures = summary.get(subset) or {}
    if facet != "all items":
        return ((figures.get("breakdowns") or {}).get(facet) or {}).get(label)
    overall = figures.get("degradation")
    if overall is None:
        return None
    text = figures.get("t2t") or {}
    return {"chance": text.get("chance"), **overall, "acc_t2t": text.get("acc")}


def breakdown_png(series: list[Series], metric: str = "acc") -> bytes | None:
    """The degradation of ``metric`` (t2t - s2t) per subset and breakdown bucket, one marker per
    series; None without matplotlib or without any degradation to draw."""
    plt = pyplot()
    panels = _panels(series)
    if plt is None or not panels:
        return None
    columns = min(COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    # A facet of many buckets (CMMLU's 67 subjects) widens every panel rather than crowding its labels.
    most = max(len(labels) for _, _, labels in panels)
    width_each = max(PANEL_SIZE[0], INCHES_PER_BUCKET * most)
    figure, axes = plt.subplots(rows, columns, figsize=(width_each * columns, PANEL_SIZE[1] * rows), squeeze=False)
    width = 0.7 / max(len(series), 1)
    for axis, (subset, facet, labels) in zip(axes.flat, panels):
        counts: dict[str, int] = {}
        for offset, (name, summary) in enumerate(series):
            shift = (offset - (len(series) - 1) / 2) * width
            colour = f"C{offset}"
            for index, label in enumerate(labels):
                bucket = _bucket(summary, subset, facet, label)
                if bucket is None or metric not in bucket:
                    continue
                counts.setdefault(label, bucket["n"])
                value, x = bucket[metric], index + shift
                if f"{metric}_ci" in bucket and not bucket.get("too_few"):
                    low, high = bucket[f"{metric}_ci"]
                    axis.errorbar([x], [value], yerr=[[value - low], [high - value]], fmt="o", color=colour, capsize=3,
                                  label=name if index == 0 else None)
                else:  # too few items for an interval that would say anything
                    axis.plot([x], [value], "o", mfc="none", color=colour, label=name if index == 0 else None)
                if metric == "acc" and bucket.get("acc_t2t") is not None and bucket.get("chance") is not None:
                    ceiling = bucket["acc_t2t"] - bucket["chance"]
                    axis.hlines(ceiling, x - width / 2, x + width / 2, colors=colour, linestyles="dashed", linewidth=1)
        axis.axhline(0, color="grey", linewidth=1)
        axis.set_xticks(range(len(labels)), [f"{label}\nn={counts.get(label, 0)}" for label in labels], fontsize=7,
                        rotation=0 if len(labels) <= 4 else 30 if len(labels) <= 8 else 90)
        axis.set_xlim(-0.6, len(labels) - 0.4)
        axis.set_ylim(-1.05, 1.05)
        axis.set_title(f"{subset}: by {facet.replace('_', ' ')}" if facet != "all items" else f"{subset}: all items", fontsize=9)
        axis.set_ylabel(f"{metric} t2t - s2t", fontsize=8)
    for axis in list(axes.flat)[len(panels):]:
        axis.set_visible(False)
    if len(series) > 1:
        axes.flat[0].legend(fontsize=7, loc="lower left")
    figure.suptitle("Degradation (t2t - s2t) per bucket: bars 95% bootstrap interval, hollow: too few items for one; "
                    f"line: none{'; dashed: speech at chance' if metric == 'acc' else ''}", fontsize=9)
    figure.tight_layout()
    return png(figure)
