"""Builds written to an fsspec URL: clips go to the URL, the small files through a local mirror."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import fsspec
import pytest

from s2sbench.pipeline import BuildOptions, build
from s2sbench.progress import calling
from s2sbench.storage import mirror_directory


@pytest.fixture
def memory_fs(tmp_path, monkeypatch):
    """fsspec's in-memory file system (an object store: no rename, no directories), emptied."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    yield fs
    fs.store.clear()


def url_snapshot(fs, root: str) -> tuple[bytes, dict[str, str]]:
    clips = {path.split(root.split("://")[1] + "/")[1]: hashlib.sha256(fs.cat_file(path)).hexdigest() for path in fs.find(f"{root}/audio")}
    return fs.cat_file(f"{root}/items.jsonl"), clips


def local_snapshot(root: Path) -> tuple[bytes, dict[str, str]]:
    clips = {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "audio").rglob("*") if p.is_file()}
    return (root / "items.jsonl").read_bytes(), clips


def test_url_build_equals_a_local_build(memory_fs, tmp_path):
    build(BuildOptions(source="sample:en", output=tmp_path / "local", limit=6, validate=False))

    summary = build(BuildOptions(source="sample:en", output="memory://bucket/builds/en", limit=6, validate=False))

    assert summary.output == "memory://bucket/builds/en" and summary.items == 6
    assert url_snapshot(memory_fs, "memory://bucket/builds/en") == local_snapshot(tmp_path / "local")
    manifest = json.loads(memory_fs.cat_file("memory://bucket/builds/en/build.json"))
    assert manifest["status"] == "complete" and manifest["counts"]["items"] == 6


def test_url_build_resumes_from_the_url_on_another_machine(memory_fs, tmp_path):
    options = BuildOptions(source="sample:en", output="memory://bucket/b", limit=6, validate=False)
    build(options)
    complete = memory_fs.cat_file("memory://bucket/b/items.jsonl")
    # Another machine: no mirror; and the URL has only the first two items (a crash before upload).
    memory_fs.pipe_file("memory://bucket/b/items.jsonl", b"".join(complete.splitlines(keepends=True)[:2]))
    for leftover in mirror_directory("memory://bucket/b").iterdir():
        leftover.unlink()

    summary = build(options)

    assert (summary.items_added, summary.clips_synthesized) == (4, 0)  # the clips were all there
    assert memory_fs.cat_file("memory://bucket/b/items.jsonl") == complete


def test_mirror_items_not_yet_uploaded_are_kept(memory_fs):
    options = BuildOptions(source="sample:en", output="memory://bucket/c", limit=4, validate=False)
    build(options)
    memory_fs.rm_file("memory://bucket/c/items.jsonl")  # the URL never got the items; the mirror has them

    summary = build(options)

    assert (summary.items, summary.items_added) == (4, 0)
    assert memory_fs.cat_file("memory://bucket/c/items.jsonl").count(b"\n") == 4


def test_validated_url_build_checks_clips_read_from_the_url(memory_fs, tmp_path):
    local = build(BuildOptions(source="sample:en", output=tmp_path / "local", limit=2))

    remote = build(BuildOptions(source="sample:en", output="memory://bucket/v", limit=2))

    assert (remote.clips_passed, remote.clips_failed) == (local.clips_passed, local.clips_failed) != (0, 0)
    assert url_snapshot(memory_fs, "memory://bucket/v") == local_snapshot(tmp_path / "local")
    assert memory_fs.isfile("memory://bucket/v/validation.md")
    page = memory_fs.cat_file("memory://bucket/v/report.html").decode()  # its players hold the clips read from the URL
    assert page.count("<audio ") == remote.clips_passed + remote.clips_failed and "(missing: " not in page


def test_an_interrupted_url_build_resumes_on_another_machine(memory_fs):
    options = BuildOptions(source="sample:en", output="memory://bucket/i", limit=6, validate=False)

    def stop_after_two(finished: int) -> None:
        if finished == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(options, progress=calling(stop_after_two))
    assert json.loads(memory_fs.cat_file("memory://bucket/i/build.json"))["status"] == "interrupted"
    assert memory_fs.cat_file("memory://bucket/i/items.jsonl").count(b"\n") == 2
    for leftover in mirror_directory("memory://bucket/i").iterdir():  # another machine: no mirror
        leftover.unlink()

    summary = build(options)

    assert (summary.items, summary.items_added) == (6, 4)
    assert json.loads(memory_fs.cat_file("memory://bucket/i/build.json"))["status"] == "complete"


def test_a_deleted_url_build_is_built_again_whatever_the_mirror_remembers(memory_fs):
    options = BuildOptions(source="sample:en", output="memory://bucket/d", limit=3, validate=False)
    first = build(options)
    memory_fs.rm("memory://bucket/d", recursive=True)

    again = build(options)

    assert (again.items_added, again.clips_synthesized) == (3, first.clips_synthesized)
    assert memory_fs.find("memory://bucket/d/audio")
