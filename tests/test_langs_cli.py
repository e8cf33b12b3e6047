"""`s2s langs check/show` as a user types them: `--profile FILE`, and codes with no bundled profile.

The round trips are real (espeak-ng speaks); the session's Whisper base (the ``whisper`` fixture)
listens, handed to `check` in place of loading one per command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import ProfileError
from s2sbench.langs import check_targets, describe, write_profile_template
from tests.test_safety import one_line_error

runner = CliRunner()
GERMAN = "Heute scheint die Sonne und die Kinder spielen im Garten."


@pytest.fixture
def german(tmp_path: Path) -> Path:
    """`s2s langs new de -o profiles/de.toml`, its check sentence filled in and a threshold of its own."""
    path = write_profile_template("de", tmp_path / "profiles" / "de.toml")
    text = path.read_text(encoding="utf-8").replace('check_sentence = ""', f'check_sentence = "{GERMAN}"')
    path.write_text(text.replace("max_error = 0.5", "max_error = 0.95"), encoding="utf-8")
    return path


@pytest.fixture
def shared_whisper(whisper, monkeypatch):
    """Every `check` in the command uses the session's recognizer instead of loading its own."""
    import s2sbench.validate.asr as asr

    monkeypatch.setattr(asr, "load_recognizer", lambda spec: whisper)


def _checked_row(result) -> str:
    assert result.exit_code in (0, 1), result.output  # 1: the round trip ran and failed
    rows = [line for line in result.stdout.splitlines() if line.startswith("| de |")]
    assert len(rows) == 1, result.output
    return rows[0]


def test_check_takes_a_profile_file_for_a_code(german: Path, shared_whisper):
    result = runner.invoke(app, ["langs", "check", "de", "--profile", str(german)])
    row = _checked_row(result)
    assert "| German |" in row and "| 0.95 |" in row  # the file's threshold, not the generic 0.5
    # the group's --profile reaches the check too
    assert _checked_row(runner.invoke(app, ["langs", "--profile", str(german), "check", "de"])) == row
    # alone, the file checks itself
    assert _checked_row(runner.invoke(app, ["langs", "check", "--profile", str(german)])) == row


def test_check_targets_pair_codes_and_files(german: Path, tmp_path: Path):
    other = write_profile_template("it", tmp_path / "profiles" / "it.toml")
    assert check_targets(["de"], [german]) == [(str(german), "de")]
    assert check_targets(["at"], [german]) == [(str(german), "at")]  # one code, one file: as build --lang at --profile
    assert check_targets(["en", "de"], [german]) == [("en", None), (str(german), "de")]
    assert check_targets(["de"], [german, other]) == [(str(german), "de"), (str(other), None)]
    assert check_targets([], [german], lang="de") == [(str(german), "de")]
    assert check_targets([str(german)], [other]) == [(str(german), None), (str(other), None)]
    with pytest.raises(ProfileError, match="nothing to check"):
        check_targets([], [])


@pytest.mark.parametrize("command", [["show", "xx"], ["check", "xx"], ["check", "xx", "en"]])
def test_a_code_without_a_profile_points_at_langs_new(command: list[str], shared_whisper):
    result = runner.invoke(app, ["langs", *command])
    one_line_error(result, "xx: no bundled language profile", "s2s langs new xx -o profiles/xx.toml")
    assert "Traceback" not in result.output


def test_show_with_the_group_profile_or_a_path_without_toml_is_one_line(german: Path):
    one_line_error(runner.invoke(app, ["langs", "--profile", str(german), "show", "de"]), "s2s langs show FILE")
    one_line_error(runner.invoke(app, ["langs", "show", str(german.with_suffix(""))]), "nor a profile file")
    with pytest.raises(ProfileError, match="s2s langs new xx"):
        describe("xx")
    assert "German" in runner.invoke(app, ["langs", "show", str(german)]).stdout
