"""Every refusal is one line, `error: ...`, exit status 2: the parser's own (a number out of range, not
a number, an unknown option) as well as ours, and a CSV field past the csv module's limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args, message", [
    (["build", "sample:en", "-o", "x", "--limit", "0"], "error: Invalid value for '--limit': Input should be greater than or equal to 1"),
    (["build", "sample:en", "-o", "x", "--loudness-lufs", "abc"], "error: Invalid value for '--loudness-lufs': Input should be a valid number"),
    (["score", "b", "-m", "m", "--batch-size", "0"], "error: Invalid value for '--batch-size'"),
    (["build", "sample:en", "-o", "x", "--bogus"], "error: No such option: --bogus"),
    (["build"], "error: Missing argument 'SOURCE'"),
    (["langs", "nosuch"], "error: No such command 'nosuch'"),
])
def test_the_parsers_refusals_are_one_line(tmp_path: Path, args: list[str], message: str):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "x").exists() and not Path("x").exists()


def test_the_command_line_itself_refuses_in_one_line_and_still_helps(tmp_path: Path):
    def s2s(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "s2sbench", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})

    refused = s2s("build", "sample:en", "-o", "x", "--limit", "0")
    assert refused.returncode == 2 and refused.stderr == "error: Invalid value for '--limit': Input should be greater than or equal to 1\n"
    bare = s2s()  # no command: the help, as always
    assert "Commands:" in bare.stdout + bare.stderr
    helped = s2s("build", "--help")
    assert helped.returncode == 0 and "--loudness-lufs" in helped.stdout
    assert s2s("--version").stdout.startswith("s2sbench ")


def test_a_csv_field_over_the_csv_limit_is_one_row_error(tmp_path: Path):
    source = tmp_path / "big.csv"
    source.write_text("ctx,a,b,y\n" + "x" * 140_000 + ",e1,e2,0\nHe went home.,He slept.,He flew.,0\n", encoding="utf-8")
    args = ["build", str(source), "--format", "csv", "--map", "context=ctx,candidates=a|b,answer=y", "--license", "mit", "--no-validate", "-q"]
    refused = runner.invoke(app, [*args, "-o", str(tmp_path / "b")])
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.strip() == f"error: {source}:2: row: not a CSV row the reader takes: field larger than field limit (131072)"
    assert not (tmp_path / "b").exists()
    skipped = runner.invoke(app, [*args, "-o", str(tmp_path / "s"), "--skip-bad-rows", "--speak", "context"])
    assert skipped.exit_code == 0, skipped.output
    assert "built" in skipped.stdout and "1 item " in skipped.stdout and "1 rows skipped" in skipped.stdout  # the reader went on past it
