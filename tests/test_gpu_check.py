"""``benchmarks/gpu_check.sh --cpu-smoke``: the GPU check's every step on tiny models on CPU, so that
the script a GPU session runs is known to work before a device's minutes are spent on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_gpu_check_runs_every_step_on_cpu(tmp_path: Path):
    figures_file = tmp_path / "figures.json"
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--cpu-smoke", "--json", str(figures_file)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env={**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(figures_file.read_text())
    printed = [line for line in done.stdout.splitlines() if "=" in line and not line.startswith("(")]
    assert {line.split("=")[0] for line in printed} >= set(figures)  # one line per figure
    assert not [name for name in figures if name.endswith("_failed")]
    for family in ("qwen2_audio", "qwen2_5_omni"):  # (a)
        assert figures[f"score_{family}_s2t_k4_shared_items_per_s"] > 0
        assert figures[f"score_{family}_within_float32_tolerance"] is True
    assert figures["whisper_cpu_batch4_windowauto_clips_per_s"] > 0 and figures["whisper_batch_independent"] is True  # (b)
    for window in ("30", "auto"):  # (c)
        assert figures[f"build_cpu_window{window}_clips_per_s"] > 0 and figures[f"build_cpu_window{window}_projected_sstorycloze_hours"] > 0
    assert figures["torchrun_shards"] == 2 and figures["torchrun_merged_equal"] is True  # (d)
