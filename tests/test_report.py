"""``s2s report`` beyond the comparison table: a cascade beside a speech LM, breakdown plots and
the one-page HTML reports, on small results directories built by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s2sbench.scorer.compare import cascade_overlaps, compare_results, shared_runs

RIGHT, WRONG = {0: 1.0, 1: 2.0}, {0: 2.0, 1: 1.0}  # answer 0: right when candidate 0 has the lower loss


def results_dir(path: Path, model: str, correct: dict[str, list[int]], facets: dict[str, dict] | None = None, subset: str = "story") -> Path:
    """A results directory of 2-way items ``i0, i1, ...``: ``correct[mode][n]`` says whether item n
    is right in that mode (as ``s2s score`` writes it: run.json and scores.jsonl)."""
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"model": model, "modes": list(correct)}))
    lines = []
    for mode, flags in correct.items():
        for n, ok in enumerate(flags):
            for k, loss in (RIGHT if ok else WRONG).items():
                record = {"id": f"i{n}", "subset": subset, "mode": mode, "candidate": k, "answer": 0, "loss": loss, "n_tokens": 1,
                          "logprob": -loss, "n_bytes": 1}
                if k == 0 and facets and f"i{n}" in facets:
                    record["facets"] = facets[f"i{n}"]
                lines.append(json.dumps(record) + "\n")
    (path / "scores.jsonl").write_text("".join(lines))
    return path


def test_a_cascade_beside_a_speech_lm_by_hand(tmp_path: Path):
    # 8 shared items. The LM: right on all from text, wrong on i0-i3 from speech (degradation 4/8).
    # The cascade: wrong on i7 from text; wrong on i0, i1, i5, i7 from speech: it flips i0, i1, i5
    # (degradation 7/8 - 4/8 = 3/8); 2 of the LM's 4 flips are its own; 3 of 8 items flip in all.
    # The cascade also scored a ninth item the LM did not: it is left out.
    lm = results_dir(tmp_path / "lm", "Qwen/Qwen2-Audio-7B", {"t2t": [1] * 8, "s2t": [0, 0, 0, 0, 1, 1, 1, 1]})
    cascade = results_dir(tmp_path / "cascade", "cascade:faster-whisper:base+/models/smol", {"t2t": [1] * 7 + [0, 1], "s2t": [0, 0, 1, 1, 1, 0, 1, 0, 0]})
    runs, notes = shared_runs([lm, cascade])
    [(model, beside, subset, overlap)] = cascade_overlaps(runs)
    assert (model["directory"], beside["directory"], subset) == (lm, cascade, "story")
    assert overlap["n"] == 8 and overlap["flips_by"] == "acc"
    assert overlap["model_degradation"]["acc"] == pytest.approx(0.5, abs=1e-12)
    assert overlap["cascade_degradation"]["acc"] == pytest.approx(0.375, abs=1e-12)
    assert (overlap["model_right_to_wrong"], overlap["also_cascade"], overlap["cascade_right_to_wrong"]) == (4, 2, 3)
    assert overlap["also_cascade_share"] == pytest.approx(0.5, abs=1e-12) and overlap["cascade_share_all"] == pytest.approx(0.375, abs=1e-12)
    text = compare_results([lm, cascade])
    assert "compared on the 8 items" in text.splitlines()[0]
    [row] = [line for line in text.splitlines() if line.startswith(f"| {lm} (Qwen/Qwen2-Audio-7B) | {cascade} (cascade:faster-whisper:base+smol) |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:4] == ["story", "8"] and cells[4].startswith("+0.5000 [") and cells[5].startswith("+0.3750 [")
    assert cells[6:] == ["4", "2 (50%)", "3 of 8 (38%)"]
    # No cascade, or a cascade beside nothing but itself: no such table.
    assert "Cascade beside" not in compare_results([lm]) and "Cascade beside" not in compare_results([cascade])


def test_the_cascade_table_follows_the_metric(tmp_path: Path):
    # By acc_sum (highest summed log-likelihood) the same outcomes hold, as logprob = -loss here.
    lm = results_dir(tmp_path / "lm", "speech-lm", {"t2t": [1, 1, 1, 1], "s2t": [0, 1, 1, 1]})
    cascade = results_dir(tmp_path / "c", "cascade:a+b", {"t2t": [1, 1, 1, 1], "s2t": [0, 0, 1, 1]})
    runs, _ = shared_runs([lm, cascade])
    [(_, _, _, overlap)] = cascade_overlaps(runs, "acc_sum")
    assert overlap["flips_by"] == "acc_sum" and overlap["model_degradation"]["acc_sum"] == pytest.approx(0.25, abs=1e-12)
    assert overlap["cascade_degradation"]["acc_sum"] == pytest.approx(0.5, abs=1e-12) and overlap["also_cascade_share"] == 1.0
    assert "| 1 | 1 (100%) | 2 of 4 (50%) |" in compare_results([lm, cascade], "acc_sum")
