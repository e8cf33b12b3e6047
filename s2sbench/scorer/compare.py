"""``s2s report``: several results directories in one table, one row per (model, subset, mode).

Runs are compared on the items they share: the figures are computed again from each directory's
scores on the items every directory scored (per subset and mode), with a note naming the counts
when the runs covered different items (another ``--limit``, a failed item, a partial merge), so
two rows never compare different questions. Models are named short: a local path by its last part
(:func:`s2sbench.tables.public_model`). The terminal's table names each results directory as given;
the ``--html`` page, which may be published, by its name alone (:func:`s2sbench.tables.public_source`).
A degradation on fewer than :data:`~s2sbench.scorer.breakdowns.MIN_ITEMS` items shows its point figure
and "too few items", no interval; chance levels are the mean of 1/K over the items compared.

When one directory holds a cascade (``run.json`` model ``cascade:ASR+LM``) and another a speech LM
scored from text and speech, a second table sets the cascade beside the LM on the items both
scored (:func:`s2sbench.scorer.breakdowns.cascade_overlap`): both degradations, and how many of the
LM's right-to-wrong items the cascade flipped too. A cascade hears only its recognizer's
transcript, so a large overlap says the LM's loss is where a transcript is already wrong.
``--plot`` draws the figures, ``--html`` puts the tables, the figures and each run's summary on
one self-contained page.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from s2sbench._io import write_atomic
from s2sbench.errors import S2SBenchError
from s2sbench.plotting import png, pyplot
from s2sbench.scorer.breakdowns import cascade_overlap, too_few
from s2sbench.scorer.figures import breakdown_png
from s2sbench.scorer.flipped import flipped_section
from s2sbench.scorer.results import read_run, read_scores
from s2sbench.scorer.summary import DEGRADATIONS, TOO_FEW, item_outcomes, mode_figures, summarize, summary_sections
from s2sbench.tables import Section, Table, markdown_sections, public_model, public_source
from s2sbench.webpage import ClipBudget, escape, image, page, sections_html

METRICS = ("acc", "pairwise_acc", "acc_sum", "acc_bytes")


def _runs(directories: list[Path]) -> list[dict[str, Any]]:
    runs = []
    for directory in directories:
        directory = Path(directory)
        run = read_run(directory)
        if run is None or not any(directory.glob("scores*.jsonl")):
            raise S2SBenchError(f"{directory}: not a results directory with scores; run s2s score first")
        model = str(run.get("model", "?"))
        runs.append({"directory": directory, "model": public_model(model), "cascade": model.startswith("cascade:"), "modes": tuple(run.get("modes", ())),
                     "scores": read_scores(directory), "dataset": run.get("dataset")})
    # The name a page shows: the directory's own, numbered where two runs share it.
    seen: dict[str, int] = {}
    for run in runs:
        name = public_source(run["directory"])
        seen[name] = seen.get(name, 0) + 1
        run["name"] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return runs


def where(run: dict[str, Any], public: bool = False) -> str:
    """A run's results directory as a report names it: as given, or (``public``) by its name alone."""
    return run["name"] if public else str(run["directory"])


def coverage_notes(runs: list[dict[str, Any]], public: bool = False) -> list[str]:
    """A note naming each run's item count when the runs scored different items (:func:`shared_runs`),
    and a warning when they read different datasets or revisions of one (run.json's ``dataset``)."""
    notes = []
    if not all(len(run["scores"]) == len(run["shared"]) for run in runs):
        counts = ", ".join(f"{where(run, public)}: {len({item for item, _ in run['scores']})}" for run in runs)
        modes = dict.fromkeys(mode for run in runs for _, mode in run["shared"])  # in the order the runs list them
        shared = ", ".join(f"{mode} on {len({item for run in runs for item, scored in run['shared'] if scored == mode})}" for mode in modes)
        notes.append(f"note: the runs scored different items ({counts}); each mode is compared on the items all its runs scored: {shared}")
    read = {json.dumps(run["dataset"], sort_keys=True) for run in runs if run["dataset"]}
    if len(read) > 1:
        named = "; ".join(f"{where(run, public)}: {dataset_name(run['dataset'])}" for run in runs if run["dataset"])
        notes.append(f"warning: the runs read different datasets or revisions ({named}): the same item ids may not hold the same data")
    return notes


def dataset_name(identity: dict[str, Any]) -> str:
    """run.json's ``dataset`` in a few words: a Hub dataset at its commit, an export or build by digest."""
    if "hub" in identity:
        return f"{identity['hub']}:{identity.get('config')} at {str(identity.get('revision'))[:10]}"
    for kind, key, label in (("export", "sha256", "sha256"), ("build", "items_sha256", "items"), ("release", "sha256", "sha256")):
        if kind in identity:
            return f"{kind} {identity[kind]} ({label} {str(identity.get(key))[:10]})"
    return json.dumps(identity, sort_keys=True)


def shared_runs(directories: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each run's summary on the items that every run scoring a mode scored in it, and a note when
    some were left out."""
    runs = _runs(directories)
    modes = [{mode for _, mode in run["scores"]} for run in runs]
    every = set().union(*(run["scores"] for run in runs)) if runs else set()
    shared = {key for key in every if all(key in run["scores"] for run, scored in zip(runs, modes) if key[1] in scored)}
    for run in runs:
        run["shared"] = {key: entry for key, entry in run["scores"].items() if key in shared}
        run["summary"] = summarize(run["shared"], run["modes"])
    return runs, coverage_notes(runs)


def compare_results(directories: list[Path], metric: str = "acc") -> str:
    """The report's text: :func:`comparison_sections` as Markdown."""
    check_metric(metric)
    return "\n".join(markdown_sections(comparison_sections(*shared_runs(directories), metric)))


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise S2SBenchError(f"--metric must be one of {', '.join(METRICS)}, not {metric!r}")


def comparison_sections(runs: list[dict[str, Any]], notes: list[str], metric: str = "acc", public: bool = False) -> list[Section]:
    """The notes, the table of every run on the shared items, and the cascade beside each speech LM;
    ``public``: each results directory by its name alone (:func:`where`)."""
    table = Table(["results", "model", "subset", "mode", "n", metric, f"degradation {metric} from t2t [95% CI]"], "llllrrl")
    for run in runs:
        for subset, modes in run["summary"].items():
            drops = {spoken: modes[key] for key, spoken in DEGRADATIONS.items() if key in modes}
            for mode, figures in mode_figures(modes).items():
                drop = drops.get(mode)
                table.add(where(run, public), run["model"], subset, mode, figures["n"], f"{figures[metric]:.4f}", _with_interval(drop, metric) if drop else "")
    sections: list[Section] = [*((None, note) for note in notes), (None, table)]
    overlaps = cascade_overlaps(runs, metric)
    if overlaps:
        beside = Table(["speech LM", "cascade", "subset", "n", "LM degradation [95% CI]", "cascade degradation [95% CI]", "LM right->wrong",
                        "of them, cascade too", "cascade right->wrong, all items"], "lllrllrll")
        for model, cascade, subset, overlap in overlaps:
            beside.add(*cascade_cells(model, cascade, subset, overlap, metric, public))
        sections.append((f"Cascade beside speech LM, on the items both scored from text and speech (degradation of {metric}; "
                         f"right->wrong by {overlaps[0][3]['flips_by']})", beside))
    return sections


def cascade_overlaps(runs: list[dict[str, Any]], metric: str = "acc") -> list[tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]]:
    """(speech LM run, cascade run, subset, :func:`cascade_overlap`) for every cascade beside every
    other run that scored t2t and s2t, on the items :func:`shared_runs` kept."""
    found = []
    outcomes = {id(run): item_outcomes(run["shared"])[0] for run in runs}
    for cascade in (run for run in runs if run["cascade"]):
        for model in (run for run in runs if not run["cascade"]):
            for subset in sorted(set(outcomes[id(model)]) & set(outcomes[id(cascade)])):
                mine, theirs = outcomes[id(model)][subset], outcomes[id(cascade)][subset]
                if all(mode in by_mode for by_mode in (mine, theirs) for mode in ("t2t", "s2t")):
                    overlap = cascade_overlap((mine["t2t"], mine["s2t"]), (theirs["t2t"], theirs["s2t"]), metric)
                    if overlap is not None:
                        found.append((model, cascade, subset, overlap))
    return found


def _with_interval(figures: dict[str, Any], metric: str) -> str:
    if metric not in figures:
        return "unknown"
    if figures.get("too_few") or too_few(int(figures["n"])):
        return f"{figures[metric]:+.4f} ({TOO_FEW})"
    low, high = figures[f"{metric}_ci"]
    return f"{figures[metric]:+.4f} [{low:+.4f}, {high:+.4f}]"


def cascade_cells(model: dict[str, Any], cascade: dict[str, Any], subset: str, overlap: dict[str, Any], metric: str, public: bool = False) -> list[object]:
    share = "" if overlap["model_right_to_wrong"] == 0 else f" ({overlap['also_cascade_share']:.0%})"
    return [f"{where(model, public)} ({model['model']})", f"{where(cascade, public)} ({cascade['model']})", subset, overlap["n"],
            _with_interval(overlap["model_degradation"], metric), _with_interval(overlap["cascade_degradation"], metric),
            overlap["model_right_to_wrong"], f"{overlap['also_cascade']}{share}",
            f"{overlap['cascade_right_to_wrong']} of {overlap['n']} ({overlap['cascade_share_all']:.0%})"]


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ``share`` of ``n`` trials."""
    if n == 0 or math.isnan(share):
        return float("nan"), float("nan")
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def chance(metric: str, per_item: float) -> float:
    """The chance level of ``metric``: 1/2 for pairwise_acc; else ``per_item``, the mean of 1/K over
    the items (a mode's ``chance`` in summary.json)."""
    return 0.5 if metric == "pairwise_acc" else per_item


def breakdowns_path(path: Path) -> Path:
    """Where ``s2s report --plot PNG`` draws the breakdowns: beside PNG, ``NAME-breakdowns.png``."""
    return path.with_name(f"{path.stem}-breakdowns{path.suffix or '.png'}")


def plot_results(directories: list[Path], path: Path, metric: str = "acc") -> list[Path]:
    """Draw ``metric`` per (subset, mode) to ``path`` (:func:`results_png`) and, where the runs hold
    breakdowns, the degradation per bucket to :func:`breakdowns_path` (:func:`runs_breakdown_png`).
    The paths written; none without matplotlib."""
    runs, _ = shared_runs(directories)
    bars = results_png(runs, metric)
    if bars is None:
        return []
    write_atomic(path, bars)
    written = [path]
    drawn = runs_breakdown_png(runs, metric)
    if drawn is not None:
        write_atomic(breakdowns_path(path), drawn)
        written.append(breakdowns_path(path))
    return written


def runs_breakdown_png(runs: list[dict[str, Any]], metric: str = "acc") -> bytes | None:
    """:func:`figures.breakdown_png` of the runs of :func:`shared_runs`; None when none of them has
    breakdowns (scores without facets) or without matplotlib."""
    if not any(figures.get("breakdowns") for run in runs for figures in run["summary"].values()):
        return None
    return breakdown_png([(f"{run['model']} ({run['name']})", run["summary"]) for run in runs], metric)


def html_report(directories: list[Path], path: Path, metric: str = "acc") -> None:
    """``s2s report --html``: one self-contained page (:mod:`s2sbench.webpage`) with the comparison
    and cascade tables, both figures (when matplotlib is installed), and each run's summary tables
    on the shared items with the items speech flipped, playable (:mod:`s2sbench.scorer.flipped`)."""
    check_metric(metric)
    runs, _ = shared_runs(directories)
    body = sections_html(comparison_sections(runs, coverage_notes(runs, public=True), metric, public=True))
    for figure, alt in ((results_png(runs, metric), f"{metric} per subset and mode"), (runs_breakdown_png(runs, metric), "degradation per breakdown bucket")):
        if figure is not None:
            body.append(image(figure, alt))
    budget = ClipBudget()  # the page's, the runs' clips together
    for run in runs:
        body.append(f"<h2>{escape(run['name'])}: {escape(run['model'])}</h2>")
        body += sections_html(summary_sections(run["summary"]), level=3)
        if (section := flipped_section(run, run["name"], budget)) is not None:
            body += sections_html([section], level=3)
    write_atomic(path, page(f"Scores: {', '.join(dict.fromkeys(run['model'] for run in runs))}", body))


def results_png(runs: list[dict[str, Any]], metric: str = "acc") -> bytes | None:
    """Grouped bars of ``metric`` per (subset, mode), one bar per run of :func:`shared_runs`, with 95%
    Wilson intervals over the items and each subset's chance level. None without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    groups = sorted({(subset, mode) for run in runs for subset, modes in run["summary"].items() for mode in mode_figures(modes)})
    width = 0.8 / max(len(runs), 1)
    figure, axis = plt.subplots(figsize=(max(6, 1.4 * len(groups)), 4.2))
    for offset, run in enumerate(runs):
        positions, values, low, high = [], [], [], []
        for index, (subset, mode) in enumerate(groups):
            figures = run["summary"].get(subset, {}).get(mode)
            if not figures:
                continue
            value = figures[metric]
            lower, upper = wilson_interval(value, figures["n"])
            positions.append(index + offset * width)
            values.append(value)
            low.append(value - lower)
            high.append(upper - value)
        axis.bar(positions, values, width=width, yerr=[low, high], capsize=3, label=f"{run['model']} ({run['name']})")
    for index, (subset, mode) in enumerate(groups):
        # The runs are compared on the same items: the first run's chance is every run's.
        per_item = next(run["summary"][subset][mode]["chance"] for run in runs if mode in run["summary"].get(subset, {}))
        level = chance(metric, per_item)
        axis.hlines(level, index - width / 2, index + width * (len(runs) - 0.5), colors="grey", linestyles="dashed", linewidth=1)
    n = {(subset, mode): run["summary"][subset][mode]["n"] for run in runs for subset, modes in run["summary"].items() for mode in mode_figures(modes)}
    axis.set_xticks([g + width * (len(runs) - 1) / 2 for g in range(len(groups))], [f"{s}\n{m}\nn={n[(s, m)]}" for s, m in groups], fontsize=8)
    axis.set_ylabel(f"{metric} (dashed: chance; bars: 95% interval)")
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return png(figure)
