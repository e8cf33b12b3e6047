"""``s2s report --by speech``: one model on builds of the same items spoken differently. Each speech's
degradation and each pair's difference, checked against figures computed by hand, then end to end on
three real builds (two espeak voices and Kokoro) scored by a tiny random Qwen2-Audio."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.scorer.by_speech import paired_difference, speech_comparison
from tests.test_faults import one_line_error
from tests.test_report import results_dir

runner = CliRunner()


def speech_run(base: Path, name: str, speech: tuple[str, list[str]], spoken_right: list[bool], model: str = "org/lm") -> Path:
    """Results of ``model`` on 12 items, right on all from text and on ``spoken_right`` from speech,
    scored from a build (only its build.json and items.jsonl) spoken by ``speech`` (spec, voices)."""
    build = base / f"build-{name}"
    build.mkdir(parents=True)
    (build / "build.json").write_text(json.dumps({"tts": {"spec": speech[0], "engine": speech[0].split(":")[0], "voices": speech[1]}}))
    (build / "items.jsonl").write_text("")
    results = results_dir(base / name, model, {"t2t": [True] * 12, "s2t": spoken_right})
    run = json.loads((results / "run.json").read_text())
    (results / "run.json").write_text(json.dumps({**run, "source": str(build)}))
    return results


@pytest.fixture
def three(tmp_path: Path) -> list[Path]:
    return [speech_run(tmp_path, "a", ("espeak", ["en-us"]), [k < 9 for k in range(12)]),  # 9/12 from speech
            speech_run(tmp_path, "b", ("kokoro", ["jf_alpha"]), [k < 6 for k in range(12)]),  # 6/12
            speech_run(tmp_path, "c", ("piper:en_US-joe-medium", []), [k < 11 for k in range(12)])]  # 11/12


def test_each_speech_and_each_pair_by_hand(three: list[Path]):
    found = speech_comparison(three)["subsets"]["story"]
    rows = {row["speech"]: row for row in found["runs"]}
    assert list(rows) == ["espeak en-us", "kokoro jf_alpha", "piper:en_US-joe-medium"]
    # degradation = 12/12 - right/12
    assert [rows[name]["degradation"] for name in rows] == pytest.approx([3 / 12, 6 / 12, 1 / 12], abs=1e-12)
    assert all(row["n"] == 12 and row["text"] == 1.0 for row in rows.values())
    pairs = {(pair["first"], pair["second"]): pair for pair in found["pairs"]}
    assert pairs[("espeak en-us", "kokoro jf_alpha")]["difference"] == pytest.approx(3 / 12 - 6 / 12, abs=1e-12)
    assert pairs[("espeak en-us", "piper:en_US-joe-medium")]["difference"] == pytest.approx(3 / 12 - 1 / 12, abs=1e-12)
    assert pairs[("kokoro jf_alpha", "piper:en_US-joe-medium")]["difference"] == pytest.approx(6 / 12 - 1 / 12, abs=1e-12)
    for pair in pairs.values():
        low, high = pair["ci"]
        assert low <= pair["difference"] <= high and -1 <= low and high <= 1
    # espeak vs kokoro: items 6-8 differ, all one way; a paired resample can never favour kokoro
    assert pairs[("espeak en-us", "kokoro jf_alpha")]["ci"][1] <= 0
    assert speech_comparison(three)["largest"] == pytest.approx(5 / 12, abs=1e-12)


def test_the_report_prints_the_largest_change_in_points(three: list[Path]):
    result = runner.invoke(app, ["report", *map(str, three), "--by", "speech"])
    assert result.exit_code == 0, result.output
    assert "the speech changes the degradation by up to 41.7 points (acc, org/lm)" in result.stdout
    assert "| story | kokoro jf_alpha | b | 12 | 1.0000 | 0.5000 | +0.5000 [" in result.stdout
    assert "| story | espeak en-us | kokoro jf_alpha | 12 | -0.2500 [" in result.stdout


def test_a_paired_interval_is_narrower_than_the_spread_of_two_independent_runs():
    same = [1.0, 0.0] * 10
    assert paired_difference(same, same) == {"n": 20, "difference": 0.0, "ci": [0.0, 0.0]}  # the same items: no spread at all
    assert paired_difference([1.0] * 4, [0.0] * 4, counts=[2, 2, 2, 2])["difference"] == 0.5


def test_runs_of_two_models_or_other_text_are_not_a_speech_comparison(tmp_path: Path, three: list[Path]):
    other = speech_run(tmp_path / "x", "d", ("espeak", ["en-gb"]), [True] * 12, model="org/other")
    one_line_error(runner.invoke(app, ["report", str(three[0]), str(other), "--by", "speech"]), "compares one model's runs; these are of 2 models")
    edited = speech_run(tmp_path / "y", "e", ("espeak", ["en-gb"]), [True] * 12)
    lines = (edited / "scores.jsonl").read_text().replace('"mode": "t2t", "candidate": 0, "answer": 0, "loss": 1.0', '"mode": "t2t", "candidate": 0, "answer": 0, "loss": 3.0', 1)
    (edited / "scores.jsonl").write_text(lines)
    one_line_error(runner.invoke(app, ["report", str(three[0]), str(edited), "--by", "speech"]), "its text scores differ")
    one_line_error(runner.invoke(app, ["report", str(three[0]), "--by", "speech"]), "two or more results directories")
    one_line_error(runner.invoke(app, ["report", *map(str, three), "--by", "voice"]), "--by 'voice'")


@pytest.mark.skipif(importlib.util.find_spec("kokoro_onnx") is None, reason="s2sbench[kokoro] not installed")
def test_three_builds_of_the_same_items_spoken_differently(tmp_path: Path):
    """espeak-ng, Kokoro, and a recordings folder made from a third voice, of the same 12 items."""
    from s2sbench import BuildOptions, build
    from s2sbench.scorer.run import ScoreOptions, score
    from tests.models_speech import build_tiny_qwen2_audio
    from tests.test_recordings import speak_like_a_person

    model = build_tiny_qwen2_audio(tmp_path / "model")
    first = tmp_path / "build-espeak"
    build(BuildOptions(source="sample:en", output=first, limit=12, seed=3, speak="context", validate=False))
    items = [json.loads(line) for line in (first / "items.jsonl").read_text().splitlines()]
    recordings = tmp_path / "bo"
    for item in items:
        (recordings / item["id"]).mkdir(parents=True)
        speak_like_a_person(item["context"], recordings / item["id"] / "context.wav")
    builds = {"espeak": first, "kokoro": tmp_path / "build-kokoro", "human": tmp_path / "build-human"}
    build(BuildOptions(source="sample:en", output=builds["kokoro"], tts="kokoro", voices=["jm_kumo"], limit=12, seed=3, speak="context", validate=False))
    build(BuildOptions(source="sample:en", output=builds["human"], limit=12, seed=3, speak="context", validate=False, recordings=str(recordings),
                       recordings_only=True))
    results = []
    for name, output in builds.items():
        assert [json.loads(line)["id"] for line in (output / "items.jsonl").read_text().splitlines()] == [item["id"] for item in items]
        results.append(tmp_path / f"results-{name}")
        score(ScoreOptions(source=str(output), output=results[-1], model=str(model), modes=("t2t", "s2t"), device="cpu"))
    report = runner.invoke(app, ["report", *map(str, results), "--by", "speech"])
    assert report.exit_code == 0, report.output
    assert "the speech changes the degradation by up to" in report.stdout
    found = speech_comparison(results)
    for subset, figures in found["subsets"].items():
        assert [row["speech"] for row in figures["runs"]] == ["espeak en-us", "kokoro jm_kumo", "human:bo"]
        for row, directory in zip(figures["runs"], results):  # each run's figures are its own summary's, recomputed on the same items
            summary = json.loads((directory / "summary.json").read_text())[subset]
            assert row["degradation"] == pytest.approx(summary["degradation"]["acc"], abs=1e-12)
            assert row["speech_acc"] == pytest.approx(summary["s2t"]["acc"], abs=1e-12)
