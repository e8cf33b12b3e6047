"""Reading a build's source: the working directory a relative source is read from."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from s2sbench.builders import BuildContext, sample_path
from s2sbench.pipeline.options import BuildOptions
from s2sbench.pipeline.source import pending_items_in, scan_source
from s2sbench.profiles import load_profile


def test_items_read_from_another_directory_leave_the_callers_directory_alone(tmp_path: Path, monkeypatch):
    """A relative source is read from the driver's directory (as on a Ray worker), yet between items
    the process's working directory is the caller's: the generator changes it only while it reads."""
    driver, elsewhere = tmp_path / "driver", tmp_path / "elsewhere"
    driver.mkdir()
    elsewhere.mkdir()
    shutil.copy(sample_path("en"), driver / "stories.jsonl")
    monkeypatch.chdir(driver)
    options = BuildOptions(source="stories.jsonl", output=driver / "out", lang="en", limit=3)
    context = BuildContext(lang="en", profile=load_profile("en"))
    scan = scan_source(options, context)
    monkeypatch.chdir(elsewhere)  # the caller moves on; the source is not here
    seen = []
    for item in pending_items_in(str(driver), options, context, scan, frozenset()):
        assert Path(os.getcwd()) == elsewhere, "the caller's directory changed while it held an item"
        seen.append(item.id)
    assert len(seen) == 3 and Path(os.getcwd()) == elsewhere
