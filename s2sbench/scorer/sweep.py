"""Checkpoint sweeps: one results directory per checkpoint, then accuracy and losses against the
training step (like S2SBench's Baichuan-Audio training analysis).

``--model 'ckpts/step_*'`` (a glob) or several ``--model`` values score each checkpoint into
``<results>/<checkpoint name>/`` and write ``sweep.json``, ``sweep.md`` and ``sweep.png``.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from s2sbench._io import write_atomic
from s2sbench.errors import S2SBenchError
from s2sbench.scorer.model_ref import resolve_model
from s2sbench.scorer.run import ScoreOptions, score
from s2sbench.scorer.summary import mode_figures


def expand_models(patterns: list[str]) -> list[str]:
    """Globs expanded (sorted by step), other model names kept as given."""
    models: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            matches = sorted(glob.glob(pattern), key=step_of)
            if not matches:
                raise S2SBenchError(f"--model {pattern!r} matches no checkpoint")
            models += matches
        else:
            models.append(pattern)
    return models


def step_of(model: str) -> float:
    """The training step in a checkpoint name (its last number), for ordering and plotting."""
    numbers = re.findall(r"\d+", Path(model).name)
    return float(numbers[-1]) if numbers else float("nan")


def _name(model: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "_", Path(model.rstrip("/")).name or model)


def sweep(options: ScoreOptions, models: list[str], progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    for model in models:  # every checkpoint named, before the first is scored: a bad one fails in seconds, not after hours
        resolve_model(model)
    rows = []
    for model in models:
        if progress:
            progress(model)
        summary = score(replace(options, model=model, output=Path(options.output) / _name(model)))
        for subset, modes in summary.items():
            for mode, figures in mode_figures(modes).items():
                rows.append({"model": model, "step": step_of(model), "subset": subset, "mode": mode, **figures})
    _write(Path(options.output), rows)
    return rows


def series_points(rows: list[dict[str, Any]], subset: str, mode: str) -> list[dict[str, Any]]:
    """One curve's rows in step order. Sorted by the step alone: two checkpoints may share a step
    (``Qwen2-Audio-7B`` and ``Qwen2.5-Omni-7B`` both end in 7), and rows do not compare."""
    return sorted((r for r in rows if (r["subset"], r["mode"]) == (subset, mode)), key=lambda r: r["step"])


def _write(output: Path, rows: list[dict[str, Any]]) -> None:
    write_atomic(output / "sweep.json", json.dumps(rows, indent=2) + "\n")
    lines = ["| checkpoint | step | subset | mode | acc | pairwise_acc | loss plausible | loss implausible |", "|---|---:|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['step']:g} | {r['subset']} | {r['mode']} | {r['acc']:.4f} | {r['pairwise_acc']:.4f} | "
              f"{r['mean_loss_plausible']:.4f} | {r['mean_loss_implausible']:.4f} |" for r in rows]
    write_atomic(output / "sweep.md", "\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    series = sorted({(r["subset"], r["mode"]) for r in rows})
    figure, (accuracy, losses) = plt.subplots(1, 2, figsize=(11, 4))
    for subset, mode in series:
        points = series_points(rows, subset, mode)
        steps = [r["step"] for r in points]
        accuracy.plot(steps, [r["acc"] for r in points], marker="o", label=f"{subset} {mode}")
        losses.plot(steps, [r["mean_loss_plausible"] for r in points], marker="o", label=f"{subset} {mode} plausible")
        losses.plot(steps, [r["mean_loss_implausible"] for r in points], marker="x", linestyle="--", label=f"{subset} {mode} implausible")
    accuracy.set(xlabel="step", ylabel="acc", title="accuracy")
    losses.set(xlabel="step", ylabel="mean loss", title="losses")
    accuracy.legend(fontsize=7)
    losses.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(output / "sweep.png", dpi=90)
    plt.close(figure)
