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


def faceted(n: int) -> dict[str, dict]:
    """Facets of items i0..i(n-1), as s2s score keeps them: two voices, durations and word counts
    rising with n, the first quarter misheard."""
    return {f"i{k}": {"category": None, "voice": "a" if k % 2 else "b", "duration": 1.0 + k / 10, "asr_error": "(0, 0.1]" if k < n // 4 else "0",
                      "words": 5 + k} for k in range(n)}


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, after checking it decodes whole."""
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as image:
        image.verify()  # the chunks' CRCs and the stream: a truncated file fails
    with Image.open(path) as image:
        image.load()
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20, "a blank image"
        return image.size


def test_score_draws_summary_png_of_the_breakdowns(tmp_path: Path):
    pytest.importorskip("matplotlib", reason="summary.png needs matplotlib (the asr extra)")
    from s2sbench.scorer.figures import COLUMNS, PANEL_SIZE
    from s2sbench.scorer.summary import write_summary

    correct = {"t2t": [1] * 24, "s2t": [k % 3 != 0 for k in range(24)]}
    run = results_dir(tmp_path / "r", "cascade:a+b", correct, faceted(24))
    summary = write_summary(run, ("t2t", "s2t"))
    assert set(summary["story"]["breakdowns"]) == {"voice", "duration", "asr_error", "words"}
    # 5 panels (all items, then 4 facets) in rows of 3: two rows at 90 dpi.
    assert png_size(run / "summary.png") == (round(PANEL_SIZE[0] * COLUMNS * 90), round(PANEL_SIZE[1] * 2 * 90))
    assert 10_000 < (run / "summary.png").stat().st_size < 1_000_000
    # A text-only run has no degradation to draw: no summary.png.
    text_only = results_dir(tmp_path / "t", "m", {"t2t": [1, 0]})
    write_summary(text_only, ("t2t",))
    assert not (text_only / "summary.png").exists()


def test_report_plot_draws_the_breakdowns_of_every_run(tmp_path: Path):
    pytest.importorskip("matplotlib", reason="the plots need matplotlib (the asr extra)")
    from typer.testing import CliRunner

    from s2sbench.cli import app

    lm = results_dir(tmp_path / "lm", "speech-lm", {"t2t": [1] * 24, "s2t": [k % 2 == 0 for k in range(24)]}, faceted(24))
    cascade = results_dir(tmp_path / "c", "cascade:a+b", {"t2t": [1] * 24, "s2t": [k % 3 != 0 for k in range(24)]}, faceted(24))
    result = CliRunner().invoke(app, ["report", str(lm), str(cascade), "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert f"plot: {tmp_path / 'p.png'}\nplot: {tmp_path / 'p-breakdowns.png'}" in result.output
    assert png_size(tmp_path / "p.png")[0] > 500
    assert png_size(tmp_path / "p-breakdowns.png")[0] == 1242
    # Runs without facets: the bars alone.
    bare = CliRunner().invoke(app, ["report", str(results_dir(tmp_path / "b", "m", {"t2t": [1, 0], "s2t": [0, 0]})), "--plot", str(tmp_path / "q.png")])
    assert bare.exit_code == 0 and "q-breakdowns" not in bare.output and not (tmp_path / "q-breakdowns.png").exists()
