"""People's recordings in a build (``s2s build --recordings DIR``): found by item id and part, or by a
recordings.csv; resampled, trimmed and levelled like synthesized clips; checked by the same ASR round
trip; voiced ``human:NAME``. Hostile folders end in one line."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from s2sbench.builders import BuildContext, iter_source_items
from s2sbench.cli import app
from s2sbench.profiles import load_profile
from s2sbench.synth import TTSSpec, VoiceSettings, load_engine
from tests.test_faults import one_line_error

runner = CliRunner()


def first_items(n: int) -> list:
    return list(itertools.islice(iter_source_items("sample:en", None, BuildContext(lang="en", profile=load_profile("en"))), n))


def speak_like_a_person(text: str, path: Path) -> None:
    """A recording as a person's device makes one: another voice, 22.05 kHz, stereo, a second of
    room silence before the speech (which the build trims)."""
    samples, rate = load_engine(TTSSpec("espeak")).synthesize(text, "en", VoiceSettings(voice="en-gb-x-rp"))
    samples = np.asarray(samples, dtype=np.float32)
    samples = samples / 32768.0 if np.abs(samples).max() > 1.5 else samples
    from s2sbench.synth.postprocess import resample

    mono = np.concatenate([np.zeros(22050, dtype=np.float32), resample(samples, rate, 22050) * 0.3])
    sf.write(path, np.stack([mono, mono], axis=1), 22050)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    """ana's recordings of the contexts of sample:en's first four items (the third as a browser's
    webm/opus when FFmpeg is installed)."""
    folder = tmp_path_factory.mktemp("rec") / "ana"
    for number, item in enumerate(first_items(4)):
        (folder / item.id).mkdir(parents=True)
        speak_like_a_person(item.context, folder / item.id / "context.wav")
        if number == 2 and shutil.which("ffmpeg"):
            wav = folder / item.id / "context.wav"
            subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), "-c:a", "libopus", str(wav.with_suffix(".webm"))], check=True)
            wav.unlink()
    (folder / "speaker.txt").write_text("ana\n")
    return folder


def build_args(output: Path, *extra: str) -> list[str]:
    return ["build", "sample:en", "--limit", "4", "-o", str(output), "--speak", "context", "-q", *extra]


def test_a_recordings_folder_builds_into_a_validated_build_voiced_by_its_speaker(recordings: Path, tmp_path: Path):
    result = runner.invoke(app, build_args(tmp_path / "b", "--recordings", str(recordings), "--recordings-only"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "b" / "build.json").read_text())
    assert manifest["recordings"] == {"engine": "human", "folder": "ana", "speakers": ["ana"], "clips": 4, "digest": manifest["recordings"]["digest"], "only": True}
    items = [json.loads(line) for line in (tmp_path / "b" / "items.jsonl").read_text().splitlines()]
    assert [item["id"] for item in items] == [item.id for item in first_items(4)]
    for item in items:
        assert item["audio"]["voices"]["context"] == "human:ana"
        verdict = item["validation"]["context"]
        assert verdict["passed"] and verdict["error"] <= 0.35, verdict  # heard back by Whisper base
        clip = tmp_path / "b" / item["audio"]["context"]
        info = sf.info(str(clip))
        assert (info.samplerate, info.channels) == (16000, 1)  # resampled and mixed down
        samples, _ = sf.read(str(clip))
        assert np.argmax(np.abs(samples) > 0.01) < 0.5 * 16000  # the second of room silence is trimmed to the pad
    assert str(recordings) not in (tmp_path / "b" / "build.json").read_text()  # the folder by its name
    again = runner.invoke(app, build_args(tmp_path / "b", "--recordings", str(recordings), "--recordings-only"))
    assert again.exit_code == 0 and "clips: 0 synthesized" in again.output, again.output  # a re-run remakes nothing
    assert (tmp_path / "b" / "items.jsonl").read_text().splitlines() == [json.dumps(item, ensure_ascii=False) for item in items]


def test_items_without_a_recording_are_spoken_by_the_tts_or_left_out(recordings: Path, tmp_path: Path):
    partial = tmp_path / "two"
    shutil.copytree(recordings, partial)
    for item in first_items(4)[2:]:
        shutil.rmtree(partial / item.id)
    mixed = runner.invoke(app, build_args(tmp_path / "mixed", "--recordings", str(partial), "--no-validate"))
    assert mixed.exit_code == 0, mixed.output
    voices = [json.loads(line)["audio"]["voices"]["context"] for line in (tmp_path / "mixed" / "items.jsonl").read_text().splitlines()]
    assert voices == ["human:ana", "human:ana", "en-us", "en-us"]  # speaker.txt names ana
    only = runner.invoke(app, build_args(tmp_path / "only", "--recordings", str(partial), "--recordings-only", "--no-validate"))
    assert only.exit_code == 0, only.output
    assert len((tmp_path / "only" / "items.jsonl").read_text().splitlines()) == 2


def test_a_recordings_csv_names_each_clip_and_its_speaker(recordings: Path, tmp_path: Path):
    folder = tmp_path / "csv"
    folder.mkdir()
    rows = ["id,part,path,speaker"]
    for number, item in enumerate(first_items(2)):
        source = next((recordings / item.id).iterdir())
        shutil.copy(source, folder / f"take{number}{source.suffix}")
        rows.append(f"{item.id},context,take{number}{source.suffix},{['ana', 'Bo Li'][number]}")
    (folder / "recordings.csv").write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, build_args(tmp_path / "b", "--recordings", str(folder), "--recordings-only", "--no-validate"))
    assert result.exit_code == 0, result.output
    voices = [json.loads(line)["audio"]["voices"]["context"] for line in (tmp_path / "b" / "items.jsonl").read_text().splitlines()]
    assert voices == ["human:ana", "human:Bo Li"]


@pytest.mark.parametrize(("row", "problem"), [
    ("ID,context,../outside.wav,ana", "leaves the directory"),
    ("ID,context,/etc/passwd,ana", "is not a path inside the directory"),
    ("ID,middle,take.wav,ana", "part: 'middle' is not context or candidate-K"),
    ("ID,context,take.wav,../ana", "speaker:"),
    ("../x,context,take.wav,ana", "id:"),
    ("ID,context,notes.txt,ana", "not a recording"),
])
def test_a_hostile_recordings_csv_is_one_line_before_any_work(tmp_path: Path, row: str, problem: str):
    folder = tmp_path / "rec"
    folder.mkdir()
    sf.write(folder / "take.wav", np.zeros(1600, dtype=np.float32), 16000)
    (folder / "notes.txt").write_text("hello")
    (tmp_path / "outside.wav").write_bytes((folder / "take.wav").read_bytes())
    (folder / "recordings.csv").write_text("id,part,path,speaker\n" + row.replace("ID", first_items(1)[0].id) + "\n")
    one_line_error(runner.invoke(app, build_args(tmp_path / "b", "--recordings", str(folder))), "recordings.csv:2:", problem)
    assert not (tmp_path / "b").exists()


def test_a_recording_that_is_not_audio_is_one_line_naming_it(tmp_path: Path):
    folder = tmp_path / "rec"
    item = first_items(1)[0]
    (folder / item.id).mkdir(parents=True)
    (folder / item.id / "context.wav").write_bytes(b"RIFF not really a wave file")
    result = runner.invoke(app, build_args(tmp_path / "b", "--recordings", str(folder), "--recordings-only", "--no-validate"))
    assert result.exit_code == 1 and "1 item could not be spoken" in result.stderr, result.output  # as any item an engine cannot speak
    failed = (tmp_path / "b" / "failed.jsonl")
    assert failed.is_file() and "context.wav: not audio that soundfile or FFmpeg reads" in failed.read_text()
    one_line_error(runner.invoke(app, build_args(tmp_path / "c", "--recordings-only")), "--recordings-only goes with --recordings DIR")


def _silence(item, path: Path) -> None:
    sf.write(path, np.zeros(3 * 16000, dtype=np.float32), 16000)


def _clipped_square(item, path: Path) -> None:
    sf.write(path, np.sign(np.sin(2 * np.pi * 220 * np.arange(3 * 16000) / 16000)).astype(np.float32), 16000)


def _a_tenth_of_a_second(item, path: Path) -> None:
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * np.arange(1600) / 16000)).astype(np.float32), 16000)


def _stereo_8k_24_bit(item, path: Path) -> None:
    from s2sbench.synth.postprocess import resample

    speak_like_a_person(item.context, path)
    samples, rate = sf.read(path, dtype="float32")
    mono = resample(samples[:, 0], rate, 8000)
    sf.write(path, np.stack([mono, mono], axis=1), 8000, subtype="PCM_24")


def _mp3_named_wav(item, path: Path) -> None:
    speak_like_a_person(item.context, path.with_suffix(".tmp.wav"))
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path.with_suffix(".tmp.wav")), "-f", "mp3", str(path)], check=True)
    path.with_suffix(".tmp.wav").unlink()


# Recordings people hand in, one row each: how it is made, and the verdict its clip gets (None: the
# clip passes). What is not speech fails the round trip; what is speech in any format passes.
ODD_RECORDINGS = {
    "digital_silence": (_silence, "silent"),
    "clipped_square_wave": (_clipped_square, "asr_error"),
    "a_tenth_of_a_second": (_a_tenth_of_a_second, "asr_error"),
    "stereo_8khz_24_bit": (_stereo_8k_24_bit, None),
    "mp3_named_wav": (_mp3_named_wav, None),
}


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="FFmpeg makes the mp3")
def test_odd_recordings_fail_as_what_they_are_and_speech_in_any_format_passes(tmp_path: Path):
    folder = tmp_path / "rec"
    items = first_items(len(ODD_RECORDINGS))
    for item, (make, _) in zip(items, ODD_RECORDINGS.values()):
        (folder / item.id).mkdir(parents=True)
        make(item, folder / item.id / "context.wav")
    result = runner.invoke(app, ["build", "sample:en", "--limit", str(len(items)), "-o", str(tmp_path / "b"), "--speak", "context", "-q",
                                 "--recordings", str(folder), "--recordings-only"])
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line)["validation"]["context"] for line in (tmp_path / "b" / "items.jsonl").read_text().splitlines()]
    assert len(verdicts) == len(ODD_RECORDINGS)
    for name, verdict, (_, reason) in zip(ODD_RECORDINGS, verdicts, ODD_RECORDINGS.values()):
        if reason is None:
            assert verdict["passed"], (name, verdict)
        else:
            assert not verdict["passed"] and reason in verdict["reasons"], (name, verdict)


def test_an_hour_long_recording_is_one_item_error_measured_before_it_is_decoded(tmp_path: Path):
    """An hour of FLAC (1 MB on disk, 230 MB of float32 decoded) in a folder of recordings: its item
    is not made, named with its length in failed.jsonl, and the build never holds it whole."""
    import tracemalloc

    folder = tmp_path / "rec"
    long_item, short_item = first_items(2)
    (folder / long_item.id).mkdir(parents=True)
    with sf.SoundFile(folder / long_item.id / "context.flac", "w", samplerate=16000, channels=1, format="FLAC", subtype="PCM_16") as handle:
        for _ in range(3600):
            handle.write(np.zeros(16000, dtype=np.int16))
    (folder / short_item.id).mkdir(parents=True)
    speak_like_a_person(short_item.context, folder / short_item.id / "context.wav")
    tracemalloc.start()
    try:
        result = runner.invoke(app, ["build", "sample:en", "--limit", "2", "-o", str(tmp_path / "b"), "--speak", "context", "-q",
                                     "--recordings", str(folder), "--recordings-only", "--no-validate"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1 and "1 item could not be spoken" in result.stderr, result.output
    failed = [json.loads(line) for line in (tmp_path / "b" / "failed.jsonl").read_text().splitlines()]
    assert [row["id"] for row in failed] == [long_item.id] and "is 3600 s, longer than 600 s" in json.dumps(failed), failed
    assert [json.loads(line)["id"] for line in (tmp_path / "b" / "items.jsonl").read_text().splitlines()] == [short_item.id]
    assert peak < 100 * 2**20, peak
