"""Batch-native stages: the same build directory, byte for byte, whatever the batch size.

The recognizer hears a batch's clips in one call (faster-whisper: one encoder batch and one generate
call for every clip of up to 30 s), so the one thing that could make builds differ is a transcript
that depends on its neighbours in the batch. These tests build with retries (a work goes round
again in a later batch) at batch sizes 1, 2 and 8 and compare every file of the build directories.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2sbench import BuildOptions, build
from s2sbench.synth import ENGINES, TTSSpec, VoiceSettings
from s2sbench.synth.espeak import EspeakEngine
from tests.test_build import write_items

VOLATILE = ("created", "updated")  # build.json's timestamps


class WrongFirstTryForSome(EspeakEngine):
    """espeak-ng that speaks an unrelated sentence on the first try of every other text (by a stable
    hash), so some works go round again while their neighbours finish: the retries and the reorder
    of finished items are exercised whatever the recognizer hears of the right texts."""

    def synthesize(self, text: str, language: str, settings: VoiceSettings):
        if settings.seed == 0 and hashlib.md5(text.encode()).digest()[0] % 2:
            text = "Purple elephants dance quietly under the frozen waterfall tonight."
        return super().synthesize(text, language, settings)


@pytest.fixture
def some_wrong(monkeypatch):
    monkeypatch.setitem(ENGINES, "some-wrong", lambda spec: WrongFirstTryForSome(TTSSpec("espeak")))


def directory_snapshot(root: Path) -> dict[str, str]:
    """Every file of a build directory by its SHA-256, without build.json's timestamps (in build.json
    and where report.html shows them)."""
    manifest = json.loads((root / "build.json").read_text(encoding="utf-8"))
    files = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name == ".lock":
            continue
        data = path.read_bytes()
        if path.name == "build.json":
            data = json.dumps({k: v for k, v in manifest.items() if k not in VOLATILE}, sort_keys=True).encode()
        elif path.name == "report.html":
            for key in VOLATILE:
                data = data.replace(manifest[key].encode(), f"<{key}>".encode())
        files[str(path.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return files


def test_the_build_directory_is_the_same_byte_for_byte_at_batch_sizes_1_2_and_8(some_wrong, tmp_path: Path):
    # --asr-window auto: clips of several windows share a batch, and failing ones are heard again at 30 s.
    source = write_items(tmp_path / "src.jsonl", 6)
    snapshots = {}
    for batch_size in (1, 2, 8):
        output = tmp_path / f"batch{batch_size}" / "build"  # one name: report.html shows it
        build(BuildOptions(source=str(source), output=output, tts="some-wrong", retries=1, batch_size=batch_size, asr_window="auto"))
        snapshots[batch_size] = directory_snapshot(output)

    items = [json.loads(line) for line in (tmp_path / "batch1" / "build" / "items.jsonl").read_text().splitlines()]
    tries = [v["tries"] for item in items for v in [item["validation"]["context"], *item["validation"]["candidates"]]]
    assert 1 in tries and 2 in tries  # some clips went round again, some did not
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)  # source order
    assert any(name.startswith(".verdicts/") for name in snapshots[1]) and "report.html" in snapshots[1]
    windows = {v["window"] for item in items for v in [item["validation"]["context"], *item["validation"]["candidates"]]}
    assert len(windows) >= 2 and 30 in windows  # short windows, and the 30 s window deciding the wrong first tries
    assert snapshots[2] == snapshots[1]
    assert snapshots[8] == snapshots[1]


@pytest.mark.parametrize("window", ["30", "auto"])
def test_a_transcript_does_not_depend_on_the_clips_batched_with_it(sample_en_build: Path, whisper, window: str):
    whisper = whisper.with_window(window)
    clips = [sf.read(path, dtype="float32") for path in sorted((sample_en_build / "audio").rglob("*.wav"))[:9]]
    alone = [whisper.transcribe_batch([clip], "en")[0] for clip in clips]
    assert whisper.transcribe_batch(clips, "en") == alone  # 4 windows per call here: three calls, the last of one
    assert whisper.transcribe_batch(clips[::-1], "en") == alone[::-1]
    assert sum(bool(text) for text in alone) == len(alone)


def test_a_clip_longer_than_a_window_is_decoded_long_form_beside_short_ones(sample_en_build: Path, whisper):
    paths = sorted((sample_en_build / "audio").rglob("*.wav"))
    short, rate = sf.read(paths[0], dtype="float32")
    parts = []
    for path in paths:  # 35 s of speech from the build's clips
        parts.append(sf.read(path, dtype="float32")[0])
        if sum(len(p) for p in parts) > 35 * rate:
            break
    long = np.concatenate(parts)
    assert len(long) > 30 * rate

    texts = whisper.transcribe_batch([(short, rate), (long, rate)], "en")

    assert texts[0] == whisper.transcribe_batch([(short, rate)], "en")[0]
    assert texts[1] == whisper._long_form(long, "en")
    assert len(texts[1].split()) > 40  # the whole 35 s, not its first window alone
