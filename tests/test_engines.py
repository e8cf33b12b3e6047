"""Each TTS engine through the build: Coqui (tiny random VITS), piper, espeak; post-processing."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2sbench import BuildOptions, EngineError, build
from s2sbench.synth import TTSSpec, VoiceSettings, load_engine
from s2sbench.synth.postprocess import AudioOptions, finish, to_float_mono, trim_silence


def read_items(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "items.jsonl").read_text().splitlines()]


def test_coqui_tiny_vits_builds_through_model_path_and_config_path(tiny_vits: Path, tmp_path: Path):
    output = tmp_path / "coqui"
    summary = build(BuildOptions(validate=False, source="sample:en", output=output, tts=f"coqui:{tiny_vits}", limit=2))
    manifest = json.loads((output / "build.json").read_text())
    assert manifest["tts"]["engine"] == "coqui" and str(tiny_vits.resolve()) in manifest["tts"]["model"]
    assert summary.clips_synthesized == sum(1 + len(i["candidates"]) for i in read_items(output))
    for item in read_items(output):
        info = sf.info(output / item["audio"]["context"])
        assert (info.samplerate, info.channels) == (16000, 1) and info.frames > 1600


def test_coqui_clips_are_reproducible_under_a_seed(tiny_vits: Path):
    engine = load_engine(TTSSpec("coqui", str(tiny_vits), device="cpu"))
    first, rate = engine.synthesize("a short test sentence", "en", VoiceSettings(seed=3))
    again, _ = engine.synthesize("a short test sentence", "en", VoiceSettings(seed=3))
    other, _ = engine.synthesize("a short test sentence", "en", VoiceSettings(seed=4))
    assert rate == 22050 and np.array_equal(first, again)
    assert not (len(first) == len(other) and np.array_equal(first, other))


def test_coqui_directory_without_model_file_is_a_clear_error(tmp_path: Path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EngineError, match="needs config.json and a model file"):
        load_engine(TTSSpec("coqui", str(tmp_path)))


@pytest.mark.skipif(importlib.util.find_spec("piper") is None, reason="piper-tts not installed")
def test_piper_voice_from_its_package_builds(tmp_path: Path):
    output = tmp_path / "piper"
    build(BuildOptions(validate=False, source="sample:en", output=output, tts="piper", limit=1, speak="context"))
    item = read_items(output)[0]
    assert json.loads((output / "build.json").read_text())["tts"]["model"] == "en_US-joe-medium.onnx"
    assert sf.info(output / item["audio"]["context"]).duration > 2.0


@pytest.mark.skipif(importlib.util.find_spec("piper") is None, reason="piper-tts not installed")
def test_piper_refuses_a_speaker_it_does_not_have_before_any_clip(tmp_path: Path):
    from s2sbench.errors import EngineError

    with pytest.raises(EngineError, match=r"piper voice en_US-joe-medium.onnx has no speaker 'alice' \(speakers: ids 0..0\)"):
        build(BuildOptions(validate=False, source="sample:en", output=tmp_path / "b", tts="piper", voices=["alice"], limit=1, speak="context"))
    assert not list((tmp_path / "b").rglob("*.wav"))
    engine = load_engine(TTSSpec("piper"))
    assert [engine.speaker_id(v) for v in (None, "0", "en_US-joe-medium")] == [None, 0, None]


def test_piper_device_choice():
    from s2sbench.synth.piper import _use_cuda

    assert _use_cuda("cuda") and _use_cuda("cuda:0") and not _use_cuda("cpu")
    with pytest.raises(EngineError, match="CUDA_VISIBLE_DEVICES=1"):  # onnxruntime would take the first GPU, silently
        _use_cuda("cuda:1")
    import onnxruntime

    assert _use_cuda("auto") == ("CUDAExecutionProvider" in onnxruntime.get_available_providers())


def test_espeak_refuses_a_voice_it_does_not_have_before_any_clip(tmp_path: Path):
    from s2sbench.errors import EngineError

    with pytest.raises(EngineError, match=r"espeak-ng has no voice 'en-gb'; close: en-gb-x-rp"):
        build(BuildOptions(validate=False, source="sample:en", output=tmp_path / "b", voices=["en-us", "en-gb"], limit=2, speak="context"))
    assert not list((tmp_path / "b").rglob("*.wav"))


def test_espeak_is_identical_whatever_was_said_before():
    engine = load_engine(TTSSpec("espeak"))
    settings = VoiceSettings(voice="en-us")
    first, _ = engine.synthesize("The bread was warm.", "en", settings)
    engine.synthesize("Something quite different and longer comes in between.", "en", settings)
    again, _ = engine.synthesize("The bread was warm.", "en", settings)
    assert np.array_equal(first, again)


def test_espeak_speaks_in_a_zygote_the_samples_a_child_of_this_process_would():
    """Clips are content addressed: the zygote (a small process of its own) must give the bytes that a
    fork of this process gives, and a zygote that died is replaced by that fork, with the same bytes."""
    from s2sbench.synth import espeak

    engine = load_engine(TTSSpec("espeak"))
    settings = VoiceSettings(voice="en-us")
    spoken, _ = engine.synthesize("The bread was warm.", "en", settings)
    zygote = espeak._ZYGOTE["process"]
    assert zygote is not None and zygote.poll() is None and zygote.pid != os.getpid()
    code, data = espeak._spoken_in_child("en-us", 175, "The bread was warm.")
    assert code == 0 and np.array_equal(spoken, np.frombuffer(data, dtype="<i2"))
    zygote.kill()
    zygote.wait()
    again, _ = engine.synthesize("The bread was warm.", "en", settings)
    assert np.array_equal(spoken, again) and espeak._ZYGOTE["process"] is None
    espeak._ZYGOTE.clear()  # the next synthesis starts a zygote again
    engine.synthesize("The bread was warm.", "en", settings)
    assert espeak._ZYGOTE["process"].poll() is None
    espeak._ZYGOTE["process"].stdin.close()  # what the process that started it does by ending
    assert espeak._ZYGOTE["process"].wait(timeout=30) == 0
    espeak._ZYGOTE.clear()


def test_espeak_unknown_voice_is_a_clear_error():
    with pytest.raises(EngineError, match="no voice 'xx-nonexistent'"):
        load_engine(TTSSpec("espeak")).synthesize("hello", "en", VoiceSettings(voice="xx-nonexistent"))


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(EngineError, match="unknown TTS engine 'festival'"):
        TTSSpec.parse("festival:x")


def test_post_processing_makes_mono_resampled_trimmed_clips():
    rate = 22050
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate).astype(np.float32)
    stereo = np.stack([np.concatenate([np.zeros(rate), tone, np.zeros(rate // 2)])] * 2, axis=1)
    out = finish((stereo * 32767).astype(np.int16), rate, AudioOptions(sample_rate=16000, pad_seconds=0.1))
    assert out.ndim == 1
    assert abs(len(out) / 16000 - 1.2) < 0.03  # one second of tone plus two 0.1 s pads
    import pyloudnorm

    assert abs(pyloudnorm.Meter(16000).integrated_loudness(out.astype(np.float64)) - (-23.0)) < 0.5  # BS.1770 integrated loudness
    old_rule = finish((stereo * 32767).astype(np.int16), rate, AudioOptions(sample_rate=16000, pad_seconds=0.1, loudness_lufs=None, loudness_dbfs=-20.0))
    level = 20 * np.log10(np.sqrt(np.mean(old_rule**2)))  # builds levelled before LUFS: the whole clip's RMS, pads included
    assert abs(level - (-20.0)) < 0.5


def test_trim_of_silence_only_gives_just_the_pads():
    out = trim_silence(np.zeros(5000, dtype=np.float32), 16000, 40.0, 0.05)
    assert len(out) == 1600 and not out.any()


def test_int16_input_is_scaled_to_unit_range():
    assert to_float_mono(np.array([32767, -32767], dtype=np.int16)).tolist() == pytest.approx([1.0, -1.0])


def test_flac_output(tmp_path: Path):
    build(BuildOptions(validate=False, source="sample:en", output=tmp_path / "f", limit=1, speak="context", audio=AudioOptions(format="flac")))
    relative = read_items(tmp_path / "f")[0]["audio"]["context"]
    assert relative.endswith(".flac") and sf.info(tmp_path / "f" / relative).format == "FLAC"


def test_voices_lists_what_each_engine_speaks(tiny_vits):
    from typer.testing import CliRunner

    from s2sbench.cli import app

    runner = CliRunner()
    espeak = runner.invoke(app, ["voices", "espeak", "en"])
    assert espeak.exit_code == 0 and {"en-us", "en-gb-x-rp"} <= {line.split()[0].lower() for line in espeak.output.splitlines()[1:]}
    assert "sw" not in {line.split()[0] for line in espeak.output.splitlines()[1:]}
    none = runner.invoke(app, ["voices", "espeak", "zz"])
    assert none.exit_code == 2 and "no voice for 'zz'" in none.stderr
    coqui = runner.invoke(app, ["voices", f"coqui:{tiny_vits}"])
    assert coqui.exit_code == 0 and "single speaker" in coqui.output
    if importlib.util.find_spec("piper") is not None:
        piper = runner.invoke(app, ["voices", "piper", "en"])
        assert piper.exit_code == 0 and "en_US-joe-medium" in piper.output


def test_identities_read_without_a_model_equal_the_loaded_engines(tiny_vits: Path, whisper):
    from s2sbench.synth import engine_identity
    from s2sbench.validate.asr import recognizer_identity

    specs = [TTSSpec("espeak"), TTSSpec("coqui", str(tiny_vits), device="cpu")]
    if importlib.util.find_spec("piper") is not None:
        specs.append(TTSSpec("piper", device="cpu"))
    for spec in specs:
        assert engine_identity(spec) == load_engine(spec).identity(), spec
    assert recognizer_identity(whisper.spec) == whisper.identity()
    assert whisper.identity()["weights"] == "offline-package"
