"""Results directory summaries: ``summary.json``, ``summary.md``, ``result_<subset>.jsonl``.

``summary.json`` is ``{subset: {mode: {"n", "chance", "acc", "acc_stderr", "pairwise_acc", "acc_sum",
"acc_sum_stderr", "acc_bytes", "acc_bytes_stderr", "mean_loss_plausible", "mean_loss_implausible"},
"degradation": {"n", "chance", "acc", "acc_ci", "pairwise_acc", "pairwise_acc_ci", "acc_sum",
"acc_sum_ci", "acc_bytes", "acc_bytes_ci", "mcnemar_p"[, "too_few"]}}}`` (the accuracy conventions,
chance and the standard errors: :mod:`s2sbench.scorer.metric`); degradation is computed on the items
scored in both t2t and s2t, and on fewer than :data:`~s2sbench.scorer.breakdowns.MIN_ITEMS` of them
it keeps its numbers with ``"too_few": true``: ``summary.md`` then says "too few items" in place of
its intervals, as for a breakdown bucket. With s2s scored too, ``"degradation_s2s"`` holds the same
figures for t2t - s2s. ``summary.md`` names its source and model by :func:`s2sbench.tables.public_source`
(a local path by its last part).
``summary.png`` (with matplotlib) draws the degradation per breakdown bucket (:mod:`.figures`).
``result_<subset>.jsonl`` has one line per item, mode and candidate in S2SBench's terms
(``uttid``, ``key`` A/B/..., ``answer``, ``loss``, ``ppl``).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from s2sbench._io import write_atomic
from s2sbench.scorer.breakdowns import breakdowns, flagged, flips
from s2sbench.scorer.figures import breakdown_png
from s2sbench.scorer.metric import ItemOutcome, chance, degradation, mode_summary
from s2sbench.scorer.results import read_run, read_scores
from s2sbench.tables import Section, Table, markdown_sections, public_model, public_source

# Summary key -> the spoken mode compared with t2t on the same items.
DEGRADATIONS = {"degradation": "s2t", "degradation_s2s": "s2s"}


# Subset entries beside the modes: the degradation's breakdown by facet and its flips (breakdowns.py).
ANALYSES = ("breakdowns", "flips")


def mode_figures(subset_summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A subset's per-mode figures, without its degradation entries and analyses."""
    return {key: value for key, value in subset_summary.items() if key not in DEGRADATIONS and key not in ANALYSES}


Outcomes = dict[str, dict[str, dict[str, ItemOutcome]]]  # subset -> mode -> item id -> outcome


def item_outcomes(grouped: dict[tuple[str, str], dict[str, Any]]) -> tuple[Outcomes, dict[str, dict[str, Any]]]:
    """Each scored (item, mode) of :func:`read_scores` as an ItemOutcome, and each item's facets."""
    outcomes: Outcomes = defaultdict(lambda: defaultdict(dict))
    facets: dict[str, dict[str, Any]] = {}
    for (item_id, mode), entry in grouped.items():
        if entry.get("facets"):
            facets[item_id] = entry["facets"]
        candidates = sorted(entry["losses"])
        losses = [entry["losses"][k] for k in candidates]
        complete = len(entry.get("logprobs", {})) == len(candidates)
        logprobs = [entry["logprobs"][k] for k in candidates] if complete else None
        n_bytes = [entry["n_bytes"][k] for k in candidates] if complete else None
        outcomes[entry["subset"]][mode][item_id] = ItemOutcome.from_losses(losses, entry["answer"], logprobs, n_bytes)
    return outcomes, facets


def summarize(grouped: dict[tuple[str, str], dict[str, Any]], modes: tuple[str, ...]) -> dict[str, Any]:
    outcomes, facets = item_outcomes(grouped)
    summary: dict[str, Any] = {}
    for subset in sorted(outcomes):
        by_mode = outcomes[subset]
        summary[subset] = {mode: mode_summary(list(by_mode[mode].values())) for mode in modes if mode in by_mode}
        for key, spoken in DEGRADATIONS.items():
            if "t2t" in by_mode and spoken in by_mode:
                shared = sorted(set(by_mode["t2t"]) & set(by_mode[spoken]))
                text = [by_mode["t2t"][i] for i in shared]
                summary[subset][key] = flagged({"chance": chance(text), **degradation(text, [by_mode[spoken][i] for i in shared])})
        if facets and "t2t" in by_mode and "s2t" in by_mode:
            summary[subset]["breakdowns"] = breakdowns(by_mode["t2t"], by_mode["s2t"], facets)
            flipped = flips(by_mode["t2t"], by_mode["s2t"], facets)
            if flipped is not None:
                summary[subset]["flips"] = flipped
    return summary


TOO_FEW = "too few items"  # in place of an interval on fewer than breakdowns.MIN_ITEMS items
NOTE = ("chance: the acc of a random guess, the mean of 1/K over the items (K candidates each; pairwise_acc's is 0.5); "
        "stderr: the standard error as lm-evaluation-harness gives it, the sample standard deviation of the items' 0/1 outcomes over sqrt(n).")


def with_stderr(figures: dict[str, Any], name: str) -> str:
    """A mode's figure ``name`` as ``0.7500 ± 0.1443`` (its ``NAME_stderr``), the figure alone when
    it has none (pairwise_acc, a single item)."""
    error = figures.get(f"{name}_stderr")
    value = f"{figures[name]:.4f}"
    return value if error is None or math.isnan(error) or math.isnan(figures[name]) else f"{value} ± {error:.4f}"


def interval(figures: dict[str, Any], name: str) -> str:
    """A degradation's 95% interval of ``name`` as ``[low, high]``, or "too few items" (``too_few``)."""
    if figures.get("too_few"):
        return TOO_FEW
    low, high = figures[f"{name}_ci"]
    return f"[{low:+.4f}, {high:+.4f}]"


def summary_sections(summary: dict[str, Any]) -> list[Section]:
    """The tables of ``summary.md`` (and of the HTML reports): figures per mode, the degradations,
    the breakdowns and the flips."""
    modes = Table(["subset", "mode", "n", "chance", "acc ± stderr", "pairwise_acc", "acc_sum ± stderr", "acc_bytes ± stderr",
                   "mean loss plausible", "mean loss implausible"], "llrrrrrrrr")
    for subset, figures_by_mode in summary.items():
        for mode, f in mode_figures(figures_by_mode).items():
            modes.add(subset, mode, f["n"], f"{f['chance']:.4f}", *(with_stderr(f, name) for name in ("acc", "pairwise_acc", "acc_sum", "acc_bytes")),
                      f"{f['mean_loss_plausible']:.4f}", f"{f['mean_loss_implausible']:.4f}")
    sections: list[Section] = [(None, modes), (None, NOTE)]
    for key, spoken in DEGRADATIONS.items():
        degraded = [(s, m[key]) for s, m in summary.items() if key in m]
        if not degraded:
            continue
        table = Table(["subset", "n", "acc", "95% CI", "pairwise_acc", "95% CI", "McNemar p"], "lrrlrlr")
        for subset, d in degraded:
            table.add(subset, d["n"], f"{d['acc']:+.4f}", interval(d, "acc"), f"{d['pairwise_acc']:+.4f}", interval(d, "pairwise_acc"), f"{d['mcnemar_p']:.4g}")
        sections.append((f"Degradation (t2t - {spoken}, same items)", table))
    for subset, figures in summary.items():
        for facet, buckets in figures.get("breakdowns", {}).items():
            table = Table(["bucket", "n", "acc t2t", "acc s2t", "degradation", "95% CI"], "lrrrrl")
            for label, b in buckets.items():
                table.add(label, b["n"], f"{b['acc_t2t']:.4f}", f"{b['acc_speech']:.4f}", f"{b['acc']:+.4f}", interval(b, "acc"))
            sections.append((f"{subset}: degradation (t2t - s2t) by {facet.replace('_', ' ')}", table))
        flipped = figures.get("flips")
        if flipped and flipped["right_to_wrong"]:
            sections.append((None, f"{subset}: of the {flipped['right_to_wrong']} items right from text and wrong from speech, "
                             f"{flipped['right_to_wrong_misheard']:.0%} had a context clip the recognizer got wrong (all items: {flipped['all_misheard']:.0%})."))
    return sections


def _markdown(summary: dict[str, Any], run: dict[str, Any]) -> str:
    lines = [f"# Scores: {public_model(run.get('model'))}", "", f"Source: `{public_source(run.get('source'))}`; adapter: {run.get('adapter', {}).get('adapter')}.", ""]
    return "\n".join(lines + markdown_sections(summary_sections(summary))) + "\n"


def write_summary(output: Path, modes: tuple[str, ...]) -> dict[str, Any]:
    grouped = read_scores(output)
    summary = summarize(grouped, modes)
    run = read_run(output) or {}
    write_atomic(output / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_atomic(output / "summary.md", _markdown(summary, run))
    figure = breakdown_png([(public_model(run.get("model")), summary)])
    if figure is not None:
        write_atomic(output / "summary.png", figure)
    per_subset: dict[str, list[str]] = defaultdict(list)
    for (item_id, mode), entry in sorted(grouped.items()):
        for k in sorted(entry["losses"]):
            loss = entry["losses"][k]
            per_subset[entry["subset"]].append(json.dumps({"uttid": item_id, "mode": mode, "key": chr(ord("A") + k), "answer": chr(ord("A") + entry["answer"]),
                                                           "loss": loss, "ppl": math.exp(min(loss, 700)), "n_tokens": entry["n_tokens"][k]}, ensure_ascii=False))
    for subset, lines in per_subset.items():
        write_atomic(output / f"result_{subset}.jsonl", "\n".join(lines) + "\n")
    return summary
