"""``s2s record``: a speaker reads a build's items in a real browser with a (fake) microphone; the
kept takes are checked as audio, land in the recordings layout, and build into validated clips.
The server answers its own host and token only, and refuses what is not audio."""

from __future__ import annotations

import http.client
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app
from s2sbench.record import MAX_UPLOAD_BYTES, RecordingServer, RecordOptions
from s2sbench.synth import TTSSpec, VoiceSettings, load_engine
from tests.browser import drive_page

runner = CliRunner()

UNTIL = """new Promise((ok, fail) => { const start = Date.now(); (function poll() {
  if (document.body.dataset.state === "%s") ok(document.getElementById("where").textContent);
  else if (Date.now() - start > 30000) fail(new Error("still " + document.body.dataset.state + ": " + document.getElementById("status").textContent));
  else setTimeout(poll, 50); })(); })"""
CLICK = 'document.getElementById("%s").click(), true'
WAIT = "new Promise((ok) => setTimeout(() => ok(true), %d))"


@pytest.fixture
def session_build(tmp_path: Path) -> Path:
    output = tmp_path / "build"
    build(BuildOptions(source="sample:en", output=output, limit=3, speak="context", validate=False))
    return output


@pytest.fixture
def serving(session_build: Path):
    session = RecordingServer(RecordOptions(session_build, "ana"))
    thread = threading.Thread(target=session.serve, daemon=True)
    thread.start()
    yield session
    session.stop()
    thread.join(10)


def request(session: RecordingServer, method: str, path: str, body: bytes | None = None, host: str | None = None) -> tuple[int, dict]:
    port = session.server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers={"Host": host or f"127.0.0.1:{port}"})
    answer = connection.getresponse()
    status, data = answer.status, answer.read()
    connection.close()
    return status, json.loads(data) if data.startswith(b"{") else {}


def test_two_items_recorded_through_the_page_become_validated_clips(session_build: Path, serving: RecordingServer, tmp_path: Path):
    first = json.loads((session_build / "items.jsonl").read_text().splitlines()[0])
    samples, rate = load_engine(TTSSpec("espeak")).synthesize(first["context"], "en", VoiceSettings(voice="en-gb-x-rp"))
    sf.write(tmp_path / "microphone.wav", np.asarray(samples, dtype=np.float32) / (32768.0 if np.abs(samples).max() > 1.5 else 1.0), rate, subtype="PCM_16")
    take = [UNTIL % "ready", CLICK % "record", UNTIL % "recording", WAIT % 2500, CLICK % "stop", UNTIL % "recorded", CLICK % "keep"]
    seen = drive_page(serving.url, [*take, *take, UNTIL % "ready", "document.getElementById('where').textContent"], tmp_path / "microphone.wav")
    assert seen["exceptions"] == [], seen
    assert seen["results"][0].endswith("(1 of 3)") and seen["results"][-1].endswith("(3 of 3)")  # two kept; the third is next
    folder = session_build / "recordings" / "ana"
    takes = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.webm"))
    items = [json.loads(line) for line in (session_build / "items.jsonl").read_text().splitlines()]
    assert takes == sorted(f"{item['id']}/context.webm" for item in items[:2])
    assert (folder / "speaker.txt").read_text() == "ana\n"
    # A new session resumes at the first text without a recording.
    assert [entry["recorded"] for entry in RecordingServer(RecordOptions(session_build, "ana")).state()["items"]] == [True, True, False]
    serving.stop()
    result = runner.invoke(app, ["build", "sample:en", "--limit", "3", "--speak", "context", "-o", str(session_build), "-q",
                                 "--recordings", str(folder), "--recordings-only"])
    assert result.exit_code == 0, result.output
    built = [json.loads(line) for line in (session_build / "items.jsonl").read_text().splitlines()]
    assert [item["id"] for item in built] == [item["id"] for item in items[:2]]
    for item in built:
        assert item["audio"]["voices"]["context"] == "human:ana"
        verdict = item["validation"]["context"]
        assert verdict["asr"] is not None and "error" in verdict and verdict["duration"] > 1.0, verdict  # heard back


def test_the_server_answers_its_own_host_and_token_only(serving: RecordingServer):
    token = serving.token
    assert request(serving, "GET", f"/state?token={token}")[0] == 200
    assert request(serving, "GET", "/state")[0] == 403
    assert request(serving, "GET", f"/state?token={token}x")[0] == 403
    assert request(serving, "GET", f"/state?token={token}", host="attacker.example:80")[0] == 403  # DNS rebinding
    assert request(serving, "GET", f"/?token={token}", host="evil.localhost")[0] == 403


def test_a_take_that_is_not_audio_or_too_large_is_refused_and_nothing_is_kept(serving: RecordingServer, session_build: Path):
    item = serving.prompts[0]
    path = f"/take?token={serving.token}&id={item.item_id}&part=context"
    status, answer = request(serving, "POST", path, b"not audio at all")
    assert status == 422 and "not audio" in answer["error"]
    status, answer = request(serving, "POST", f"/take?token={serving.token}&id=../../x&part=context", b"x")
    assert status == 422 and "not a text of this session" in answer["error"]
    port = serving.server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("POST", path, skip_host=True)
    connection.putheader("Host", f"127.0.0.1:{port}")
    connection.putheader("Content-Length", str(MAX_UPLOAD_BYTES + 1))  # refused on its header: the body is never read
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    assert not list((session_build / "recordings" / "ana").rglob("*.webm"))


def test_record_refuses_a_speaker_that_is_not_a_name(session_build: Path):
    result = runner.invoke(app, ["record", str(session_build), "--speaker", "../x"])
    assert result.exit_code == 2 and "--speaker:" in result.stderr
    assert not (session_build / "recordings").exists() or not any((session_build / "recordings").iterdir())
    shutil.rmtree(session_build / "recordings", ignore_errors=True)
