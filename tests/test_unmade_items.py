"""An item whose recording is not audio is left out of the build, and the validation pages and
build.json count it: a build of 2 items of which 1 could not be read does not read "all clips passed"."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from s2sbench.cli import app
from tests.test_recordings import first_items

runner = CliRunner()


def test_an_item_whose_recording_is_not_audio_is_counted_by_the_pages_and_build_json(tmp_path: Path):
    folder = tmp_path / "rec"
    unreadable = first_items(1)[0]
    (folder / unreadable.id).mkdir(parents=True)
    (folder / unreadable.id / "context.wav").write_text("this is text, not a recording\n")
    result = runner.invoke(app, ["build", "sample:en", "--limit", "2", "-o", str(tmp_path / "b"), "--speak", "context", "-q",
                                 "--recordings", str(folder)])
    assert result.exit_code == 1, result.output
    assert "1 item not made (audio that could not be read or spoken: failed.jsonl)" in result.stdout
    build = tmp_path / "b"
    assert json.loads((build / "build.json").read_text())["counts"]["item_errors"] == 1
    summary = json.loads((build / "validation.json").read_text())
    assert summary["counts"]["items_not_made"] == 1 and [r["id"] for r in summary["not_made"]] == [unreadable.id]
    page = (build / "validation.md").read_text()
    assert "**1 of 2 items could not be made**" in page and f"first {unreadable.id}: EngineError" in page
    assert "1 of 2 items could not be made" in (build / "report.html").read_text()
    # a re-validation reads the same failures
    again = runner.invoke(app, ["validate", str(build), "-q"])
    assert again.exit_code == 0 and "1 item not made" in again.stdout, again.output
