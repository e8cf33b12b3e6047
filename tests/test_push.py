"""`s2s push --to-dir` and `--layout s2sbench`: exactly what would be uploaded, read back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from s2sbench import BuildOptions, build
from s2sbench.progress import calling
from s2sbench.publish import PushOptions, push


def read_items(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "items.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def zh_build(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("zh") / "b"
    build(BuildOptions(source="sample:zh", lang="zh", output=output, limit=5, validate=False, subset="zh-stories"))
    return output


READ_BACK = """
import hashlib, json, sys, datasets
out = {}
for config in sys.argv[2:]:
    ds = datasets.load_dataset(sys.argv[1], config, split="test")
    raw = ds.cast_column("context_audio", datasets.Audio(decode=False)).cast_column("candidate_audio", datasets.List(datasets.Audio(decode=False)))
    out[config] = [{"id": r["id"], "context": r["context"], "candidates": r["candidates"], "answer": r["answer"],
                    "context_sha": hashlib.sha256(r["context_audio"]["bytes"]).hexdigest(),
                    "candidate_sha": [hashlib.sha256(c["bytes"]).hexdigest() for c in r["candidate_audio"]],
                    "passed": r["passed"]} for r in raw]
    out[config + ":rate"] = ds[0]["context_audio"].get_all_samples().sample_rate
print(json.dumps(out))
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_reads_back_identical_in_a_fresh_process(sample_en_build: Path, zh_build: Path, tmp_path: Path):
    result = push(PushOptions(builds=[sample_en_build, zh_build], to_dir=tmp_path / "export"))
    configs = sorted(c.name for c in result.configs)
    assert configs == ["question", "story", "zh-stories"]
    fresh_cache = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache")}  # datasets caches a folder by its name alone
    run = subprocess.run([sys.executable, "-c", READ_BACK, str(tmp_path / "export"), *configs], capture_output=True, text=True, check=True, env=fresh_cache)
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    expected = {}
    for root in (sample_en_build, zh_build):
        for item in read_items(root):
            if item.get("validation", {"passed": True})["passed"]:
                expected[item["id"]] = (root, item)
    rows = [row for config in configs for row in loaded[config]]
    assert sorted(r["id"] for r in rows) == sorted(expected)
    for row in rows:
        root, item = expected[row["id"]]
        assert (row["context"], row["candidates"], row["answer"]) == (item["context"], item["candidates"], item["answer"])
        assert row["context_sha"] == sha(root / item["audio"]["context"])
        assert row["candidate_sha"] == [sha(root / p) for p in item["audio"]["candidates"]]
    assert loaded["story:rate"] == 16000


def test_card_has_valid_yaml_both_configs_and_every_section(sample_en_build: Path, zh_build: Path, tmp_path: Path):
    push(PushOptions(builds=[sample_en_build, zh_build], to_dir=tmp_path / "export"))
    text = (tmp_path / "export" / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    metadata = yaml.safe_load(header)
    assert {c["config_name"] for c in metadata["configs"]} == {"question", "story", "zh-stories"}
    assert metadata["language"] == ["en", "zh"] and metadata["multilinguality"] == "multilingual"
    assert metadata["size_categories"] == ["n<1K"] and metadata["license"]
    for section in ("## How it was built", "## Structure", "## How to score a model on it", "## Limitations", "## Citation", "faster-whisper"):
        assert section in body
    assert "hf_" not in text


def test_failed_items_are_excluded_unless_asked(sample_en_build: Path, tmp_path: Path):
    marked = tmp_path / "marked"
    subprocess.run(["cp", "-r", str(sample_en_build), str(marked)], check=True)
    items = read_items(marked)
    for index, item in enumerate(items):  # items 1 and 6 failed (a story and a question), whatever the recognizer heard
        item["validation"]["passed"] = index not in (1, 6)
    (marked / "items.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    default = push(PushOptions(builds=[marked], to_dir=tmp_path / "a"))
    everything = push(PushOptions(builds=[marked], to_dir=tmp_path / "b", include_failed=True))
    assert sum(c.rows for c in everything.configs) == 10
    assert sum(c.rows for c in default.configs) == 8


def test_same_subset_in_two_builds_gets_language_suffixes(zh_build: Path, tmp_path: Path):
    en = tmp_path / "en"
    build(BuildOptions(source="sample:en", output=en, limit=3, validate=False, subset="zh-stories"))
    result = push(PushOptions(builds=[en, zh_build], to_dir=tmp_path / "export"))
    assert sorted(c.name for c in result.configs) == ["zh-stories-en", "zh-stories-zh"]


def test_release_layout_round_trips_through_the_s2sbench_builder(tmp_path: Path):
    source = tmp_path / "src"
    build(BuildOptions(source="sample:en", output=source, validate=False, speak="context", subset="sStoryCloze", limit=6))
    push(PushOptions(builds=[source], to_dir=tmp_path / "release", layout="s2sbench"))
    jsonl = tmp_path / "release" / "S2S" / "StoryCloze" / "sStory_s2t.jsonl"
    rebuilt = tmp_path / "rebuilt"
    build(BuildOptions(source=str(jsonl), format="s2sbench", output=rebuilt, validate=False, speak="context"))
    original = {(i["context"], frozenset(i["candidates"])): i for i in read_items(source) if len(i["candidates"]) == 2}
    again = read_items(rebuilt)
    assert len(again) == len(original)
    for item in again:
        first = original[(item["context"], frozenset(item["candidates"]))]
        assert item["candidates"][item["answer"]] == first["candidates"][first["answer"]]
        assert sha(rebuilt / item["audio"]["context"]) == sha(source / first["audio"]["context"])  # the wav came back as is


NO_TORCHCODEC = """
import sys
sys.modules["torchcodec"] = None  # as if torchcodec (and FFmpeg) were missing
from pathlib import Path
from s2sbench.publish import push, PushOptions
push(PushOptions(builds=[Path(sys.argv[1])], to_dir=Path(sys.argv[2])))
"""


def test_export_needs_no_torchcodec(zh_build: Path, tmp_path: Path):
    import pyarrow.parquet as pq

    subprocess.run([sys.executable, "-c", NO_TORCHCODEC, str(zh_build), str(tmp_path / "export")], check=True, capture_output=True)
    table = pq.read_table(tmp_path / "export" / "zh-stories" / "test-00000-of-00001.parquet")
    items = read_items(zh_build)
    assert [r["bytes"] for r in table.column("context_audio").to_pylist()] == [(zh_build / i["audio"]["context"]).read_bytes() for i in items]
    assert json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]["context_audio"]["_type"] == "Audio"


def test_card_states_audio_hours_clip_durations_and_voice_shares(tmp_path: Path):
    import soundfile as sf

    build(BuildOptions(source="sample:en", output=tmp_path / "b", limit=4, validate=False, voices=["en-us", "en-us+f3"]))
    push(PushOptions(builds=[tmp_path / "b"], to_dir=tmp_path / "out"))
    items = [json.loads(line) for line in (tmp_path / "b" / "items.jsonl").read_text().splitlines()]
    story = [i for i in items if i["subset"] == "story"]
    clips = [(tmp_path / "b" / p, v) for i in story for p, v in zip([i["audio"]["context"], *i["audio"]["candidates"]],
                                                                   [i["audio"]["voices"]["context"], *i["audio"]["voices"]["candidates"]])]
    seconds = [sf.info(path).duration for path, _ in clips]
    figures = json.loads((tmp_path / "out" / "s2sbench" / "story.json").read_text())["audio_figures"]
    assert figures["hours"] == pytest.approx(sum(seconds) / 3600, abs=1e-3)
    assert figures["clip_seconds"]["min"] == pytest.approx(min(seconds), abs=0.01) and figures["clip_seconds"]["max"] == pytest.approx(max(seconds), abs=0.01)
    shares = {voice: sum(v == voice for _, v in clips) / len(clips) for voice in {v for _, v in clips}}
    assert figures["voices"] == pytest.approx(shares, abs=1e-4) and sum(figures["voices"].values()) == pytest.approx(1.0)
    card = (tmp_path / "out" / "README.md").read_text()
    assert f"{figures['hours']:.2f} h" in card and "voices (share of clips): " in card and "clip duration min / mean / max: " in card


def test_quiet_push_shows_no_progress_bar_of_any_library(zh_build: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")}
    runs = {}
    for name, flags in (("loud", []), ("quiet", ["-q"])):
        command = [sys.executable, "-m", "s2sbench", "push", str(zh_build), "--to-dir", str(tmp_path / name), *flags]
        runs[name] = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert runs["loud"].returncode == runs["quiet"].returncode == 0
    # The export writes its parquet itself (no datasets bar); -q must keep every library's bar and log line out.
    assert runs["quiet"].stderr == "" and runs["quiet"].stdout.replace(str(tmp_path / "quiet"), str(tmp_path / "loud")) == runs["loud"].stdout


def test_push_counts_the_rows_it_exports(zh_build: Path, tmp_path: Path):
    seen: list[int] = []
    result = push(PushOptions(builds=[zh_build], to_dir=tmp_path / "out"), progress=calling(seen.append))
    assert seen == list(range(1, sum(exported.rows for exported in result.configs) + 1)) and seen


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("moment", ["shard begun", "first config's shards named"])
def test_a_killed_export_reruns_to_the_bytes_of_an_uninterrupted_one(sample_en_build: Path, tmp_path: Path, moment: str):
    import signal
    import time

    whole, cut = tmp_path / "whole" / "export", tmp_path / "cut" / "export"
    push(PushOptions(builds=[sample_en_build], to_dir=whole))
    command = [sys.executable, "-m", "s2sbench", "push", str(sample_en_build), "--to-dir", str(cut), "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reached = (lambda: any(cut.glob("*/.tmp-*"))) if moment == "shard begun" else (lambda: any(cut.glob("*/*-of-*.parquet")))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not reached():
        time.sleep(0.002)
    assert process.poll() is None, "the export ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (cut / "README.md").exists()  # killed before the end: the card is written last

    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    assert _tree(cut) == _tree(whole)  # the same files, byte for byte, and nothing left over


def test_the_card_says_which_recognizer_window_checked_the_clips(sample_en_build: Path, tmp_path: Path):
    push(PushOptions(builds=[sample_en_build], to_dir=tmp_path / "out"))
    window = json.loads((sample_en_build / "build.json").read_text())["validation"]["asr"]["window"]
    said = {"auto": "`base` (each clip heard in a window that fits it, 10-30 s;", "30": "`base` (every clip padded to a 30 s window)"}[window]
    assert said in (tmp_path / "out" / "README.md").read_text()
