"""``s2s report`` beyond the comparison table: a cascade beside a speech LM, breakdown plots and
the one-page HTML reports, on small results directories built by hand."""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

from s2sbench.errors import BuildDirectoryError
from s2sbench.scorer.compare import cascade_overlaps, compare_results, shared_runs
from s2sbench.validate.report import WORST_CLIPS
from s2sbench.webpage import PAGE_CLIP_BYTES
from tests.browser import open_page

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
    assert "compared on the items all its runs scored: t2t on 8, s2t on 8" in text.splitlines()[0]
    [row] = [line for line in text.splitlines() if line.startswith(f"| {lm} (Qwen/Qwen2-Audio-7B) | {cascade} (cascade:faster-whisper:base+smol) |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:4] == ["story", "8"] and cells[4] == "+0.5000 (too few items)" and cells[5] == "+0.3750 (too few items)"  # 8 < MIN_ITEMS
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


# The one-page HTML reports, opened in a real headless Chromium (tests/browser.py).

CLIP = re.compile(r'<audio controls preload="auto" data-clip="([^"]+)" src="data:audio/(?:wav|flac);base64,([^"]+)"></audio>')


def test_the_build_report_page_plays_its_worst_clips_in_a_browser(sample_en_build: Path):
    import soundfile

    page = sample_en_build / "report.html"
    text = page.read_text(encoding="utf-8")
    clips = json.loads((sample_en_build / "validation.json").read_text())["clips"]
    embedded = CLIP.findall(text)
    assert len(embedded) == min(WORST_CLIPS, len(clips)) == text.count("<audio ")
    for name, data in embedded:  # each player holds its clip's own bytes, whole
        assert base64.b64decode(data) == (sample_en_build / html.unescape(name)).read_bytes()
    assert {html.unescape(name) for name, _ in embedded} <= {clip["path"] for clip in clips}
    assert page.stat().st_size < PAGE_CLIP_BYTES * 4 / 3 + 2**20
    seen = open_page(page)
    assert seen["errors"] == [] and seen["console"] == [], seen
    assert [player["clip"] for player in seen["audio"]] == [html.unescape(name) for name, _ in embedded]
    for player in seen["audio"]:
        assert player["ok"] and player["readyState"] >= 3, player
        assert player["duration"] == pytest.approx(soundfile.info(str(sample_en_build / player["clip"])).duration, abs=0.01)
    figures = 1 if importlib.util.find_spec("matplotlib") else 0  # validation.png
    assert len(seen["images"]) == figures and all(width > 300 for width in seen["images"])  # decoded


def test_a_build_of_long_clips_embeds_its_worst_ones_while_the_page_budget_lasts(sample_en_build: Path, tmp_path: Path):
    """sCMMLU's contexts run to 20 s (640 kB a clip): 20 of them would make a 17 MB page. The worst clips
    are embedded while the page's clip budget lasts, the rest are named, and the page stays under 5 MB."""
    import numpy as np
    import soundfile

    from s2sbench.builddir import BuildDirectory
    from s2sbench.validate.report import write_reports

    copy = tmp_path / "build"
    shutil.copytree(sample_en_build, copy)
    seconds = 20
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(seconds * 16000) / 16000)).astype(np.float32)
    clips = json.loads((copy / "validation.json").read_text())["clips"]
    for clip in clips:  # every clip 20 s long, in place (the report reads them, it does not re-check them)
        (copy / clip["path"]).unlink()
        soundfile.write(copy / clip["path"], tone, 16000, subtype="PCM_16")
    size = (copy / clips[0]["path"]).stat().st_size
    write_reports(BuildDirectory(copy))
    page = copy / "report.html"
    text = page.read_text(encoding="utf-8")
    embedded = CLIP.findall(text)
    assert len(embedded) == PAGE_CLIP_BYTES // size < min(WORST_CLIPS, len(clips))
    assert text.count("taken by worse ones") == min(WORST_CLIPS, len(clips)) - len(embedded)
    assert page.stat().st_size < 5 * 10**6
    seen = open_page(page)
    assert seen["errors"] == [] and len(seen["audio"]) == len(embedded) and all(player["ok"] for player in seen["audio"]), seen


def test_the_browser_check_fails_on_a_broken_clip_a_script_error_and_a_network_load(sample_en_build: Path, tmp_path: Path):
    text = (sample_en_build / "report.html").read_text(encoding="utf-8")
    name, data = CLIP.search(text).groups()
    variants = {
        "clip": text.replace(data, base64.b64encode(b"RIFF\0\0\0\0WAVEnot a clip" * 40).decode(), 1),
        "script": text.replace("</body>", '<script nonce="probe">undefinedFunction();</script></body>'),
        "network": text.replace("</body>", '<img src="http://127.0.0.1:9/x.png"></body>'),
    }
    seen = {}
    for variant, broken in variants.items():
        (tmp_path / variant).mkdir()
        (tmp_path / variant / "report.html").write_text(broken, encoding="utf-8")
        seen[variant] = open_page(tmp_path / variant / "report.html")
    first = seen["clip"]["audio"][0]
    assert first["clip"] == html.unescape(name) and not first["ok"] and first["readyState"] == 0, first
    assert f"load error: AUDIO {html.unescape(name)}" in seen["clip"]["errors"] and all(p["ok"] for p in seen["clip"]["audio"][1:])
    assert any("ReferenceError: undefinedFunction" in error for error in seen["script"]["errors"]) and seen["script"]["console"]
    assert any(error.startswith("blocked by policy: img-src http://127.0.0.1:9/x.png") for error in seen["network"]["errors"]), seen["network"]


def test_texts_from_the_build_are_escaped_in_report_html(sample_en_build: Path, tmp_path: Path):
    from s2sbench.builddir import BuildDirectory
    from s2sbench.validate.report import write_reports

    copy = tmp_path / "build"
    shutil.copytree(sample_en_build, copy)
    hostile, heard = '<script>alert("x")</script> & <b>bold</b> | pipe', "<img src=x onerror=alert(1)>"
    items = [json.loads(line) for line in (copy / "items.jsonl").read_text().splitlines()]
    items[0]["context"] = hostile
    items[0]["validation"]["context"].update(error=0.99, asr=heard)  # the worst clip: shown with its texts
    (copy / "items.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))
    write_reports(BuildDirectory(copy))
    text = (copy / "report.html").read_text(encoding="utf-8")
    assert hostile not in text and heard not in text
    assert html.escape(hostile) in text and html.escape(heard) in text
    assert "\\| pipe" in (copy / "validation.md").read_text()  # the Markdown table holds too
    seen = open_page(copy / "report.html")
    assert seen["errors"] == [] and seen["console"] == [], seen
    assert len(seen["images"]) == (1 if importlib.util.find_spec("matplotlib") else 0)  # no <img> made from the transcript
    # A clip that is a link to a file outside the build is refused, naming the line and field.
    (tmp_path / "outside.wav").write_bytes((copy / items[0]["audio"]["context"]).read_bytes())
    (copy / items[0]["audio"]["context"]).unlink()
    (copy / items[0]["audio"]["context"]).symlink_to(tmp_path / "outside.wav")
    with pytest.raises(BuildDirectoryError, match=r"items\.jsonl:1: audio\.context: .* leaves the directory"):
        write_reports(BuildDirectory(copy))


def test_report_html_holds_the_tables_and_figures_of_the_results(tmp_path: Path):
    from typer.testing import CliRunner

    from s2sbench.cli import app

    lm = results_dir(tmp_path / "lm", "org/<i>lm&co", {"t2t": [1] * 24, "s2t": [k % 2 == 0 for k in range(24)]}, faceted(24))
    cascade = results_dir(tmp_path / "c", "cascade:a+b", {"t2t": [1] * 24, "s2t": [k % 3 != 0 for k in range(24)]}, faceted(24))
    result = CliRunner().invoke(app, ["report", str(lm), str(cascade), "--html", str(tmp_path / "out.html")])
    assert result.exit_code == 0 and f"page: {tmp_path / 'out.html'}" in result.output, result.output
    text = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "<i>" not in text and "org/&lt;i&gt;lm&amp;co" in text
    assert "Cascade beside speech LM" in text and text.count("degradation (t2t - s2t) by voice") == 2  # each run's breakdowns
    seen = open_page(tmp_path / "out.html")
    assert seen["errors"] == [] and seen["console"] == [] and seen["audio"] == [], seen
    figures = 2 if importlib.util.find_spec("matplotlib") else 0  # the bars and the breakdowns
    assert len(seen["images"]) == figures and all(width > 500 for width in seen["images"])


def test_report_html_plays_the_items_speech_flipped_worst_first(spoken_build: Path, tmp_path: Path):
    """Items right from text and wrong from speech, by hand: three of the build's four flipped with
    margins 0.5, 2.0 and 1.0 (the fourth right in both); the page lists them worst first with the
    context clip of each, the cascade's transcript and both modes' losses, and the clips play."""
    import soundfile

    items = [json.loads(line) for line in (spoken_build / "items.jsonl").read_text().splitlines()]
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "cascade:faster-whisper:base+lm", "modes": ["t2t", "s2t"], "source": str(spoken_build)}))
    margins = [0.5, 2.0, 1.0, None]
    lines, samples = [], []
    for item, margin in zip(items, margins):
        answer, k = item["answer"], len(item["candidates"])
        for mode, gap in (("t2t", -1.0), ("s2t", margin if margin is not None else -1.0)):
            for candidate in range(k):
                loss = 2.0 + (gap if candidate == answer else 0.0)
                lines.append(json.dumps({"id": item["id"], "subset": item["subset"], "mode": mode, "candidate": candidate, "answer": answer,
                                         "loss": loss, "n_tokens": 1, "logprob": -loss, "n_bytes": 1}) + "\n")
        samples.append(json.dumps({"id": item["id"], "mode": "s2t", "context": f"heard <b>{item['id']}</b>"}) + "\n")
    (run / "scores.jsonl").write_text("".join(lines))
    (run / "samples.jsonl").write_text("".join(samples))
    from typer.testing import CliRunner

    from s2sbench.cli import app

    result = CliRunner().invoke(app, ["report", str(run), "--html", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "right from text, wrong from speech (3, the largest speech margin first)" in text
    order = [items[1], items[2], items[0]]  # margins 2.0, 1.0, 0.5
    positions = [text.index(f"heard &lt;b&gt;{item['id']}&lt;/b&gt;") for item in order]
    assert positions == sorted(positions) and f"heard &lt;b&gt;{items[3]['id']}" not in text
    assert str(spoken_build) not in text  # clips are embedded and named by their place in the build
    seen = open_page(tmp_path / "page.html")
    assert seen["errors"] == [] and seen["console"] == [], seen
    assert [player["clip"] for player in seen["audio"]] == [item["audio"]["context"] for item in order]
    for player in seen["audio"]:
        assert player["ok"] and player["readyState"] >= 3, player
        assert player["duration"] == pytest.approx(soundfile.info(str(spoken_build / player["clip"])).duration, abs=0.01)
