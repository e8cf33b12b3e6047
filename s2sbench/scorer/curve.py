"""``s2s report --curve``: accuracy and degradation against the transform of robustness variants.

Give it the results of one model on a build and on its variants (``s2s augment``): each run's
source build says its transform (``build.json``'s ``augment``; a plain build is ``clean``), and
the table has one row per subset and variant, in the order clean, noise from the highest SNR to the
lowest (per noise), then speed from the slowest to the fastest, with the spoken mode's accuracy
and its degradation from text. The runs are compared on the items they share, as ``s2s report``
does (:func:`s2sbench.scorer.compare.shared_runs`): every variant of a parent has the same items,
so the curve moves only with the transform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.scorer.compare import METRICS, shared_runs
from s2sbench.scorer.results import read_run
from s2sbench.scorer.summary import DEGRADATIONS, mode_figures


def transform_of(results: Path) -> dict[str, Any]:
    """The transform of the build a results directory scored: ``{"name": "clean"}`` for a plain build."""
    run = read_run(Path(results)) or {}
    directory = BuildDirectory(str(run.get("source", "")))
    if not run.get("source") or not directory.exists():
        raise S2SBenchError(f"{results}: --curve reads results of build directories (s2s score BUILD_DIR); its source {run.get('source')!r} is not one")
    transform = (directory.read_manifest().get("augment") or {}).get("transform")
    return dict(transform) if isinstance(transform, dict) else {"name": "clean"}


def _order(transform: dict[str, Any]) -> tuple:
    """clean; noise by kind, loudest speech first (highest SNR); speed, slowest first."""
    if transform.get("kind") == "noise":
        return (1, str(transform.get("noise")), -float(transform.get("snr_db", 0)))
    if transform.get("kind") == "speed":
        return (2, "", float(transform.get("factor", 1)))
    return (0, "", 0.0)


def _value(transform: dict[str, Any]) -> str:
    if transform.get("kind") == "noise":
        return f"{float(transform['snr_db']):g} dB SNR {transform.get('noise')}"
    if transform.get("kind") == "speed":
        return f"speed x{float(transform['factor']):g}"
    return "clean"


def curve_table(directories: list[Path], metric: str = "acc") -> str:
    """Markdown: per subset and variant, the text and spoken ``metric`` and the degradation."""
    if metric not in METRICS:
        raise S2SBenchError(f"--metric must be one of {', '.join(METRICS)}, not {metric!r}")
    transforms = [transform_of(directory) for directory in directories]
    runs, notes = shared_runs(directories)
    lines = [*notes, f"| subset | variant | transform | model | n | {metric} t2t | {metric} spoken | degradation [95% CI] |",
             "|---|---|---|---|---:|---:|---:|---|"]
    rows = []
    for run, transform in zip(runs, transforms):
        for subset, modes in run["summary"].items():
            figures = mode_figures(modes)
            for key, spoken in DEGRADATIONS.items():
                if spoken not in figures or key not in modes:
                    continue
                drop = modes[key]
                cell = f"{drop[metric]:+.4f} [{drop[f'{metric}_ci'][0]:+.4f}, {drop[f'{metric}_ci'][1]:+.4f}]" if metric in drop else ""
                text = figures.get("t2t", {}).get(metric)
                rows.append(((subset, spoken, _order(transform)),
                             f"| {subset} | {transform['name']} | {_value(transform)} ({spoken}) | {run['model']} | {figures[spoken]['n']} | "
                             f"{'' if text is None else f'{text:.4f}'} | {figures[spoken][metric]:.4f} | {cell} |"))
    if not rows:
        raise S2SBenchError("--curve needs runs scored in t2t and a spoken mode (s2t or s2s)")
    lines += [line for _, line in sorted(rows, key=lambda row: row[0])]
    return "\n".join(lines)
