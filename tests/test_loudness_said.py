"""A loudness target is met, refused, or said: one that validation's level check would fail is refused
before anything is made, and one the -1 dBFS peak ceiling cannot reach is said, build.json recording
what the clips measure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app

runner = CliRunner()


def test_a_target_the_peak_ceiling_cannot_reach_is_said_and_what_the_clips_have_recorded(tmp_path: Path):
    args = ["build", "sample:en", "--limit", "3", "--speak", "context", "--no-validate", "-q", "-o", str(tmp_path / "loud"), "--loudness-lufs", "-5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    measured = json.loads((tmp_path / "loud" / "build.json").read_text())["loudness_measured"]
    assert measured["target_lufs"] == -5.0 and measured["clips"] == 3 and measured["held_by_peak_ceiling"] == 3
    assert -25 < measured["min_lufs"] <= measured["max_lufs"] < -10  # nowhere near -5: peaks reach -1 dBFS first
    note = (f"note: --loudness-lufs -5: the -1 dBFS peak ceiling held 3 of 3 clips under it (they measure {measured['min_lufs']:.1f} to "
            f"{measured['max_lufs']:.1f} LUFS; build.json's loudness_measured records it)")
    assert note in result.stderr
    again = runner.invoke(app, args)  # an identical re-run measures nothing again, and says it again
    assert again.exit_code == 0 and note in again.stderr
    default = runner.invoke(app, args[:-2])  # the default target is met: nothing to say
    assert default.exit_code == 0 and "peak ceiling" not in default.stderr


@pytest.mark.parametrize("target", ["-60", "-40", "-38"])
def test_a_target_validation_would_fail_is_refused_before_anything_is_made(tmp_path: Path, target: str):
    result = runner.invoke(app, ["build", "sample:en", "--limit", "3", "--speak", "context", "-q", "-o", str(tmp_path / "quiet"), "--loudness-lufs", target])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"error: --loudness-lufs {target}: clips that quiet fail validation's level check (low_level: an average level "
                                     "under -40 dBFS); give -37 or louder, or build with --no-validate")
    assert not (tmp_path / "quiet").exists()


@pytest.mark.parametrize("target", ["nan", "inf", "-inf", "-100", "0"])
def test_a_target_that_is_no_loudness_is_refused(tmp_path: Path, target: str):
    result = runner.invoke(app, ["build", "sample:en", "--limit", "1", "-q", "-o", str(tmp_path / "b"), f"--loudness-lufs={target}"])
    assert result.exit_code == 2 and "expected a loudness from -60 to -5 LUFS" in result.stderr, result.output
    assert not (tmp_path / "b").exists()
