"""The `s2s` command line: help, version, summaries and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench import __version__
from s2sbench.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"s2sbench {__version__}"


@pytest.mark.parametrize("command", [[], ["build"], ["validate"], ["formats"]])
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_build_help_explains_every_option():
    text = runner.invoke(app, ["build", "--help"], env={"COLUMNS": "200"}).output
    for option in ["--output", "--format", "--lang", "--profile", "--map", "--template", "--tts", "--voices", "--speak", "--limit", "--seed", "--skip-bad-rows", "--workers"]:
        assert option in text


def test_formats_lists_every_builder():
    output = runner.invoke(app, ["formats"]).output
    for name in ["storycloze", "xstorycloze", "cmmlu", "mmlu", "s2sbench", "items", "csv", "jsonl"]:
        assert name in output


def test_build_prints_a_summary(tmp_path: Path):
    result = runner.invoke(app, ["build", "sample:zh", "--lang", "zh", "-o", str(tmp_path / "b"), "--limit", "2", "-q", "--no-validate"])
    assert result.exit_code == 0, result.output
    assert f"built {tmp_path / 'b'}: 2 items" in result.output and "synthesized" in result.output


def test_bad_row_is_one_line_naming_file_line_and_field(tmp_path: Path):
    source = tmp_path / "bad.csv"
    source.write_text("InputStoryid,InputSentence1,InputSentence2,InputSentence3,InputSentence4,RandomFifthSentenceQuiz1,RandomFifthSentenceQuiz2,AnswerRightEnding\n"
                      "a1,One.,Two.,Three.,Four.,Good end.,Bad end.,3\n")
    result = subprocess.run([sys.executable, "-m", "s2sbench", "build", str(source), "-o", str(tmp_path / "b"), "--no-validate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {source}:2: AnswerRightEnding: answer '3' out of range (expected one of 1, 2)"
    assert not (tmp_path / "b" / "items.jsonl").exists() or not (tmp_path / "b" / "items.jsonl").read_text()


def test_missing_source_and_unknown_format_are_clear(tmp_path: Path):
    missing = runner.invoke(app, ["build", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "b")])
    assert missing.exit_code == 2 and "no such file or directory" in missing.output
    unknown = runner.invoke(app, ["build", "sample:en", "--format", "nope", "-o", str(tmp_path / "b")])
    assert unknown.exit_code == 2 and "unknown format 'nope'" in unknown.output


def test_build_json_never_holds_a_token(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secretvalue123")
    runner.invoke(app, ["build", "sample:en", "-o", str(tmp_path / "b"), "--limit", "1", "-q", "--no-validate"])
    assert "hf_secretvalue123" not in (tmp_path / "b" / "build.json").read_text()
    assert json.loads((tmp_path / "b" / "build.json").read_text())["status"] == "complete"
