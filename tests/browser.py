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


def drive_page(url: str, steps: list[str], fake_audio: Path | None = None, timeout: float = 120) -> dict:
    """Open ``url`` in headless Chromium (a fake microphone playing ``fake_audio`` when given) and
    evaluate each JavaScript expression of ``steps`` in turn through the DevTools protocol, awaiting
    the promises they return. {"results": each step's value, "exceptions": the page's uncaught errors}."""
    import asyncio

    return asyncio.run(asyncio.wait_for(_drive(url, steps, fake_audio), timeout))


async def _drive(url: str, steps: list[str], fake_audio: Path | None) -> dict:
    import asyncio

    import aiohttp

    binary = chromium()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as scratch:  # Chromium's helpers may still be writing its profile
        media = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={fake_audio}"] if fake_audio else []
        process = subprocess.Popen([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
                                    f"--user-data-dir={scratch}", "--remote-debugging-port=0", *media, url],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            active = Path(scratch) / "DevToolsActivePort"
            while not active.is_file() or not active.read_text().strip():
                await asyncio.sleep(0.1)
            port = active.read_text().splitlines()[0]
            async with aiohttp.ClientSession() as client:
                page = None
                while page is None:
                    async with client.get(f"http://127.0.0.1:{port}/json") as answer:
                        page = next((t for t in await answer.json() if t.get("type") == "page"), None)
                    await asyncio.sleep(0.1)
                async with client.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                    exceptions, results, number = [], [], 0

                    async def call(method: str, **params) -> dict:
                        nonlocal number
                        number += 1
                        await socket.send_json({"id": number, "method": method, "params": params})
                        while True:
                            message = await socket.receive_json()
                            if message.get("method") == "Runtime.exceptionThrown":
                                exceptions.append(message["params"]["exceptionDetails"].get("text", "exception"))
                            if message.get("id") == number:
                                return message

                    await call("Runtime.enable")
                    while True:  # the target opens on about:blank: wait for the page itself
                        loaded = await call("Runtime.evaluate", expression="location.href + ' ' + document.readyState", returnByValue=True)
                        if loaded.get("result", {}).get("result", {}).get("value") == f"{url} complete":
                            break
                        await asyncio.sleep(0.1)
                    for step in steps:
                        answer = await call("Runtime.evaluate", expression=step, awaitPromise=True, returnByValue=True)
                        result = answer.get("result", {})
                        if "exceptionDetails" in result:
                            raise AssertionError(f"step {step!r} failed: {result['exceptionDetails'].get('exception', {}).get('description')}")
                        results.append(result.get("result", {}).get("value"))
                    return {"results": results, "exceptions": exceptions}
        finally:
            process.kill()
            process.wait()
