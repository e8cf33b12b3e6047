"""`s2s pull` takes a release only as its schema says it is, and a pull killed at any point is resumed.

A row read as something else (candidates stored as one string, no context clip) is refused in one
line naming the file, row and column, leaving nothing; a pull killed with -9 re-runs to the bytes of
a pull that was never interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def spoken_export(tmp_path_factory) -> Path:
    """A bundled-sample build with every candidate spoken (2 items, 6 clips), exported as for the Hub."""
    base = tmp_path_factory.mktemp("pull")
    build(BuildOptions(source="sample:en", output=base / "build", limit=2, validate=False, speak="all"))
    result = runner.invoke(app, ["push", str(base / "build"), "--to-dir", str(base / "export"), "-q"])
    assert result.exit_code == 0, result.output
    return base / "export"


def rewritten(export: Path, tmp_path: Path, change) -> tuple[Path, Path]:
    """A copy of ``export`` whose one shard went through ``change`` (a pyarrow table to another)."""
    import shutil

    copy = tmp_path / "changed"
    shutil.copytree(export, copy)
    [shard] = copy.glob("story/*.parquet")
    pq.write_table(change(pq.read_table(shard)), shard)
    return copy, shard


def candidates_as_one_string(table: pa.Table) -> pa.Table:
    joined = pa.array([" | ".join(candidates) for candidates in table.column("candidates").to_pylist()])
    return table.set_column(table.schema.get_field_index("candidates"), "candidates", joined)


def without_context_audio(table: pa.Table) -> pa.Table:
    return table.drop(["context_audio"])


def context_audio_emptied(table: pa.Table) -> pa.Table:
    rows = table.to_pylist()
    rows[1]["context_audio"] = None
    return pa.Table.from_pylist(rows, schema=table.schema)


@pytest.mark.parametrize("change, where, problem", [
    (candidates_as_one_string, "candidates", "the column holds a string, the schema says a list of strings"),
    (without_context_audio, "context_audio", "no such column (the schema says an audio clip)"),
    (context_audio_emptied, "row 1: context_audio", "empty while candidate_audio holds clips"),
])
def test_a_row_that_is_not_what_the_schema_says_is_refused_naming_file_row_and_column(spoken_export: Path, tmp_path: Path, change, where: str,
                                                                                      problem: str):
    copy, shard = rewritten(spoken_export, tmp_path, change)
    result = runner.invoke(app, ["pull", str(copy), "-o", str(tmp_path / "pulled"), "-q"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {shard}: {where}: {problem}"
    assert not (tmp_path / "pulled").exists()  # a refused pull leaves nothing it made


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    from tests.models import build_tiny_causal_lm, sample_texts

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"), sample_texts())


@pytest.mark.parametrize("change, where, problem", [
    (candidates_as_one_string, "{shard}: candidates", "the column holds a string, the schema says a list of strings"),
    (without_context_audio, "{shard}: context_audio", "no such column (the schema says an audio clip)"),
    (context_audio_emptied, "{copy}: row 1: context_audio", "empty while candidate_audio holds clips"),
])
def test_a_release_that_is_not_what_the_schema_says_is_not_scored(spoken_export: Path, tiny_lm: Path, tmp_path: Path, change, where: str,
                                                                  problem: str):
    """What pull refuses, score refuses too: candidates stored as one string would be scored as
    one-character candidates, and a candidate's clip heard as the context."""
    copy, shard = rewritten(spoken_export, tmp_path, change)
    result = runner.invoke(app, ["score", str(copy), "-m", str(tiny_lm), "--modes", "t2t", "--device", "cpu", "-o", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {where.format(shard=shard, copy=copy)}: {problem}"
    assert not (tmp_path / "r").exists()  # a refused score leaves nothing it made


def _pull_dying_after_clips(export: Path, output: Path, clips: int) -> None:
    """In a child process: a pull that dies as a kill -9 would (no cleanup at all) after ``clips`` clips."""
    from s2sbench.publish import pull as pulling

    store = pulling._store
    stored = []

    def store_then_die(*args, **kwargs):
        if len(stored) == clips:
            os._exit(9)
        stored.append(store(*args, **kwargs))
        return stored[-1]

    pulling._store = store_then_die
    pulling.pull(str(export), output)


@pytest.mark.parametrize("clips", [0, 4])
def test_a_pull_killed_early_is_resumed_to_the_same_bytes(spoken_export: Path, tmp_path: Path, clips: int):
    whole = runner.invoke(app, ["pull", str(spoken_export), "-o", str(tmp_path / "whole"), "-q"])
    assert whole.exit_code == 0, whole.output
    killed = multiprocessing.get_context("fork").Process(target=_pull_dying_after_clips, args=(spoken_export, tmp_path / "killed", clips))
    killed.start()
    killed.join(120)
    assert killed.exitcode == 9
    assert not (tmp_path / "killed" / "items.jsonl").exists()  # it died before items.jsonl was whole
    again = runner.invoke(app, ["pull", str(spoken_export), "-o", str(tmp_path / "killed"), "-q"])
    assert again.exit_code == 0, again.output

    def files(root: Path) -> dict[str, bytes]:
        return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file() and path.name != ".lock"}

    assert files(tmp_path / "killed") == files(tmp_path / "whole")


def test_a_pull_into_another_build_is_refused_and_leaves_it_as_it_was(spoken_export: Path, tmp_path: Path):
    build_dir = spoken_export.parent / "build"
    before = {path: path.read_bytes() for path in build_dir.rglob("*") if path.is_file()}
    result = runner.invoke(app, ["pull", str(spoken_export), "-o", str(build_dir), "-q"])
    assert result.exit_code == 2 and "holds another build" in result.stderr, result.output
    assert {path: path.read_bytes() for path in build_dir.rglob("*") if path.is_file()} == before
