"""Open a report page in a real headless Chromium and say what it did: errors, clips, images.

The page itself runs no script and its Content-Security-Policy allows none; the test's copy gets
``tests/fixtures/page_probe.js`` first in its ``<head>``, allowed by a nonce added to that policy
(nothing else in the copy changes). Chromium's own log is read too: every console message of the
page is a line with ``CONSOLE`` there, and a clean page logs none.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PROBE = Path(__file__).parent / "fixtures" / "page_probe.js"
POLICY = "default-src 'none';"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    """The Chromium binary; else a skip naming what to install, or a failure where
    ``S2S_REQUIRE_BROWSER`` is set (``.ci/run`` sets it where it installed Chromium)."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    reason = "no chromium binary (apt-get install chromium): the report pages are checked in a real browser"
    if os.environ.get("S2S_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


def probed_copy(page: Path, directory: Path) -> Path:
    """A copy of ``page`` with the probe first in its head and the probe's nonce in its policy."""
    text = page.read_text(encoding="utf-8")
    assert text.count("<head>") == 1 and text.count(POLICY) == 1, f"{page}: not a report page with its policy"
    probe = f'<head><script nonce="probe">{PROBE.read_text(encoding="utf-8")}</script>'
    copy = directory / page.name
    copy.write_text(text.replace("<head>", probe).replace(POLICY, f"{POLICY} script-src 'nonce-probe';"), encoding="utf-8")
    return copy


def open_page(page: Path, timeout: float = 60) -> dict:
    """{"errors", "audio" (per <audio>: clip, ok, readyState, duration), "images" (natural widths),
    "console" (Chromium's CONSOLE log lines)} of ``page`` opened in headless Chromium."""
    binary = chromium()
    with tempfile.TemporaryDirectory() as scratch:
        copy = probed_copy(page, Path(scratch))
        profile = Path(scratch) / "profile"
        result = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=15000", "--dump-dom", copy.as_uri()],
            capture_output=True, text=True, timeout=timeout)
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', result.stdout, re.S)
    assert found, f"the probe left no result (a clip neither played nor failed, or the page did not load): {result.stderr[-2000:]}"
    seen = json.loads(html.unescape(found.group(1)))
    seen["console"] = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return seen
