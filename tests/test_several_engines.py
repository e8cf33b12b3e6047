"""A build of several speech engines (``s2s build --tts espeak --tts piper``): the engines rotated over
items like voices, each clip's engine recorded next to its voice, build.json listing the engines, and
the engine a facet of the scorer's breakdowns, in the build and through its published rows. One engine
given once builds what it always built."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app
from s2sbench.pipeline.stages import engine_for, voice_for
from s2sbench.scorer.inputs import load_score_items
from tests.test_faults import one_line_error

runner = CliRunner()
PIPER = "piper:en_US-joe-medium"  # `--tts piper` takes the profile's model
LIMIT = "12"


def items_of(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "items.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """12 items of sample:en, contexts spoken by espeak-ng or Piper, rotated over the items."""
    output = tmp_path_factory.mktemp("mixed") / "b"
    result = runner.invoke(app, ["build", "sample:en", "--limit", LIMIT, "--seed", "2", "--speak", "context", "--no-validate", "-q",
                                 "--tts", "espeak", "--tts", "piper", "--voices", "espeak=en-us,espeak=en-gb-x-rp", "-o", str(output)])
    assert result.exit_code == 0, result.output
    return output


def test_engines_are_rotated_over_items_and_each_clip_records_its_engine(mixed: Path):
    tts = json.loads((mixed / "build.json").read_text())["tts"]
    assert tts["spec"] == f"espeak + {PIPER}"
    assert [(e["label"], e["engine"], e["voices"]) for e in tts["engines"]] == [("espeak", "espeak", ["en-us", "en-gb-x-rp"]),
                                                                              (PIPER, "piper", ["en_US-joe-medium"])]
    items = items_of(mixed)
    labels = ["espeak", PIPER]
    for item in items:
        engine, voice = item["audio"]["engines"]["context"], item["audio"]["voices"]["context"]
        assert engine == labels[engine_for(item["id"], 2)]  # the rotation, stable per item
        assert item["audio"]["engines"]["candidates"] is None  # --speak context
        if engine == "espeak":
            assert voice == voice_for(item["id"], ("en-us", "en-gb-x-rp"))  # the engine's own voices, rotated as before
        else:
            assert voice == "en_US-joe-medium"
    assert {item["audio"]["engines"]["context"] for item in items} == set(labels)
    # A re-run of the same command makes nothing.
    again = runner.invoke(app, ["build", "sample:en", "--limit", LIMIT, "--seed", "2", "--speak", "context", "--no-validate", "-q",
                                "--tts", "espeak", "--tts", "piper", "--voices", "espeak=en-us,espeak=en-gb-x-rp", "-o", str(mixed)])
    assert again.exit_code == 0 and "clips: 0 synthesized" in again.output, again.output


def test_every_clip_of_an_item_and_every_retry_is_its_engines(tmp_path: Path):
    build(BuildOptions(source="sample:en", output=tmp_path / "b", limit=4, seed=3, validate=False, tts=["espeak", "piper"]))
    for item in items_of(tmp_path / "b"):
        engines = item["audio"]["engines"]
        assert len(engines["candidates"]) == len(item["candidates"]) and set(engines["candidates"]) == {engines["context"]}
    # A clip that fails (no clip passes an error of -0) is spoken again by its item's engine, the next of its voices.
    voices = {"espeak": {"en-us", "en-gb-x-rp"}, PIPER: {"en_US-joe-medium"}}
    build(BuildOptions(source="sample:en", output=tmp_path / "v", limit=3, seed=4, speak="context", max_error=0.0, retries=1,
                       tts=["espeak", "piper"], voices=["espeak=en-us", "espeak=en-gb-x-rp"]))
    retried = 0
    for item in items_of(tmp_path / "v"):
        verdict, engine = item["validation"]["context"], item["audio"]["engines"]["context"]
        tried = [item["audio"]["voices"]["context"], *(attempt["voice"] for attempt in verdict.get("rejected") or [])]
        assert set(tried) <= voices[engine], (engine, tried)
        retried += verdict["tries"] > 1
    assert retried


def test_scoring_a_build_of_several_engines_breaks_the_degradation_down_by_engine(mixed: Path, tmp_path: Path):
    from s2sbench.scorer.run import ScoreOptions, score
    from tests.models import build_tiny_causal_lm, sample_texts

    lm = build_tiny_causal_lm(tmp_path / "lm", sample_texts())
    summary = score(ScoreOptions(source=str(mixed), output=tmp_path / "r", model=f"cascade:faster-whisper:base+{lm}", device="cpu"))
    built = {item["id"]: item["audio"]["engines"]["context"] for item in items_of(mixed)}
    facets = {line["id"]: line["facets"] for line in map(json.loads, (tmp_path / "r" / "scores.jsonl").read_text().splitlines()) if "facets" in line}
    assert {item: facet["engine"] for item, facet in facets.items()} == built
    for figures in summary.values():
        by_engine = figures["breakdowns"]["engine"]
        assert set(by_engine) <= {"espeak", PIPER} and sum(bucket["n"] for bucket in by_engine.values()) == figures["t2t"]["n"]
    assert {label for figures in summary.values() for label in figures["breakdowns"]["engine"]} == {"espeak", PIPER}
    assert "degradation (t2t - s2t) by engine" in (tmp_path / "r" / "summary.md").read_text()


def test_validation_reports_each_engines_pass_rate(mixed: Path, tmp_path: Path):
    """validation.md and validation.json count each engine's clips (a build of one engine has no such table)."""
    copy = tmp_path / "copy"
    shutil.copytree(mixed, copy)
    result = runner.invoke(app, ["validate", str(copy), "-q"])
    assert result.exit_code == 0, result.output
    built = Counter(item["audio"]["engines"]["context"] for item in items_of(copy))
    by_engine = json.loads((copy / "validation.json").read_text())["by"]["engine"]
    assert {engine: counts.get("passed", 0) + counts.get("failed", 0) for engine, counts in by_engine.items()} == built
    markdown = (copy / "validation.md").read_text()
    assert "Pass rate by engine" in markdown and all(f"| {engine} |" in markdown for engine in built)


def test_the_engine_travels_with_the_published_rows(mixed: Path, tmp_path: Path):
    pushed = runner.invoke(app, ["push", str(mixed), "--to-dir", str(tmp_path / "export"), "-q"])
    assert pushed.exit_code == 0, pushed.output
    card = (tmp_path / "export" / "README.md").read_text()
    assert "engines rotated over items: `espeak`: espeak (version" in card and f"`{PIPER}`: piper `en_US-joe-medium.onnx`" in card
    assert "| `engine` | string |" in card
    built = {item["id"]: item["audio"]["engines"]["context"] for item in items_of(mixed)}
    subsets = sorted({item["subset"] for item in items_of(mixed)})
    exported, pulled = {}, {}
    for subset in subsets:
        exported.update({item.id: item.facets["engine"]
                         for item in load_score_items(str(tmp_path / "export"), config=subset, audio_cache=tmp_path / "cache")})
        result = runner.invoke(app, ["pull", f"{tmp_path / 'export'}:{subset}", "-o", str(tmp_path / subset), "-q"])
        assert result.exit_code == 0, result.output
        pulled.update({item["id"]: item["audio"]["engines"]["context"] for item in items_of(tmp_path / subset)})
    assert exported == built and pulled == built


def test_one_engine_given_once_builds_what_it_always_built(tmp_path: Path):
    """``--tts espeak`` (or a list of one) is the default build: no engine per clip, build.json's tts as before."""
    build(BuildOptions(source="sample:en", output=tmp_path / "default", limit=3, validate=False))
    build(BuildOptions(source="sample:en", output=tmp_path / "listed", limit=3, validate=False, tts=["espeak"]))
    given = runner.invoke(app, ["build", "sample:en", "--limit", "3", "--no-validate", "-q", "--tts", "espeak", "-o", str(tmp_path / "given")])
    assert given.exit_code == 0, given.output
    default = tmp_path / "default"
    for other in (tmp_path / "listed", tmp_path / "given"):
        assert (other / "items.jsonl").read_bytes() == (default / "items.jsonl").read_bytes()
        assert json.loads((other / "build.json").read_text())["tts"] == json.loads((default / "build.json").read_text())["tts"]
    assert all("engines" not in item["audio"] for item in items_of(default))
    assert set(json.loads((default / "build.json").read_text())["tts"]) == {"spec", "engine", "model", "version", "library", "voices"}
    for item in load_score_items(str(default)):
        assert "engine" not in item.facets


@pytest.mark.parametrize("args, problem", [
    (["--tts", "espeak", "--tts", "espeak"], "--tts espeak: given twice"),
    (["--tts", "espeak", "--tts", "piper", "--voices", "en-us"], "name each voice's engine: ENGINE=VOICE"),
    (["--tts", "kokoro", "--tts", "espeak", "--voice", "x"], "--voice/--voices 'x': with several --tts, name each voice's engine"),
    (["--tts", "espeak", "--tts", "piper", "--voice", "kokoro=jf_alpha"], "'kokoro' is none of the engines given"),
    (["--tts", "espeak", "--tts", "piper", "--voices", "espeak=no-such-voice"], "no voice 'no-such-voice'"),
    (["--tts", "espeak", "--tts", "nope"], "unknown TTS engine 'nope'"),
])
def test_engines_and_their_voices_are_checked_before_anything_is_written(tmp_path: Path, args: list[str], problem: str):
    result = runner.invoke(app, ["build", "sample:en", "--limit", "2", "--no-validate", "-q", "-o", str(tmp_path / "b"), *args])
    one_line_error(result, problem)
    assert not (tmp_path / "b").exists()


def test_a_build_of_several_engines_resumes_from_a_copy(mixed: Path, tmp_path: Path):
    """An interrupted build's items are made again by the same engines (the rotation is the items')."""
    copy = tmp_path / "b"
    shutil.copytree(mixed, copy)
    lines = (copy / "items.jsonl").read_text().splitlines()
    (copy / "items.jsonl").write_text("\n".join(lines[:5]) + "\n")
    for item in items_of(mixed)[5:]:
        (copy / item["audio"]["context"]).unlink()
    again = runner.invoke(app, ["build", "sample:en", "--limit", LIMIT, "--seed", "2", "--speak", "context", "--no-validate", "-q",
                                "--tts", "espeak", "--tts", "piper", "--voices", "espeak=en-us,espeak=en-gb-x-rp", "-o", str(copy)])
    assert again.exit_code == 0, again.output
    assert (copy / "items.jsonl").read_text() == (mixed / "items.jsonl").read_text()
