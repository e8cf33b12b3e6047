"""A refused command leaves nothing it created: no results directory holding only its lock, no
variant folder holding only `.lock`; what was there before (an earlier run's results) stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def small_build(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("refusals") / "build"
    build(BuildOptions(source="sample:en", output=output, limit=2, validate=False, speak="context"))
    return output


@pytest.fixture(scope="module")
def weightless_model(tmp_path_factory) -> Path:
    """A model directory whose configuration names GPT-2 but holds no weights: it does not load."""
    model = tmp_path_factory.mktemp("model") / "gpt2-without-weights"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    return model


@pytest.mark.parametrize("extra, message", [
    (["--modes", "t2t"], "cannot load causal LM"),  # a model that does not load
    (["--adapter", "causal-lm", "--modes", "t2t,s2t"], "cannot score mode(s) s2t"),  # modes the model lacks
])
def test_a_refused_score_leaves_no_results_directory(small_build: Path, weightless_model: Path, tmp_path: Path, extra: list[str], message: str):
    results = tmp_path / "results"
    refused = runner.invoke(app, ["score", str(small_build), "-m", str(weightless_model), "-o", str(results), "-q", *extra])
    assert refused.exit_code == 2 and message in refused.stderr, refused.output
    assert not results.exists()


def test_a_refused_score_keeps_a_results_directory_that_was_there(small_build: Path, weightless_model: Path, tmp_path: Path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "notes.txt").write_text("mine")
    refused = runner.invoke(app, ["score", str(small_build), "-m", str(weightless_model), "-o", str(results), "-q", "--modes", "t2t"])
    assert refused.exit_code == 2
    assert sorted(p.name for p in results.iterdir()) == [".lock-scores.jsonl", "notes.txt"]  # the lock of a directory it did not make stays


def test_a_refused_augment_leaves_no_variant_folder(small_build: Path, tmp_path: Path):
    (tmp_path / "no-noise").mkdir()
    refused = runner.invoke(app, ["augment", str(small_build), "-o", str(tmp_path / "variants"), "--noise-snr", "10",
                                  "--noise-dir", str(tmp_path / "no-noise"), "--no-validate"])
    assert refused.exit_code == 2 and "no audio file" in refused.stderr, refused.output
    assert not (tmp_path / "variants").exists()


def test_a_refused_variant_leaves_the_variants_made_before_it(small_build: Path, tmp_path: Path):
    variants = tmp_path / "variants"
    assert runner.invoke(app, ["augment", str(small_build), "-o", str(variants), "--speed", "1.1", "--no-validate"]).exit_code == 0
    (tmp_path / "no-noise").mkdir()
    refused = runner.invoke(app, ["augment", str(small_build), "-o", str(variants), "--noise-snr", "10",
                                  "--noise-dir", str(tmp_path / "no-noise"), "--no-validate"])
    assert refused.exit_code == 2
    assert sorted(p.name for p in variants.iterdir()) == ["speed1.1"] and (variants / "speed1.1" / "items.jsonl").is_file()
