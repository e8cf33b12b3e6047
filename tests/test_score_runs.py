"""Every score line names the run that made it: a results directory never credits one model's
scores to another, with or without its run.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from s2sbench.errors import S2SBenchError
from s2sbench.scorer.run import ScoreOptions, score
from tests.models import build_tiny_causal_lm, sample_texts


@pytest.fixture(scope="module")
def two_models(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("two-lms")
    return build_tiny_causal_lm(base / "a", sample_texts(), seed=1), build_tiny_causal_lm(base / "b", sample_texts(), seed=2)


def options(build: Path, model: Path, output: Path, **extra) -> ScoreOptions:
    return ScoreOptions(source=str(build), output=output, model=str(model), modes=("t2t",), device="cpu", **extra)


def test_another_models_lines_without_their_run_json_are_refused(spoken_build: Path, two_models, tmp_path: Path):
    first, second = two_models
    score(options(spoken_build, first, tmp_path / "a"))
    lines = (tmp_path / "a" / "scores.jsonl").read_text().splitlines()
    assert len({json.loads(line)["run"] for line in lines}) == 1
    shutil.copytree(tmp_path / "a", tmp_path / "mixed")
    (tmp_path / "mixed" / "run.json").unlink()
    with pytest.raises(S2SBenchError, match=r"scores.jsonl:1: scored by another run"):
        score(options(spoken_build, second, tmp_path / "mixed"))
    with pytest.raises(S2SBenchError, match="another run"):  # with the run.json present, as before
        score(options(spoken_build, second, tmp_path / "a"))
    resumed = score(options(spoken_build, first, tmp_path / "mixed"))  # the same model resumes into its own lines
    assert resumed["story"]["t2t"]["n"] == 2 and (tmp_path / "mixed" / "scores.jsonl").read_text().splitlines() == lines


def test_untagged_lines_of_a_matching_older_run_resume(spoken_build: Path, two_models, tmp_path: Path):
    first, _ = two_models
    score(options(spoken_build, first, tmp_path / "r", limit=2))
    path = tmp_path / "r" / "scores.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in json.loads(line).items() if k != "run"}) + "\n" for line in path.read_text().splitlines()))
    score(options(spoken_build, first, tmp_path / "r", limit=2))  # run.json matches: the older lines are this run's
    with pytest.raises(S2SBenchError, match="a line that names no run"):
        (tmp_path / "r" / "run.json").unlink()
        score(options(spoken_build, first, tmp_path / "r", limit=2))


def test_the_batch_size_is_recorded_and_resumes_at_another(spoken_build: Path, two_models, tmp_path: Path):
    first, _ = two_models
    score(options(spoken_build, first, tmp_path / "b", batch_size=2, limit=2))
    assert json.loads((tmp_path / "b" / "run.json").read_text())["batch_size"] == 2
    score(options(spoken_build, first, tmp_path / "b", batch_size=4, limit=2))
    assert json.loads((tmp_path / "b" / "run.json").read_text())["batch_size"] == 4


def test_only_the_first_rank_prints_the_summary(spoken_build: Path, two_models, tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from s2sbench.cli import app

    first, _ = two_models
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "summary.md").write_text("STALE SUMMARY of an earlier run\n")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = CliRunner().invoke(app, ["score", str(spoken_build), "-m", str(first), "--modes", "t2t", "--device", "cpu", "-o", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 0, result.output
    assert "STALE" not in result.stdout and (tmp_path / "r" / "scores.shard-002-of-002.jsonl").is_file()
    assert "items/s" in result.stdout
