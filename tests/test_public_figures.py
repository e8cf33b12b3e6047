"""What the summaries and report pages say beside each figure (n, chance, the standard error, "too
few items"), checked against hand computations on scores written by hand; and that no public file
names a local directory (the source, the model, the results and build directories by name alone)."""

from __future__ import annotations

import json
import math
import statistics
import wave
from pathlib import Path

import pytest

from s2sbench.scorer.metric import ItemOutcome, chance, mode_summary, stderr
from s2sbench.tables import public_model, public_source

TOLERANCE = 1e-12  # every figure here is a short sum of exact fractions


def scores_dir(path: Path, correct: dict[str, list[int]], widths: list[int], *, model: str = "m", source: str = "sample:en",
               subset: str = "mixed", facets: dict[str, dict] | None = None) -> Path:
    """A results directory as ``s2s score`` writes it: item n has ``widths[n]`` candidates, the
    answer 0, and ``correct[mode][n]`` says whether candidate 0 has the lowest loss in that mode."""
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"source": source, "model": model, "modes": list(correct), "adapter": {"adapter": "causal-lm"}}))
    lines = []
    for mode, flags in correct.items():
        for n, ok in enumerate(flags):
            for k in range(widths[n]):
                loss = float(k + 1) if ok else float(widths[n] - k)  # right: candidate 0 lowest; wrong: the last lowest
                record = {"id": f"i{n}", "subset": subset, "mode": mode, "candidate": k, "answer": 0, "loss": loss, "n_tokens": 1,
                          "logprob": -loss, "n_bytes": 1}
                if k == 0 and facets:
                    record["facets"] = facets[f"i{n}"]
                lines.append(json.dumps(record) + "\n")
    (path / "scores.jsonl").write_text("".join(lines))
    return path


def test_chance_and_stderr_by_hand():
    # Two 2-way items and two 3-way items, three of the four right.
    outcomes = [ItemOutcome.from_losses(losses, 0) for losses in ([1.0, 2.0], [2.0, 1.0], [1.0, 2.0, 3.0], [1.0, 3.0, 2.0])]
    figures = mode_summary(outcomes)
    # chance: (1/2 + 1/2 + 1/3 + 1/3) / 4 = 5/12, neither 1/2 nor 1/3.
    assert figures["chance"] == pytest.approx(5 / 12, abs=TOLERANCE) == chance(outcomes)
    # lm-evaluation-harness: sample standard deviation of [1, 0, 1, 1] over sqrt(4) = sqrt(0.75 * 0.25 / 3) = 0.25.
    assert figures["acc"] == 0.75 and figures["acc_stderr"] == pytest.approx(0.25, abs=TOLERANCE)
    assert figures["acc_stderr"] == pytest.approx(statistics.stdev([1, 0, 1, 1]) / 2, abs=TOLERANCE)
    assert math.isnan(stderr(outcomes[:1])) and math.isnan(figures["acc_sum_stderr"])  # one item; no summed log-likelihoods
    eight = [ItemOutcome.from_losses([1.0, 2.0], 0, [-1.0, -2.0], [1, 1])] * 3 + [ItemOutcome.from_losses([2.0, 1.0], 0, [-2.0, -1.0], [1, 1])] * 5
    assert mode_summary(eight)["acc_sum_stderr"] == pytest.approx(math.sqrt(3 / 8 * 5 / 8 / 7), abs=TOLERANCE)


def test_summary_says_n_chance_and_stderr_and_too_few_items_at_n_5(tmp_path: Path):
    from s2sbench.scorer.summary import write_summary

    # 5 items of 2, 3, 2, 3, 3 candidates; t2t right on all, s2t on i0, i1, i2.
    run = scores_dir(tmp_path / "r", {"t2t": [1, 1, 1, 1, 1], "s2t": [1, 1, 1, 0, 0]}, [2, 3, 2, 3, 3])
    summary = write_summary(run, ("t2t", "s2t"))
    assert json.loads((run / "summary.json").read_text()) == json.loads(json.dumps(summary))
    s2t = summary["mixed"]["s2t"]
    assert s2t["n"] == 5 and s2t["chance"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2 + 1 / 3 + 1 / 3) / 5, abs=TOLERANCE)  # 0.4
    assert s2t["acc"] == pytest.approx(0.6, abs=TOLERANCE) and s2t["acc_stderr"] == pytest.approx(math.sqrt(0.6 * 0.4 / 4), abs=TOLERANCE)
    assert summary["mixed"]["t2t"]["acc_stderr"] == 0.0
    drop = summary["mixed"]["degradation"]
    assert drop["n"] == 5 and drop["too_few"] is True and drop["acc"] == pytest.approx(0.4, abs=TOLERANCE)  # the numbers kept, flagged
    text = (run / "summary.md").read_text(encoding="utf-8")
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:2]): line for line in text.splitlines() if line.startswith("| mixed |")}
    assert "| mixed | s2t | 5 | 0.4000 | 0.6000 ± 0.2449 |" in rows[("mixed", "s2t")]  # sqrt(0.06) = 0.24495
    [headline] = [line for line in text.splitlines() if line.startswith("| mixed | 5 |")]
    assert headline.startswith("| mixed | 5 | +0.4000 | too few items | ") and "[" not in headline
    # At 10 items (breakdowns.MIN_ITEMS) the interval is back.
    from s2sbench.scorer.breakdowns import MIN_ITEMS

    ten = write_summary(scores_dir(tmp_path / "ten", {"t2t": [1] * MIN_ITEMS, "s2t": [1, 0] * (MIN_ITEMS // 2)}, [2] * MIN_ITEMS), ("t2t", "s2t"))
    assert "too_few" not in ten["mixed"]["degradation"] and "too few items" not in (tmp_path / "ten" / "summary.md").read_text(encoding="utf-8")


def test_report_says_too_few_items_for_a_small_subset(tmp_path: Path):
    from s2sbench.scorer.compare import compare_results

    run = scores_dir(tmp_path / "r", {"t2t": [1, 1, 1], "s2t": [1, 0, 0]}, [2, 2, 2])
    [row] = [line for line in compare_results([run]).splitlines() if "| s2t |" in line]
    assert row.rstrip().endswith("| +0.6667 (too few items) |")


class Recorder:
    """Records the horizontal lines an axis is asked to draw (``hlines`` and ``axhline``)."""

    def __init__(self, monkeypatch):
        from matplotlib.axes import Axes

        self.hlines: list[float] = []
        self.axhlines: list[tuple[float, str | None]] = []
        hlines, axhline = Axes.hlines, Axes.axhline

        def record_hlines(axis, y, *args, **kwargs):
            self.hlines.append(float(y))
            return hlines(axis, y, *args, **kwargs)

        def record_axhline(axis, y=0, *args, **kwargs):
            self.axhlines.append((float(y), kwargs.get("label")))
            return axhline(axis, y, *args, **kwargs)

        monkeypatch.setattr(Axes, "hlines", record_hlines)
        monkeypatch.setattr(Axes, "axhline", record_axhline)


def test_the_plots_draw_chance_as_the_mean_of_1_over_k(tmp_path: Path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the plots need matplotlib (the asr extra)")
    from s2sbench.scorer.compare import results_png, shared_runs
    from s2sbench.scorer.figures import breakdown_png
    from s2sbench.scorer.results import read_scores
    from s2sbench.scorer.summary import summarize

    # 12 items: 6 of 2 candidates (voice a), 6 of 3 (voice b); chance (6/2 + 6/3) / 12 = 5/12.
    widths = [2, 3] * 6
    facets = {f"i{n}": {"category": None, "voice": "a" if widths[n] == 2 else "b", "duration": None, "asr_error": None, "words": None} for n in range(12)}
    run = scores_dir(tmp_path / "r", {"t2t": [1] * 12, "s2t": [n % 4 == 0 for n in range(12)]}, widths, facets=facets)
    summary = summarize(read_scores(run), ("t2t", "s2t"))
    assert summary["mixed"]["degradation"]["chance"] == pytest.approx(5 / 12, abs=TOLERANCE)
    recorder = Recorder(monkeypatch)
    assert breakdown_png([("m", summary)]) is not None
    # Speech at chance, acc_t2t - chance: all items 1 - 5/12 (was 1 - 1/3, the last item's K); voice a 1 - 1/2, voice b 1 - 1/3.
    assert recorder.hlines == pytest.approx([7 / 12, 1 / 2, 2 / 3], abs=TOLERANCE)
    recorder.hlines.clear()
    runs, _ = shared_runs([run])
    assert results_png(runs) is not None
    assert recorder.hlines == pytest.approx([5 / 12, 5 / 12], abs=TOLERANCE)  # t2t and s2t bars: chance 5/12 (was 1/3, the last item's K)
    recorder.hlines.clear()
    results_png(runs, "pairwise_acc")
    assert recorder.hlines == pytest.approx([0.5, 0.5], abs=TOLERANCE)


def test_the_curve_draws_chance_as_the_mean_of_1_over_k_and_says_too_few_items(tmp_path: Path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the plots need matplotlib (the asr extra)")
    from s2sbench.scorer.curve import curve_png, curve_points, curve_table

    build = tmp_path / "build"
    build.mkdir()
    (build / "build.json").write_text(json.dumps({"status": "complete"}))
    (build / "items.jsonl").write_text("")
    # 4 items of 2, 3, 3, 3 candidates: chance (1/2 + 3 * 1/3) / 4 = 3/8; t2t all right, s2t right on two.
    run = scores_dir(tmp_path / "r", {"t2t": [1, 1, 1, 1], "s2t": [1, 0, 1, 0]}, [2, 3, 3, 3], source=str(build))
    points, _ = curve_points([run])
    [point] = points
    assert point.chance == pytest.approx(3 / 8, abs=TOLERANCE) and point.too_few and point.interval is None
    assert "| +0.5000 (too few items) |" in curve_table([run])
    recorder = Recorder(monkeypatch)
    assert curve_png(points) is not None
    lines = dict((label, y) for y, label in recorder.axhlines if label)
    assert lines["chance"] == pytest.approx(3 / 8, abs=TOLERANCE) and lines["speech at chance"] == pytest.approx(1 - 3 / 8, abs=TOLERANCE)


@pytest.mark.parametrize(("spec", "public"), [
    ("sample:en", "sample:en"), ("hf://owner/name:default:test", "hf://owner/name:default:test"), ("OWNER/NAME", "OWNER/NAME"),
    ("s3://bucket/builds/en", "s3://bucket/builds/en"), ("/home/me/builds/demo-en", "demo-en"), ("/home/me/builds/demo-en/", "demo-en"),
    ("~/data/stories.jsonl", "stories.jsonl"), ("./builds/demo", "demo"), ("file:///home/me/release.jsonl", "release.jsonl"),
    ("C:\\Users\\me\\stories.csv", "stories.csv"), ("piper:/home/me/voices/en.onnx", "piper:en.onnx"), ("faster-whisper:base", "faster-whisper:base"),
])
def test_public_source(spec: str, public: str):
    assert public_source(spec) == public


def test_public_source_names_an_existing_relative_directory_by_its_name(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "builds" / "en").mkdir(parents=True)
    assert public_source("builds/en") == "en" and public_source(".") == tmp_path.name and public_source("owner/name") == "owner/name"
    assert public_model("cascade:faster-whisper:/home/me/whisper+/home/me/models/smol") == "cascade:faster-whisper:whisper+smol"


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    """A home directory under tmp_path (``Path.home()`` and ``~`` are it)."""
    home = tmp_path / "home" / "someone"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    assert Path.home() == home
    return home


def assert_no_local_path(text: str, *paths: Path) -> None:
    for path in (*paths, Path.home()):
        assert str(path) not in text, f"{path} in the page"


def test_summary_md_names_a_local_source_and_model_by_their_last_part(tmp_path: Path, home: Path):
    from s2sbench.scorer.summary import write_summary

    source, model = home / "builds" / "demo-en", home / "models" / "tiny-lm"
    run = scores_dir(home / "results" / "r", {"t2t": [1, 0], "s2t": [0, 0]}, [2, 2], model=str(model), source=str(source))
    write_summary(run, ("t2t", "s2t"))
    text = (run / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("# Scores: tiny-lm\n") and "Source: `demo-en`" in text
    assert_no_local_path(text, tmp_path)
    hub = scores_dir(tmp_path / "hub", {"t2t": [1, 0]}, [2, 2], model="Qwen/Qwen2-Audio-7B", source="owner/spoken-bench")
    write_summary(hub, ("t2t",))
    assert (hub / "summary.md").read_text(encoding="utf-8").startswith("# Scores: Qwen/Qwen2-Audio-7B\n\nSource: `owner/spoken-bench`")


def test_report_html_names_results_directories_by_their_names(tmp_path: Path, home: Path):
    from s2sbench.scorer.compare import compare_results, html_report

    lm = scores_dir(home / "results" / "lm-run", {"t2t": [1] * 12, "s2t": [n % 2 for n in range(12)]}, [2] * 12,
                    model=str(home / "models" / "lm"), source=str(home / "builds" / "demo"))
    cascade = scores_dir(home / "other" / "cascade-run", {"t2t": [1] * 13, "s2t": [n % 3 for n in range(13)]}, [2] * 13,
                         model=f"cascade:faster-whisper:{home / 'whisper'}+{home / 'models' / 'lm'}", source=str(home / "builds" / "demo"))
    html_report([lm, cascade], tmp_path / "page.html")
    text = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert_no_local_path(text, tmp_path)
    assert "lm-run: 12, cascade-run: 13" in text  # the note on the items left out, by directory name
    assert "<h2>lm-run: lm</h2>" in text and "cascade-run (cascade:faster-whisper:whisper+lm)" in text
    assert str(lm) in compare_results([lm, cascade])  # the terminal's table names them as given


def test_build_report_names_local_sources_models_and_voices_by_their_last_part(tmp_path: Path, home: Path):
    from s2sbench.builddir import BuildDirectory
    from s2sbench.validate.report import write_reports

    root = home / "builds" / "demo-en"
    (root / "audio" / "ab").mkdir(parents=True)
    with wave.open(str(root / "audio" / "ab" / "c.wav"), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(16000)
        clip.writeframes(b"\x00\x00" * 1600)
    asr = {"engine": "faster-whisper", "model": str(home / "models" / "whisper-base"), "weights": str(home / "models" / "whisper-base")}
    manifest = {"status": "complete", "source": {"spec": str(home / "data" / "stories.jsonl"), "format": "items", "lang": "en"},
                "tts": {"spec": f"piper:{home / 'voices' / 'en.onnx'}", "engine": "piper", "model": "en.onnx", "voices": ["a"]},
                "validation": {"asr": asr, "metric": "wer", "max_error": 0.1, "normalizer": ["lower"]}}
    (root / "build.json").write_text(json.dumps(manifest))
    verdict = {"passed": False, "error": 0.5, "reasons": ["asr_mismatch"], "asr": "heard"}
    item = {"id": "s1", "subset": "story", "lang": "en", "context": "A story.", "candidates": ["yes", "no"], "answer": 0,
            "audio": {"context": "audio/ab/c.wav", "candidates": None, "voices": {"context": "a"}}, "validation": {"passed": False, "context": verdict}}
    (root / "items.jsonl").write_text(json.dumps(item) + "\n")
    write_reports(BuildDirectory(root))
    page = (root / "report.html").read_text(encoding="utf-8")
    assert_no_local_path(page, tmp_path)
    assert "<title>Build report: demo-en</title>" in page and "stories.jsonl" in page and "piper:en.onnx" in page and "whisper-base" in page
    assert 'data-clip="audio/ab/c.wav"' in page  # the worst clip, playable
    assert_no_local_path((root / "validation.md").read_text(encoding="utf-8"), tmp_path)
