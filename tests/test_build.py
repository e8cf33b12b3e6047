"""`s2s build` end to end with real espeak-ng: build directory, cache, resume, options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from s2sbench import BuildDirectory, BuildOptions, SourceRowError, build

SUBJECTS = ["the baker", "a tired farmer", "my old neighbor", "the young pilot", "a quiet student", "the city mayor"]
PLACES = ["the market", "a small harbor", "the mountain road", "an empty library", "the train station", "a busy kitchen"]


def write_items(path: Path, count: int, duplicate_every: int | None = None) -> Path:
    """An items.jsonl source with ``count`` distinct original two-way items."""
    lines = []
    for i in range(count):
        who, where = SUBJECTS[i % 6], PLACES[(i // 6) % 6]
        record = {
            "subset": "story",
            "context": f"Story {i}: {who} walked to {where} early in the morning and waited for a long time.",
            "candidates": [f"Then {who} went home happy.", f"Then {who} forgot how to walk."],
            "answer": i % 2,
        }
        lines.append(json.dumps(record))
        if duplicate_every and i % duplicate_every == 0:
            lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_items(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "items.jsonl").read_text(encoding="utf-8").splitlines()]


def clip_paths(items: list[dict]) -> list[str]:
    paths = []
    for item in items:
        paths.append(item["audio"]["context"])
        paths.extend(item["audio"]["candidates"] or [])
    return paths


def test_sample_build_is_a_complete_build_directory(sample_en_build: Path):
    items = read_items(sample_en_build)
    manifest = json.loads((sample_en_build / "build.json").read_text())
    assert len(items) == 10 == manifest["counts"]["items"]
    assert {i["subset"] for i in items} == {"story", "question"}
    assert {len(i["candidates"]) for i in items} == {2, 4}
    assert len({i["id"] for i in items}) == len(items)
    assert manifest["status"] == "complete"
    assert manifest["tts"]["engine"] == "espeak" and manifest["tts"]["voices"] == ["en-us"]
    assert manifest["versions"]["s2sbench"]
    assert manifest["counts"]["clips"] == len(clip_paths(items)) == sum(1 + len(i["candidates"]) for i in items)
    for relative in set(clip_paths(items)):
        info = sf.info(sample_en_build / relative)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert 0.5 < info.duration < 30
        assert relative.startswith("audio/") and Path(relative).stem.startswith(Path(relative).parent.name)


def test_clips_are_trimmed_padded_and_levelled(sample_en_build: Path):
    import numpy as np

    item = read_items(sample_en_build)[0]
    samples, rate = sf.read(sample_en_build / item["audio"]["context"], dtype="float32")
    pad = int(0.1 * rate)
    assert np.abs(samples[: pad // 2]).max() == 0 and np.abs(samples[-pad // 2 :]).max() == 0
    assert np.abs(samples[pad : pad + rate // 2]).max() > 0.01  # speech starts right after the pad
    level = 20 * np.log10(np.sqrt(np.mean(samples**2)))
    assert -24 < level < -16
    assert np.abs(samples).max() < 0.9


def test_identical_rerun_synthesizes_nothing(tmp_path: Path):
    options = BuildOptions(validate=False, source="sample:en", output=tmp_path / "b", limit=6)
    first = build(options)
    before = (tmp_path / "b" / "items.jsonl").read_bytes()
    second = build(options)
    assert first.clips_synthesized > 0
    assert (second.clips_synthesized, second.items_added, second.items) == (0, 0, 6)
    assert (tmp_path / "b" / "items.jsonl").read_bytes() == before


def test_changed_parameters_restart_items_and_reuse_matching_clips(tmp_path: Path):
    output = tmp_path / "b"
    build(BuildOptions(validate=False, source="sample:en", output=output, limit=4, speak="context"))
    contexts = {i["id"]: i["audio"]["context"] for i in read_items(output)}
    assert all(i["audio"]["candidates"] is None for i in read_items(output))
    again = build(BuildOptions(validate=False, source="sample:en", output=output, limit=4, speak="all"))
    assert again.clips_reused == 4  # the four context clips
    assert again.clips_synthesized == sum(len(i["candidates"]) for i in read_items(output))
    assert {i["id"]: i["audio"]["context"] for i in read_items(output)} == contexts


def test_item_ids_are_stable_across_runs_and_limits(tmp_path: Path):
    build(BuildOptions(validate=False, source="sample:en", output=tmp_path / "all", speak="context"))
    build(BuildOptions(validate=False, source="sample:en", output=tmp_path / "some", speak="context", limit=3))
    everything = {i["id"]: i["context"] for i in read_items(tmp_path / "all")}
    for item in read_items(tmp_path / "some"):
        assert everything[item["id"]] == item["context"]


def test_seeded_limit_is_deterministic_and_keeps_source_order(tmp_path: Path):
    def ids(seed: int | None, name: str) -> list[str]:
        build(BuildOptions(validate=False, source="sample:en", output=tmp_path / name, speak="context", limit=5, seed=seed))
        return [i["id"] for i in read_items(tmp_path / name)]

    first, again, other, head = ids(1, "a"), ids(1, "b"), ids(2, "c"), ids(None, "d")
    order = [i["id"] for i in read_items(BuildDirectory.__new__(BuildDirectory).root if False else tmp_path / "d")]
    assert first == again and len(first) == 5
    assert first != other
    assert head == order and head[0].endswith("000000")
    rows = [int(i.rsplit("-", 1)[1]) for i in first]
    assert rows == sorted(rows)


def test_exact_duplicates_are_dropped_and_counted(tmp_path: Path):
    source = write_items(tmp_path / "src.jsonl", 10, duplicate_every=4)  # rows 0, 4, 8 twice
    summary = build(BuildOptions(validate=False, source=str(source), output=tmp_path / "b", speak="context"))
    assert (summary.items, summary.duplicates) == (10, 3)
    assert json.loads((tmp_path / "b" / "build.json").read_text())["counts"]["duplicates_dropped"] == 3


def test_malformed_row_stops_the_build_before_any_audio(tmp_path: Path):
    source = write_items(tmp_path / "src.jsonl", 5)
    lines = source.read_text().splitlines()
    lines[3] = lines[3].replace('"answer": 1', '"answer": 7')
    source.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceRowError, match=rf"^{source}:4: answer: answer 7 out of range"):
        build(BuildOptions(validate=False, source=str(source), output=tmp_path / "b"))
    assert not (tmp_path / "b" / "audio").exists()


def test_skip_bad_rows_records_each_skipped_row(tmp_path: Path):
    source = write_items(tmp_path / "src.jsonl", 5)
    lines = source.read_text().splitlines()
    lines[1] = "{not json"
    lines[3] = lines[3].replace('"context": "Story 3', '"context": "   "  , "x": "')
    source.write_text("\n".join(lines) + "\n")
    summary = build(BuildOptions(validate=False, source=str(source), output=tmp_path / "b", speak="context", skip_bad_rows=True))
    manifest = json.loads((tmp_path / "b" / "build.json").read_text())
    assert summary.items == 3 and summary.skipped_rows == 2
    assert [(r["line"], r["field"]) for r in manifest["skipped_rows"]] == [(2, "json"), (4, "context")]


def test_workers_give_the_same_build_as_one_process(tmp_path: Path):
    source = write_items(tmp_path / "src.jsonl", 12)
    build(BuildOptions(validate=False, source=str(source), output=tmp_path / "one"))
    build(BuildOptions(validate=False, source=str(source), output=tmp_path / "two", workers=2))
    one, two = read_items(tmp_path / "one"), read_items(tmp_path / "two")
    assert [i["audio"] for i in one] == [i["audio"] for i in two]
    for relative in clip_paths(one):
        assert (tmp_path / "one" / relative).read_bytes() == (tmp_path / "two" / relative).read_bytes()


def test_voices_rotate_over_items_and_are_recorded_per_clip(tmp_path: Path):
    source = write_items(tmp_path / "src.jsonl", 8)
    build(BuildOptions(validate=False, source=str(source), output=tmp_path / "b", voices=["en-us", "en-us+f3"]))
    items = read_items(tmp_path / "b")
    used = {i["audio"]["voices"]["context"] for i in items}
    assert used == {"en-us", "en-us+f3"}
    for item in items:
        assert item["audio"]["voices"]["candidates"] == [item["audio"]["voices"]["context"]] * 2
    build(BuildOptions(validate=False, source=str(source), output=tmp_path / "again", voices=["en-us", "en-us+f3"]))
    assert [i["audio"] for i in read_items(tmp_path / "again")] == [i["audio"] for i in items]


def test_english_sample_clips_are_intelligible(sample_en_build: Path, whisper):
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    pairs = []
    for item in read_items(sample_en_build)[:4] + read_items(sample_en_build)[-2:]:
        pairs.append((item["context"], item["audio"]["context"]))
        pairs.append((item["candidates"][0], item["audio"]["candidates"][0]))
    errors = []
    for text, relative in pairs:
        samples, rate = sf.read(sample_en_build / relative, dtype="float32")
        errors.append(jiwer.wer(normalize(text), normalize(whisper.transcribe(samples, rate, "en"))))
    assert len(errors) >= 6
    assert sum(errors) / len(errors) <= 0.35, errors


def test_mandarin_is_spoken_as_chinese_not_tone_digits(tmp_path: Path, whisper):
    build(BuildOptions(validate=False, source="sample:zh", output=tmp_path / "zh", lang="zh", limit=2, speak="context"))
    for item in read_items(tmp_path / "zh"):
        samples, rate = sf.read(tmp_path / "zh" / item["audio"]["context"], dtype="float32")
        heard = whisper.transcribe(samples, rate, "zh")
        han = sum("\u4e00" <= ch <= "\u9fff" for ch in heard)
        assert han >= 0.5 * len(heard.replace(" ", "")) and not any(ch.isdigit() for ch in heard), heard


def test_sigkill_halfway_then_rerun_completes_exactly_once(tmp_path: Path):
    source = write_items(tmp_path / "src.jsonl", 240)
    output = tmp_path / "b"
    command = [sys.executable, "-m", "s2sbench", "build", str(source), "-o", str(output), "-q", "--no-validate"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    items_file = output / "items.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if items_file.is_file() and items_file.read_bytes().count(b"\n") >= 40:
            break
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = items_file.read_bytes().count(b"\n")
    assert 40 <= written < 240, "the build must be killed halfway"
    existing = {p for p in (output / "audio").rglob("*.wav")}
    summary = build(BuildOptions(validate=False, source=str(source), output=output))
    items = read_items(output)
    assert len(items) == 240 and len({i["id"] for i in items}) == 240
    assert summary.items_added == 240 - written
    unique_clips = set(clip_paths(items))
    assert summary.clips_synthesized == len(unique_clips - {str(p.relative_to(output)) for p in existing})
    for relative in unique_clips:
        samples, _ = sf.read(output / relative)  # every file complete and decodable
        assert len(samples) > 1000
    assert not list(output.rglob(".tmp-*"))
