"""``s2s report``: several results directories in one table, one row per (model, subset, mode)."""

from __future__ import annotations

import json
from pathlib import Path

from s2sbench.errors import S2SBenchError


def compare_results(directories: list[Path]) -> str:
    lines = ["| results | model | subset | mode | n | acc | pairwise_acc | degradation acc [95% CI] |", "|---|---|---|---|---:|---:|---:|---|"]
    for directory in directories:
        summary_path = Path(directory) / "summary.json"
        if not summary_path.is_file():
            raise S2SBenchError(f"{directory}: no summary.json; run s2s score first")
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        run_path = Path(directory) / "run.json"
        model = json.loads(run_path.read_text(encoding="utf-8")).get("model", "?") if run_path.is_file() else "?"
        for subset, modes in summary.items():
            drop = modes.get("degradation")
            for mode, figures in modes.items():
                if mode == "degradation":
                    continue
                cell = f"{drop['acc']:+.4f} [{drop['acc_ci'][0]:+.4f}, {drop['acc_ci'][1]:+.4f}]" if drop and mode == "s2t" else ""
                lines.append(f"| {directory} | {model} | {subset} | {mode} | {figures['n']} | {figures['acc']:.4f} | {figures['pairwise_acc']:.4f} | {cell} |")
    return "\n".join(lines)
