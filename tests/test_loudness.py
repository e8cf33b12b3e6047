"""Clips levelled by integrated loudness (ITU-R BS.1770, measured with pyloudnorm): every clip, a
synthesized one or a person's recording, meets at ``--loudness-lufs`` (-23 LUFS by default), peaks
under -1 dBFS; a clip shorter than one 400 ms gating block is measured as one block of its own length.
A build levelled before LUFS (its build.json records ``loudness_dbfs``) still opens, validates,
pushes and scores, and keeps its rule and its clips when resumed."""

from __future__ import annotations

import io
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app
from s2sbench.errors import S2SBenchError
from s2sbench.synth import TTSSpec, VoiceSettings, load_engine
from s2sbench.synth.postprocess import AudioOptions, encode, finish, integrated_loudness, normalize_lufs
from tests.test_faults import one_line_error
from tests.test_recordings import first_items, speak_like_a_person

runner = CliRunner()
RATE = 16000


def measured(path_or_bytes) -> float:
    """A clip's integrated loudness as anyone measures it: pyloudnorm's BS.1770 meter, 400 ms blocks."""
    samples, rate = sf.read(path_or_bytes if isinstance(path_or_bytes, Path) else io.BytesIO(path_or_bytes), dtype="float64")
    return pyloudnorm.Meter(rate).integrated_loudness(samples)


def peak_dbfs(samples: np.ndarray) -> float:
    return 20 * math.log10(float(np.max(np.abs(samples))))


def sine(seconds: float, amplitude: float, frequency: float = 1000.0) -> np.ndarray:
    t = np.arange(int(round(seconds * RATE))) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.mark.parametrize("target", [-23.0, -30.0, -20.0])
def test_a_clip_normalized_to_the_target_measures_it_with_pyloudnorm(target: float):
    samples, rate = load_engine(TTSSpec("espeak")).synthesize("Karen was assigned a roommate her first year of college.", "en", VoiceSettings())
    options = AudioOptions(loudness_lufs=target)
    clip = encode(finish(samples, rate, options), options)  # as written into the build: 16-bit PCM
    assert abs(measured(clip) - target) < 0.5, measured(clip)
    decoded, _ = sf.read(io.BytesIO(clip))
    assert peak_dbfs(decoded) <= -1.0 + 1e-3


def test_the_peak_ceiling_wins_over_the_target():
    """A clip whose peaks would pass -1 dBFS at the target stays under it, quieter than the target."""
    spiky = sine(1.0, 0.01)
    spiky[8000] = 0.9  # one click, 40 dB above the tone
    levelled = normalize_lufs(spiky, RATE, -23.0)
    assert peak_dbfs(levelled) == pytest.approx(-1.0, abs=1e-3)
    assert pyloudnorm.Meter(RATE).integrated_loudness(levelled.astype(np.float64)) < -23.0 - 0.5


def test_a_clip_shorter_than_a_gating_block_is_measured_as_one_block_of_its_own_length():
    short = sine(0.25, 0.02)  # 250 ms: fewer samples than one 400 ms block
    with pytest.raises(ValueError, match="block size"):
        pyloudnorm.Meter(RATE).integrated_loudness(short.astype(np.float64))  # the standard's meter cannot say
    levelled = normalize_lufs(short, RATE, -23.0)
    assert integrated_loudness(levelled, RATE) == pytest.approx(-23.0, abs=0.01)
    # One block over the whole clip: the K-weighted mean square, where a 1 kHz sine of amplitude A
    # reads 20 log10(A) - 3.01 LUFS (BS.1770's calibration), as a long one does through the meter.
    amplitude = float(np.max(np.abs(levelled)))
    assert 20 * math.log10(amplitude) - 3.01 == pytest.approx(-23.0, abs=0.2)
    long = normalize_lufs(sine(2.0, 0.02), RATE, -23.0)
    assert pyloudnorm.Meter(RATE).integrated_loudness(long.astype(np.float64)) == pytest.approx(-23.0, abs=0.01)
    assert float(np.max(np.abs(long))) == pytest.approx(amplitude, rel=0.03)  # the short and the long clip meet at one level
    assert integrated_loudness(np.zeros(0, dtype=np.float32), RATE) == -math.inf


def test_quiet_and_silent_clips():
    """Speech below the standard's absolute gate (-70 LUFS) is levelled all the same (measured at unit
    peak); a clip with no signal is left as it is."""
    whisper = sine(1.0, 10 ** (-80 / 20))  # about -83 LUFS: every block under the absolute gate
    assert pyloudnorm.Meter(RATE).integrated_loudness(whisper.astype(np.float64)) == -math.inf
    assert integrated_loudness(normalize_lufs(whisper, RATE, -23.0), RATE) == pytest.approx(-23.0, abs=0.01)
    silence = np.zeros(RATE, dtype=np.float32)
    assert normalize_lufs(silence, RATE, -23.0) is silence


def test_a_recording_and_a_synthesized_clip_of_one_build_meet_at_one_loudness(tmp_path: Path):
    """A person's recording (another voice, quieter, 22.05 kHz stereo) and the TTS's clips of the same
    build measure the same loudness, the one build.json records."""
    folder = tmp_path / "rec" / "ana"
    for item in first_items(2):
        (folder / item.id).mkdir(parents=True)
        speak_like_a_person(item.context, folder / item.id / "context.wav")
    result = runner.invoke(app, ["build", "sample:en", "--limit", "4", "--speak", "context", "--no-validate", "-q", "-o", str(tmp_path / "b"),
                                 "--recordings", str(folder)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "b" / "build.json").read_text())
    assert manifest["audio"] == {"sample_rate": 16000, "format": "wav", "trim_below_db": 40.0, "pad_seconds": 0.1, "loudness_lufs": -23.0}
    assert "pyloudnorm" in manifest["versions"]
    items = [json.loads(line) for line in (tmp_path / "b" / "items.jsonl").read_text().splitlines()]
    loudness = {item["audio"]["voices"]["context"]: measured(tmp_path / "b" / item["audio"]["context"]) for item in items}
    assert set(loudness) == {"human:ana", "en-us"}
    assert abs(loudness["human:ana"] - loudness["en-us"]) < 0.5, loudness
    assert all(abs(value + 23.0) < 0.5 for value in loudness.values()), loudness
    assert measured(folder / items[0]["id"] / "context.wav") < -23.0 - 3  # the recording itself is far quieter than its clip


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-80", "0"])
def test_loudness_lufs_out_of_range_is_one_line(tmp_path: Path, value: str):
    result = runner.invoke(app, ["build", "sample:en", "--limit", "1", "--no-validate", "-q", "-o", str(tmp_path / "b"), f"--loudness-lufs={value}"])
    one_line_error(result, "--loudness-lufs", "LUFS")
    assert not (tmp_path / "b").exists()


def test_audio_options_read_back_from_build_json():
    old = {"sample_rate": 16000, "format": "wav", "trim_below_db": 40.0, "pad_seconds": 0.1, "loudness_dbfs": -20.0}
    options = AudioOptions.from_dict(old)
    assert options.loudness_lufs is None and options.as_dict() == old  # the old rule, and its clip keys
    assert replace(options, sample_rate=22050).as_dict() == {**old, "sample_rate": 22050}
    assert AudioOptions.from_dict({**old, "loudness_lufs": -23.0, "loudness_dbfs": None}) == AudioOptions()
    assert AudioOptions.from_dict({}) == AudioOptions() and AudioOptions().loudness_text == "-23 LUFS" and options.loudness_text == "-20 dBFS RMS"
    for bad, field in (({"loudness_lufs": "loud"}, "audio.loudness_lufs"), ({"loudness_lufs": float("nan")}, "audio.loudness_lufs"),
                       ({"sample_rate": "fast"}, "audio.sample_rate"), ({"sample_rate": 0}, "audio.sample_rate"),
                       ({"format": "../x"}, "audio.format"), ({"loudness_lufs": None}, "audio:")):
        with pytest.raises(S2SBenchError, match=field):
            AudioOptions.from_dict(bad, "x/build.json")
    with pytest.raises(ValueError):
        AudioOptions(loudness_dbfs=-20.0)  # two rules at once


@pytest.fixture(scope="module")
def old_build(tmp_path_factory) -> Path:
    """A build as s2sbench made them before LUFS: build.json's audio holds ``loudness_dbfs`` alone."""
    output = tmp_path_factory.mktemp("old") / "b"
    build(BuildOptions(source="sample:en", output=output, limit=3, speak="context", validate=False,
                       audio=AudioOptions(loudness_lufs=None, loudness_dbfs=-20.0)))
    audio = json.loads((output / "build.json").read_text())["audio"]
    assert audio == {"sample_rate": 16000, "format": "wav", "trim_below_db": 40.0, "pad_seconds": 0.1, "loudness_dbfs": -20.0}
    return output


def test_a_build_levelled_before_lufs_keeps_its_rule_and_clips_when_resumed(old_build: Path, tmp_path: Path):
    copy = tmp_path / "b"
    shutil.copytree(old_build, copy)
    items = (copy / "items.jsonl").read_bytes()
    args = ["build", "sample:en", "--limit", "3", "--speak", "context", "--no-validate", "-q", "-o", str(copy)]
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "clips: 0 synthesized" in again.output
    note = [line for line in again.stderr.splitlines() if line.startswith("note: ")]
    assert len(note) == 1 and "-20 dBFS RMS" in note[0] and "--loudness-lufs -23" in note[0], again.stderr
    assert (copy / "items.jsonl").read_bytes() == items
    assert "loudness_lufs" not in json.loads((copy / "build.json").read_text())["audio"]
    # Asked for, the new rule levels every clip anew (new clips, new names: the old ones stay on disk).
    relevel = runner.invoke(app, [*args, "--loudness-lufs", "-23"])
    assert relevel.exit_code == 0 and "clips: 3 synthesized" in relevel.output and "note:" not in relevel.stderr, relevel.output
    assert json.loads((copy / "build.json").read_text())["audio"]["loudness_lufs"] == -23.0
    for item in map(json.loads, (copy / "items.jsonl").read_text().splitlines()):
        assert abs(measured(copy / item["audio"]["context"]) + 23.0) < 0.5
        assert item["audio"]["context"] not in items.decode()


def test_a_build_levelled_before_lufs_validates_pushes_scores_and_augments(old_build: Path, tmp_path: Path):
    from s2sbench.augment import AugmentOptions, augment
    from s2sbench.scorer.run import ScoreOptions, score
    from tests.models import build_tiny_causal_lm, sample_texts

    copy = tmp_path / "b"
    shutil.copytree(old_build, copy)
    validated = runner.invoke(app, ["validate", str(copy), "-q"])
    assert validated.exit_code == 0, validated.output
    assert all(item["validation"]["context"]["error"] is not None for item in map(json.loads, (copy / "items.jsonl").read_text().splitlines()))
    pushed = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "export"), "-q", "--include-failed"])
    assert pushed.exit_code == 0, pushed.output
    assert "level -20 dBFS average (RMS) level" in (tmp_path / "export" / "README.md").read_text()
    lm = build_tiny_causal_lm(tmp_path / "lm", sample_texts())
    summary = score(ScoreOptions(source=str(copy), output=tmp_path / "r", model=f"cascade:faster-whisper:base+{lm}", device="cpu", include_failed=True))
    assert all("s2t" in figures for figures in summary.values())
    # A variant is finished under its parent's rule (its clip keys hold the parent's audio options).
    variants = augment(AugmentOptions(build=copy, output=tmp_path / "robust", speed=(1.1,), validate=False, include_failed=True))
    assert variants[0].items == 3 and variants[0].clips_made == 3
    assert json.loads((variants[0].path / "build.json").read_text())["audio"]["loudness_dbfs"] == -20.0
