"""``s2s report``: several results directories in one table, one row per (model, subset, mode)."""

from __future__ import annotations

import json
from pathlib import Path

from s2sbench.errors import S2SBenchError
from s2sbench.scorer.summary import DEGRADATIONS, mode_figures


def compare_results(directories: list[Path]) -> str:
    lines = ["| results | model | subset | mode | n | acc | pairwise_acc | degradation acc from t2t [95% CI] |", "|---|---|---|---|---:|---:|---:|---|"]
    for directory in directories:
        summary_path = Path(directory) / "summary.json"
        if not summary_path.is_file():
            raise S2SBenchError(f"{directory}: no summary.json; run s2s score first")
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        run_path = Path(directory) / "run.json"
        model = json.loads(run_path.read_text(encoding="utf-8")).get("model", "?") if run_path.is_file() else "?"
        for subset, modes in summary.items():
            drops = {spoken: modes[key] for key, spoken in DEGRADATIONS.items() if key in modes}
            for mode, figures in mode_figures(modes).items():
                drop = drops.get(mode)
                cell = f"{drop['acc']:+.4f} [{drop['acc_ci'][0]:+.4f}, {drop['acc_ci'][1]:+.4f}]" if drop else ""
                lines.append(f"| {directory} | {model} | {subset} | {mode} | {figures['n']} | {figures['acc']:.4f} | {figures['pairwise_acc']:.4f} | {cell} |")
    return "\n".join(lines)


def plot_results(directories: list[Path], path: Path) -> bool:
    """Grouped bars: acc per (subset, mode), one bar per results directory. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    summaries = {str(d): json.loads((Path(d) / "summary.json").read_text(encoding="utf-8")) for d in directories}
    groups = sorted({(subset, mode) for s in summaries.values() for subset, modes in s.items() for mode in mode_figures(modes)})
    width = 0.8 / max(len(summaries), 1)
    figure, axis = plt.subplots(figsize=(max(6, 1.2 * len(groups)), 4))
    for offset, (name, summary) in enumerate(summaries.items()):
        values = [summary.get(subset, {}).get(mode, {}).get("acc", float("nan")) for subset, mode in groups]
        axis.bar([g + offset * width for g in range(len(groups))], values, width=width, label=name)
    axis.set_xticks([g + width * (len(summaries) - 1) / 2 for g in range(len(groups))], [f"{s}\n{m}" for s, m in groups], fontsize=8)
    axis.set_ylabel("acc")
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True
