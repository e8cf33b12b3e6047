"""``--executor ray`` on a local Ray cluster: the same build as the local executor, resumable."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray

import s2sbench.profiles
from s2sbench.pipeline import BuildOptions, BuildSummary, build
from tests.test_builders import story_release, story_rows


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def snapshot(root: Path) -> tuple[bytes, dict[str, str]]:
    """items.jsonl's bytes and the hash of every clip."""
    audio = {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "audio").rglob("*")) if p.is_file()}
    return (root / "items.jsonl").read_bytes(), audio


def sample_build(output: Path | str, executor: str, **options) -> BuildSummary:
    return build(BuildOptions(source="sample:en", output=output, executor=executor, **options))


@pytest.fixture(scope="module")
def local_sample(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("local") / "sample-en"
    sample_build(output, "local", validate=False)
    return output


def test_ray_build_of_the_sample_equals_the_local_build(ray_cluster, local_sample, tmp_path):
    summary = sample_build(tmp_path / "ray", "ray", validate=False)

    assert summary.items == 28 and summary.item_errors == 0
    assert summary.clips_synthesized + summary.clips_reused == 108
    items, audio = snapshot(tmp_path / "ray")
    assert items == snapshot(local_sample)[0]  # same items, same order, byte for byte
    assert audio == snapshot(local_sample)[1]
    assert json.loads((tmp_path / "ray" / "build.json").read_text())["status"] == "complete"


def test_ray_build_to_a_url_equals_the_local_build(ray_cluster, local_sample, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the driver mirrors the small files

    summary = sample_build(f"file://{tmp_path}/out", "ray", validate=False)

    assert summary.output == f"file://{tmp_path}/out"
    assert snapshot(tmp_path / "out") == snapshot(local_sample)


def test_relative_source_paths_give_the_same_items_on_both_executors(ray_cluster, tmp_path, monkeypatch):
    source = story_release(tmp_path, story_rows(1000, 1001, 1002, 1003))  # provenance holds file and wav paths
    monkeypatch.chdir(tmp_path)
    relative = str(source.relative_to(tmp_path))

    build(BuildOptions(source=relative, output=Path("local"), validate=False))
    build(BuildOptions(source=relative, output=Path("ray"), validate=False, executor="ray"))

    assert '"context_wav": "S2S/' in (tmp_path / "local" / "items.jsonl").read_text()
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")


def test_an_out_of_order_partial_build_resumed_locally_ends_in_source_order(local_sample, tmp_path):
    partial = tmp_path / "build"
    subprocess.run(["cp", "-r", str(local_sample), str(partial)], check=True)
    lines = (partial / "items.jsonl").read_text().splitlines(keepends=True)
    (partial / "items.jsonl").write_text(lines[2] + lines[0])  # as a Ray build leaves it

    summary = sample_build(partial, "local", validate=False)

    assert (summary.items_added, summary.clips_synthesized) == (26, 0)
    assert snapshot(partial) == snapshot(local_sample)


@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_validated_ray_build_equals_the_local_one_with_its_retries(ray_cluster, tmp_path, batch_size):
    # A profile no clip can satisfy (espeak-ng speaks 10-17 characters a second; this one allows at most
    # 1), so every clip fails its signal check and is retried: the retry stage runs whatever the recognizer hears.
    english = (Path(s2sbench.profiles.__file__).parent / "en.toml").read_text()
    strict = tmp_path / "en-strict.toml"
    strict.write_text(re.sub(r"^chars_per_second = .*$", "chars_per_second = [0.5, 1.0]", english, flags=re.M))
    options = {"limit": 3, "retries": 1, "profile": str(strict), "speak": "context", "asr_window": "auto"}
    local = sample_build(tmp_path / "local", "local", batch_size=2, **options)
    on_ray = sample_build(tmp_path / "ray", "ray", batch_size=batch_size, **options)

    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")
    assert (on_ray.clips_passed, on_ray.clips_failed) == (local.clips_passed, local.clips_failed) == (0, local.clips_failed)
    items = [json.loads(line) for line in (tmp_path / "ray" / "items.jsonl").read_text().splitlines()]
    verdicts = [item["validation"]["context"] for item in items]
    assert [(v["tries"], "too_fast" in v["reasons"]) for v in verdicts] == [(2, True)] * 3


def test_ray_build_finishes_a_partial_local_build_making_only_what_is_missing(ray_cluster, local_sample, tmp_path):
    partial = tmp_path / "build"
    subprocess.run(["cp", "-r", str(local_sample), str(partial)], check=True)
    lines = (partial / "items.jsonl").read_text().splitlines(keepends=True)
    (partial / "items.jsonl").write_text("".join(lines[:10]))  # as if the local build stopped after 10 items
    kept = {path for line in lines[:10] for path in [json.loads(line)["audio"]["context"], *json.loads(line)["audio"]["candidates"]]}
    for clip in (partial / "audio").rglob("*.wav"):
        if str(clip.relative_to(partial)) not in kept:
            clip.unlink()

    summary = sample_build(partial, "ray", validate=False)

    assert summary.items_added == 18
    assert summary.clips_synthesized == len(snapshot(local_sample)[1]) - len(kept)  # exactly the missing clips
    assert snapshot(partial) == snapshot(local_sample)


def test_killed_ray_build_resumes_with_nothing_duplicated(local_sample, tmp_path):
    output = tmp_path / "build"
    command = [sys.executable, "-m", "s2sbench", "build", "sample:en", "-o", str(output), "--no-validate", "-q", "--executor", "ray", "--ray-batch-size", "1"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    items = output / "items.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if items.is_file() and items.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the build ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the driver and the Ray cluster it started
    process.wait()
    written = items.read_bytes().count(b"\n")
    assert 3 <= written < 28

    resumed = subprocess.run(command, capture_output=True, text=True)

    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["id"] for line in items.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 28
    assert snapshot(output) == snapshot(local_sample)


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_an_item_the_engine_cannot_speak_is_recorded_and_retried_on_the_next_run(ray_cluster, tmp_path, executor):
    source = story_release(tmp_path, story_rows(1000, 1001, 1002, 1003))
    broken = source.parent / "s-story-firstspeech" / "1002.wav"
    good = broken.read_bytes()
    broken.write_bytes(b"not a wav file")
    options = BuildOptions(source=str(source), output=tmp_path / "build", validate=False, executor=executor)

    first = build(options)

    assert (first.items, first.item_errors) == (1, 1)
    failures = [json.loads(line) for line in (tmp_path / "build" / "failed.jsonl").read_text().splitlines()]
    assert [f["id"] for f in failures] == ["sstorycloze-en-001002"]
    assert "1002.wav: unreadable audio" in failures[0]["error"]
    assert json.loads((tmp_path / "build" / "build.json").read_text())["status"] == "incomplete"

    broken.write_bytes(good)
    second = build(options)

    assert (second.items, second.items_added, second.item_errors) == (2, 1, 0)
    assert not (tmp_path / "build" / "failed.jsonl").exists()


def test_cli_reports_unspoken_items_and_exits_1(tmp_path):
    from typer.testing import CliRunner

    from s2sbench.cli import app

    source = story_release(tmp_path, story_rows(1000, 1001, 1002, 1003))
    (source.parent / "s-story-firstspeech" / "1000.wav").write_bytes(b"")

    result = CliRunner().invoke(app, ["build", str(source), "-o", str(tmp_path / "b"), "--no-validate", "-q"])

    assert result.exit_code == 1
    assert "1 item could not be spoken" in result.output and "failed.jsonl" in result.output
    assert "built" in result.output  # the other item was built and reported


def test_unknown_executor_is_a_clear_error(tmp_path):
    from s2sbench.errors import S2SBenchError

    with pytest.raises(S2SBenchError, match="--executor must be one of local, ray"):
        sample_build(tmp_path / "b", "dask", validate=False)


def test_a_build_of_several_engines_is_the_same_on_ray(ray_cluster, tmp_path):
    """Each Ray actor loads every engine and speaks each item with the item's: the items (each clip's
    engine and voice, and the clips' names) are the local build's."""
    options = {"limit": 6, "seed": 1, "speak": "context", "validate": False, "tts": ["espeak", "piper"]}
    sample_build(tmp_path / "local", "local", **options)
    sample_build(tmp_path / "ray", "ray", **options)
    items = (tmp_path / "local" / "items.jsonl").read_bytes()
    assert items == (tmp_path / "ray" / "items.jsonl").read_bytes()
    assert {json.loads(line)["audio"]["engines"]["context"] for line in items.splitlines()} == {"espeak", "piper:en_US-joe-medium"}
