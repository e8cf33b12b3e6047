"""benchmarks/scale.py at its quick size: every stage runs as a user runs it at two sizes and reports
its seconds, rate, peak RSS and the ratio of the two peaks. This checks the benchmark's code path (each
stage's command line still works on a set of a few hundred items, and every figure is printed), not
the figures: those are measured at 5,000 items (README, "Full-size releases")."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("build", "validate", "push-hub", "push-dir", "pull-hub", "pull-dir", "score-t2t", "score-s2t", "report", "augment")
NUMBER = r"\d+(?:\.\d+)?"


def test_the_scale_benchmark_measures_every_stage_at_two_sizes(tmp_path: Path):
    command = [sys.executable, "benchmarks/scale.py", "--items", "200", "--slice", "4", "--keep", str(tmp_path / "work")]
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for stage in STAGES:
        for items in (50, 200):
            assert re.search(rf"^stage={stage} items={items} seconds={NUMBER} rate={NUMBER} \w+/s peak_rss_mb=\d+ output_mb={NUMBER}$", out, re.M), \
                f"no line for {stage} at {items} items:\n{out}"
        found = re.search(rf"^rss_ratio stage={stage} ({NUMBER}) \((\d+) MB at 200 items, (\d+) MB at 50\)$", out, re.M)
        assert found, f"no rss_ratio for {stage}:\n{out}"
        ratio, large, small = float(found.group(1)), int(found.group(2)), int(found.group(3))
        assert abs(ratio - large / small) < 0.01 + 1 / small  # the ratio is of the two peaks printed beside it
    opened = rf"{NUMBER}" if os.environ.get("S2S_REQUIRE_BROWSER") else rf"(?:{NUMBER}|n/a)"  # CI has Chromium: both pages must open
    for page in ("build", "scores"):
        found = re.search(rf"^page={page} size_mb=({NUMBER}) chromium_seconds={opened}$", out, re.M)
        assert found and 0 < float(found.group(1)) < 5, f"page {page}:\n{out}"
    assert re.search(rf"^projected sStoryCloze: 3742 items, 11226 clips: {NUMBER} h", out, re.M)
    assert re.search(rf"^projected sCMMLU: 4743 items, 23715 clips: {NUMBER} h", out, re.M)
    # Each stage ran on the output of the one before, at the size it says: the large build holds 200 items.
    assert sum(1 for _ in open(tmp_path / "work" / "n200" / "build" / "items.jsonl", encoding="utf-8")) == 200


def test_a_run_cut_off_goes_on_from_its_journal(tmp_path: Path, monkeypatch):
    """A kept directory's journal: a finished stage is read back, not run again; one cut off runs again
    and reports the seconds of every attempt; each attempt says how far it is while it runs."""
    from benchmarks import scale

    monkeypatch.setattr(scale, "HEARTBEAT_SECONDS", 0.01)
    path = tmp_path / "journal.json"
    path.write_text(json.dumps({"n8/build": {"seconds": 600.0, "peak_rss_mb": 140.0, "done": True},
                                "n32/build": {"seconds": 100.0, "peak_rss_mb": 9000.0, "done": False}}), encoding="utf-8")
    journal = scale.Journal(path)
    log, env = tmp_path / "log", {**os.environ, "PYTHONPATH": str(ROOT)}
    # Finished: not run again (these arguments would fail).
    assert journal.run("n8/build", ["build", "--no-such-option"], env, log) == (600.0, 140.0)
    beats = []
    progress = journal.progress
    monkeypatch.setattr(journal, "progress", lambda key, seconds, rss, done=False, **extra: (beats.append(done), progress(key, seconds, rss, done, **extra)))
    seconds, rss = journal.run("n32/build", ["--help"], env, log)
    assert seconds > 100.0 and rss == 9000.0  # the cut-off attempt's seconds added, the larger peak kept
    assert beats[-1] is True and False in beats[:-1], beats  # heartbeats while it ran, then finished
    assert json.loads(path.read_text(encoding="utf-8"))["n32/build"] == {"seconds": seconds, "peak_rss_mb": rss, "done": True}
    assert scale.Journal(path).finished("n32/build")
