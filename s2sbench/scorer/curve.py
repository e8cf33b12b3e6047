"""``s2s report --curve``: accuracy and degradation against the transform of robustness variants.

Give it the results of one model on a build and on its variants (``s2s augment``): each run's
source build says its transform (``build.json``'s ``augment``; a plain build is ``clean``), and
the table has one row per subset and variant, in the order clean, noise from the highest SNR to the
lowest (per noise), then speed from the slowest to the fastest, with the spoken mode's accuracy
and its degradation from text. The runs are compared on the items they share, as ``s2s report``
does (:func:`s2sbench.scorer.compare.shared_runs`): every variant of a parent has the same items,
so the curve moves only with the transform. Chance is the mean of 1/K over the items (K: each
item's candidates); a degradation on fewer than :data:`~s2sbench.scorer.breakdowns.MIN_ITEMS` items
has no interval ("too few items" in the table, a hollow marker in the plot).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench._io import write_atomic
from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.plotting import png, pyplot
from s2sbench.scorer.compare import METRICS, chance, shared_runs, wilson_interval
from s2sbench.scorer.results import read_run
from s2sbench.scorer.summary import DEGRADATIONS, TOO_FEW, mode_figures


def transform_of(results: Path) -> dict[str, Any]:
    """The transform of the build a results directory scored: ``{"name": "clean"}`` for a plain build."""
    run = read_run(Path(results)) or {}
    directory = BuildDirectory(str(run.get("source", "")))
    if not run.get("source") or not directory.exists():
        raise S2SBenchError(f"{results}: --curve reads results of build directories (s2s score BUILD_DIR); its source {run.get('source')!r} is not one")
    transform = (directory.read_manifest().get("augment") or {}).get("transform")
    return dict(transform) if isinstance(transform, dict) else {"name": "clean"}


def _order(transform: dict[str, Any]) -> tuple:
    """clean; noise by kind, loudest speech first (highest SNR); speed, slowest first; rooms, least
    reverberant first."""
    if transform.get("kind") == "noise":
        return (1, str(transform.get("noise")), -float(transform.get("snr_db", 0)))
    if transform.get("kind") == "speed":
        return (2, "", float(transform.get("factor", 1)))
    if transform.get("kind") == "reverb":
        return (3, "", float(transform.get("rt60_s", 0)))
    return (0, "", 0.0)


def _value(transform: dict[str, Any]) -> str:
    if transform.get("kind") == "noise":
        return f"{float(transform['snr_db']):g} dB SNR {transform.get('noise')}"
    if transform.get("kind") == "speed":
        return f"speed x{float(transform['factor']):g}"
    if transform.get("kind") == "reverb":
        return f"room {transform.get('room')}, RT60 {float(transform['rt60_s']):g} s"
    return "clean"


@dataclass
class CurvePoint:
    """One subset's figures in one spoken mode on one variant (a row of the table, a point of the plot)."""

    subset: str
    spoken: str  # s2t or s2s
    transform: dict[str, Any]
    model: str
    n: int
    chance: float  # acc at random on these items: the mean of 1/K (summary.json's chance)
    text: float | None  # the t2t metric (the text is not augmented: the same in every variant)
    value: float  # the spoken metric
    degradation: float | None
    interval: tuple[float, float] | None  # the degradation's paired bootstrap 95% interval
    too_few: bool = False  # fewer items than breakdowns.MIN_ITEMS: no interval


def curve_points(directories: list[Path], metric: str = "acc") -> tuple[list[CurvePoint], list[str]]:
    """Every (subset, spoken mode, variant) of the runs on their shared items, in the table's order,
    and the notes of :func:`shared_runs`."""
    if metric not in METRICS:
        raise S2SBenchError(f"--metric must be one of {', '.join(METRICS)}, not {metric!r}")
    transforms = [transform_of(directory) for directory in directories]
    runs, notes = shared_runs(directories)
    points = []
    for run, transform in zip(runs, transforms):
        for subset, modes in run["summary"].items():
            figures = mode_figures(modes)
            for key, spoken in DEGRADATIONS.items():
                if spoken not in figures or key not in modes:
                    continue
                drop = modes[key]
                few = bool(drop.get("too_few"))
                interval = tuple(drop[f"{metric}_ci"]) if f"{metric}_ci" in drop and not few else None
                points.append(CurvePoint(subset, spoken, transform, run["model"], figures[spoken]["n"], drop.get("chance", figures[spoken]["chance"]),
                                         figures.get("t2t", {}).get(metric), figures[spoken][metric], drop.get(metric), interval, few))
    if not points:
        raise S2SBenchError("--curve needs runs scored in t2t and a spoken mode (s2t or s2s)")
    return sorted(points, key=lambda p: (p.subset, p.spoken, _order(p.transform))), notes


def curve_table(directories: list[Path], metric: str = "acc") -> str:
    """Markdown: per subset and variant, the text and spoken ``metric`` and the degradation."""
    points, notes = curve_points(directories, metric)
    lines = [*notes, f"| subset | variant | transform | model | n | {metric} t2t | {metric} spoken | degradation [95% CI] |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for p in points:
        cell = "" if p.degradation is None else f"{p.degradation:+.4f}"
        if p.degradation is not None and p.interval is not None:
            cell += f" [{p.interval[0]:+.4f}, {p.interval[1]:+.4f}]"
        elif p.degradation is not None and p.too_few:
            cell += f" ({TOO_FEW})"
        lines.append(f"| {p.subset} | {p.transform['name']} | {_value(p.transform)} ({p.spoken}) | {p.model} | {p.n} | "
                     f"{'' if p.text is None else f'{p.text:.4f}'} | {p.value:.4f} | {cell} |")
    return "\n".join(lines)


SERIES_COLOURS = ("C0", "C3", "C4", "C5", "C6")  # one per noise; C1 and C2 are the clean and text lines


def _draw(axis: Any, x: list[float], points: list[CurvePoint], degradation: bool, line: bool, colour: str = "C0",
          label: str | None = None) -> None:
    """The points' spoken metric with its Wilson interval, or their degradation with its bootstrap
    interval (a hollow marker where the data has none)."""
    style = "o-" if line else "o"
    values = [p.degradation if degradation else p.value for p in points]
    kept = [(at, v, p) for at, v, p in zip(x, values, points) if v is not None]
    if not kept:
        return
    if degradation:
        bars = [(v - p.interval[0], p.interval[1] - v) if p.interval else (0.0, 0.0) for _, v, p in kept]
    else:
        bars = [(v - low, high - v) for (_, v, p) in kept for low, high in [wilson_interval(v, p.n)]]
    axis.errorbar([at for at, _, _ in kept], [v for _, v, _ in kept], yerr=[[b[0] for b in bars], [b[1] for b in bars]],
                  fmt=style, color=colour, capsize=3, label=label)
    hollow = [(at, v) for at, v, p in kept if degradation and p.interval is None]
    if hollow:
        axis.plot(*zip(*hollow), "o", mfc="white", color=colour)


def _references(axis: Any, clean: CurvePoint | None, first: CurvePoint, metric: str, degradation: bool) -> None:
    """Chance (accuracy panels) or speech at chance, ``t2t - chance`` (degradation panels); the text
    metric and the clean build's figure as lines."""
    level = chance(metric, first.chance)
    if degradation:
        axis.axhline(0, color="grey", linewidth=1)
        if first.text is not None:
            axis.axhline(first.text - level, color="grey", linestyle="dashed", linewidth=1, label="speech at chance")
    else:
        axis.axhline(level, color="grey", linestyle="dashed", linewidth=1, label="chance")
        if first.text is not None:
            axis.axhline(first.text, color="C2", linestyle="dotted", linewidth=1.5, label="t2t (text)")
    if clean is not None:
        value = clean.degradation if degradation else clean.value
        if value is not None:
            axis.axhline(value, color="C1", linewidth=1, alpha=0.7, label="clean")


def curve_png(points: list[CurvePoint], metric: str = "acc") -> bytes | None:
    """One row per subset and spoken mode: the spoken metric and the degradation against the SNR (a
    line per noise), and by speed and room (categories). None without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    rows: dict[tuple[str, str], list[CurvePoint]] = {}
    for point in points:
        rows.setdefault((point.subset, point.spoken), []).append(point)
    noisy = any(p.transform.get("kind") == "noise" for p in points)
    other = any(p.transform.get("kind") in ("speed", "reverb") for p in points) or not noisy
    kinds = ([("noise", False), ("noise", True)] if noisy else []) + ([("other", False), ("other", True)] if other else [])
    figure, axes = plt.subplots(len(rows), len(kinds), figsize=(4.2 * len(kinds), 3.2 * len(rows)), squeeze=False)
    for row, ((subset, spoken), found) in zip(axes, rows.items()):
        clean = next((p for p in found if p.transform.get("kind") is None), None)
        for axis, (kind, degradation) in zip(row, kinds):
            if kind == "noise":
                by_noise: dict[str, list[CurvePoint]] = {}
                for p in found:
                    if p.transform.get("kind") == "noise":
                        by_noise.setdefault(str(p.transform.get("noise")), []).append(p)
                for index, (noise, group) in enumerate(sorted(by_noise.items())):
                    _draw(axis, [float(p.transform["snr_db"]) for p in group], group, degradation, line=True,
                          colour=SERIES_COLOURS[index % len(SERIES_COLOURS)], label=f"{noise} noise")
                axis.invert_xaxis()  # the speech gets harder to hear to the right
                axis.set_xlabel("SNR (dB)")
                _references(axis, clean, found[0], metric, degradation)
            else:
                group = [p for p in found if p.transform.get("kind") != "noise"]
                _draw(axis, list(range(len(group))), group, degradation, line=False)
                axis.set_xticks(range(len(group)), [p.transform["name"] for p in group], fontsize=7, rotation=0 if len(group) <= 4 else 30)
                axis.set_xlim(-0.6, len(group) - 0.4)
                _references(axis, None, found[0], metric, degradation)
            axis.set_ylim(-1.1 if degradation else -0.05, 1.1)  # a margin, so points at 0 and 1 show whole
            axis.set_ylabel(f"{metric} t2t - {spoken}" if degradation else f"{metric} {spoken}", fontsize=8)
            axis.set_title(f"{subset} ({spoken}), n={found[0].n}: {'degradation' if degradation else metric}", fontsize=9)
            axis.legend(fontsize=6, loc="best")
    figure.suptitle(f"{points[0].model}: bars 95% intervals ({metric}: Wilson; degradation: paired bootstrap; hollow: none)", fontsize=9)
    figure.tight_layout()
    return png(figure)


def plot_curve(directories: list[Path], path: Path, metric: str = "acc") -> Path | None:
    """``s2s report --curve --plot PNG``: :func:`curve_png` written atomically; None without matplotlib."""
    points, _ = curve_points(directories, metric)
    drawn = curve_png(points, metric)
    if drawn is None:
        return None
    write_atomic(path, drawn)
    return path
