"""``s2s record BUILD --speaker NAME``: people read a build's items aloud in their browser.

A small server on the loopback interface serves one page that walks a speaker through the build's
items: it shows the text, records from the microphone (the browser's MediaRecorder), plays the take
back, and keeps it or records it again. It starts at the first item without a recording, so a session
stopped at any point resumes there. Each kept take is checked as audio (decoded through FFmpeg, at
most :data:`MAX_UPLOAD_BYTES` and :data:`~s2sbench.clip_length.MAX_CLIP_SECONDS`) and written whole
(a temporary file renamed into place) to ``BUILD/recordings/NAME/ITEM-ID/PART.webm``: the layout
``s2s build --recordings`` reads (:mod:`s2sbench.pipeline.recordings`), so a killed server loses at most
the take in flight. Build the recordings into validated clips with
``s2s build SOURCE -o BUILD --recordings BUILD/recordings/NAME``.

Only this machine can use it: the server listens on 127.0.0.1, answers only requests whose ``Host``
names that address (a web page elsewhere cannot reach it through a DNS name), and only those that
carry the random token of the URL it prints first.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from s2sbench._io import write_atomic
from s2sbench.builddir import BuildDirectory
from s2sbench.clip_length import MAX_CLIP_SECONDS
from s2sbench.errors import S2SBenchError
from s2sbench.items import name_problem
from s2sbench.pipeline.recordings import AUDIO_SUFFIXES, SPEAKER_FILE, part_index

MAX_UPLOAD_BYTES = 20 * 2**20  # a 10-minute take of browser opus is about 5 MB
RECORDINGS_DIR = "recordings"
PARTS = ("context", "all")


@dataclass
class RecordOptions:
    build: Path
    speaker: str
    parts: str = "context"  # what to read: each item's context, or its candidates too
    port: int = 0  # 0: any free port


@dataclass(frozen=True)
class Prompt:
    """One text to read: the item, its part (``context`` or ``candidate-K``) and the text."""

    item_id: str
    part: str
    text: str


def speaker_folder(build: Path, speaker: str) -> Path:
    return Path(build) / RECORDINGS_DIR / speaker


def prompts(directory: BuildDirectory, parts: str) -> list[Prompt]:
    """What the speaker reads, in the build's order."""
    found = []
    for item in directory.iter_items():
        found.append(Prompt(item.id, "context", item.context))
        if parts == "all":
            found += [Prompt(item.id, f"candidate-{k}", text) for k, text in enumerate(item.candidates)]
    return found


def recorded(folder: Path, prompt: Prompt) -> bool:
    return any((folder / prompt.item_id / f"{prompt.part}{suffix}").is_file() for suffix in AUDIO_SUFFIXES)


def keep_take(folder: Path, prompt: Prompt, data: bytes) -> float:
    """Check ``data`` as audio (decoded, not empty, not too long) and write it as the prompt's
    recording; returns its length in seconds."""
    from s2sbench.synth.clips import recording_seconds

    with tempfile.NamedTemporaryFile(suffix=".webm") as scratch:
        scratch.write(data)
        scratch.flush()
        seconds = recording_seconds(Path(scratch.name), MAX_CLIP_SECONDS, name="the take")
    if seconds <= 0.1:
        raise S2SBenchError("the take holds no sound")
    if seconds > MAX_CLIP_SECONDS:
        raise S2SBenchError(f"the take is {seconds:.0f} s, longer than {MAX_CLIP_SECONDS:.0f} s")
    for suffix in AUDIO_SUFFIXES:  # a take kept again replaces the earlier one, whatever its format
        (folder / prompt.item_id / f"{prompt.part}{suffix}").unlink(missing_ok=True)
    (folder / prompt.item_id).mkdir(parents=True, exist_ok=True)
    write_atomic(folder / prompt.item_id / f"{prompt.part}.webm", data)
    return seconds


class RecordingServer:
    """The loopback server of one recording session (see the module doc)."""

    def __init__(self, options: RecordOptions):
        if (problem := name_problem(options.speaker.replace(" ", "_"))) is not None:
            raise S2SBenchError(f"--speaker: {problem}")
        if options.parts not in PARTS:
            raise S2SBenchError(f"--parts must be one of {', '.join(PARTS)}, not {options.parts!r}")
        self.directory = BuildDirectory(options.build).require()
        self.folder = speaker_folder(options.build, options.speaker)
        self.prompts = prompts(self.directory, options.parts)
        if not self.prompts:
            raise S2SBenchError(f"{options.build}: no items to record")
        self.by_key = {(p.item_id, p.part): p for p in self.prompts}
        self.speaker = options.speaker
        self.token = secrets.token_urlsafe(18)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / SPEAKER_FILE, options.speaker + "\n")
        self.server = ThreadingHTTPServer(("127.0.0.1", options.port), _handler(self))
        self.lock = threading.Lock()  # one take written at a time

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/?token={self.token}"

    def allowed_hosts(self) -> set[str]:
        port = self.server.server_address[1]
        return {f"127.0.0.1:{port}", f"localhost:{port}"}

    def state(self) -> dict[str, Any]:
        items = [{"id": p.item_id, "part": p.part, "text": p.text, "recorded": recorded(self.folder, p)} for p in self.prompts]
        return {"speaker": self.speaker, "items": items}

    def keep(self, item_id: str, part: str, data: bytes) -> dict[str, Any]:
        prompt = self.by_key.get((item_id, part))
        if prompt is None or part_index(part) is None:
            raise S2SBenchError(f"{item_id} {part}: not a text of this session")
        with self.lock:
            seconds = keep_take(self.folder, prompt, data)
        return {"kept": f"{item_id}/{part}", "seconds": round(seconds, 2)}

    def serve(self, ready: Callable[[str], None] = lambda url: None) -> None:
        """Serve until interrupted (Ctrl-C) or :meth:`stop`; ``ready`` gets the URL first."""
        with self.directory.reading():  # no build rewrites the items while they are read aloud
            ready(self.url)
            try:
                self.server.serve_forever(poll_interval=0.2)
            finally:
                self.server.server_close()

    def stop(self) -> None:
        self.server.shutdown()


def _handler(session: RecordingServer) -> type[BaseHTTPRequestHandler]:
    """The request handler of ``session``'s server: every request checked as the session's, then
    answered by the route its method and path name (:data:`ROUTES`)."""
    return type("Handler", (_SessionHandler,), {"session": session})


class _SessionHandler(BaseHTTPRequestHandler):
    session: RecordingServer

    def log_message(self, *args: Any) -> None:  # the terminal shows the session's own lines only
        pass

    def _answer(self, status: int, body: bytes, kind: str, policy: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if policy:
            self.send_header("Content-Security-Policy", policy)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: dict[str, Any]) -> None:
        self._answer(status, json.dumps(value, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _checked(self) -> dict[str, list[str]] | None:
        """The query when the request is this session's (its host and token), else None (answered)."""
        if self.headers.get("Host") not in self.session.allowed_hosts():
            self._json(HTTPStatus.FORBIDDEN, {"error": "this server answers 127.0.0.1 only"})
            return None
        query = parse_qs(urlsplit(self.path).query)
        if not secrets.compare_digest((query.get("token") or [""])[0], self.session.token):
            self._json(HTTPStatus.FORBIDDEN, {"error": "wrong or missing token"})
            return None
        return query

    def _route(self, method: str) -> None:
        query = self._checked()
        if query is None:
            return
        route = ROUTES.get((method, urlsplit(self.path).path))
        if route is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "no such page"})
            return
        route(self, query)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")


def _page(handler: _SessionHandler, query: dict[str, list[str]]) -> None:
    """The recording page, its script and style allowed by a nonce of this answer alone."""
    nonce = secrets.token_urlsafe(12)
    page = PAGE.replace("NONCE", nonce).encode("utf-8")
    policy = f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; media-src blob:"
    handler._answer(HTTPStatus.OK, page, "text/html; charset=utf-8", policy)


def _state(handler: _SessionHandler, query: dict[str, list[str]]) -> None:
    handler._json(HTTPStatus.OK, handler.session.state())


def _take(handler: _SessionHandler, query: dict[str, list[str]]) -> None:
    """Keep one take the page uploads, refused when it is empty or larger than :data:`MAX_UPLOAD_BYTES`."""
    try:
        length = int(handler.headers.get("Content-Length") or -1)
    except ValueError:
        length = -1
    if not 0 < length <= MAX_UPLOAD_BYTES:
        handler._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"a take is 1 byte to {MAX_UPLOAD_BYTES // 2**20} MiB"})
        handler.close_connection = True
        return
    data = handler.rfile.read(length)
    try:
        handler._json(HTTPStatus.OK, handler.session.keep((query.get("id") or [""])[0], (query.get("part") or [""])[0], data))
    except S2SBenchError as exc:
        handler._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})


# What the page may ask, by method and path; anything else is answered 404 (after the session check).
ROUTES: dict[tuple[str, str], Callable[[_SessionHandler, dict[str, list[str]]], None]] = {
    ("GET", "/"): _page,
    ("GET", "/state"): _state,
    ("POST", "/take"): _take,
}


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>s2s record</title>
<style nonce="NONCE">
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
#text { font-size: 1.5rem; line-height: 1.5; padding: 1rem; border: 1px solid #ccc; border-radius: .5rem; min-height: 5rem; unicode-bidi: isolate; }
button { font-size: 1.1rem; margin: .5rem .5rem 0 0; padding: .5rem 1rem; }
#status { color: #555; margin-top: 1rem; min-height: 1.5rem; }
</style></head>
<body>
<h1>Read aloud</h1>
<p id="where"></p>
<div id="text" dir="auto"></div>
<div>
<button id="record" type="button">Record</button><button id="stop" type="button" disabled>Stop</button>
<button id="keep" type="button" disabled>Keep</button><button id="redo" type="button" disabled>Record again</button>
<button id="skip" type="button">Skip</button>
</div>
<audio id="take" controls></audio>
<p id="status"></p>
<script nonce="NONCE">
"use strict";
const token = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
let items = [], at = 0, stream = null, recorder = null, take = null;
function show() {
  while (at < items.length && items[at].recorded) at++;
  const done = items.filter((i) => i.recorded).length;
  if (at >= items.length) { $("text").textContent = "Every text is recorded. Thank you!"; $("where").textContent = done + " of " + items.length + " recorded";
    for (const b of ["record", "stop", "keep", "redo", "skip"]) $(b).disabled = true; document.body.dataset.state = "done"; return; }
  const item = items[at];
  $("where").textContent = item.id + " " + item.part + " (" + (done + 1) + " of " + items.length + ")";
  $("text").textContent = item.text;
  $("record").disabled = false; $("stop").disabled = true; $("keep").disabled = true; $("redo").disabled = true;
  document.body.dataset.state = "ready";
}
async function record() {
  stream = stream || await navigator.mediaDevices.getUserMedia({audio: true});
  const chunks = [];
  recorder = new MediaRecorder(stream, {mimeType: "audio/webm;codecs=opus"});
  recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  recorder.onstop = () => { take = new Blob(chunks, {type: "audio/webm"}); $("take").src = URL.createObjectURL(take);
    $("keep").disabled = false; $("redo").disabled = false; document.body.dataset.state = "recorded"; $("status").textContent = "Listen, then keep it or record again."; };
  recorder.start();
  $("record").disabled = true; $("stop").disabled = false; document.body.dataset.state = "recording"; $("status").textContent = "Recording...";
}
async function keep() {
  const item = items[at];
  $("keep").disabled = true; $("status").textContent = "Saving...";
  const answer = await fetch("take?token=" + encodeURIComponent(token) + "&id=" + encodeURIComponent(item.id) + "&part=" + encodeURIComponent(item.part),
    {method: "POST", body: take});
  const result = await answer.json();
  if (!answer.ok) { $("status").textContent = "Not kept: " + result.error; $("redo").disabled = false; document.body.dataset.state = "refused"; return; }
  $("status").textContent = "Kept (" + result.seconds + " s).";
  item.recorded = true; take = null; show();
}
$("record").onclick = () => record().catch((e) => { $("status").textContent = "No microphone: " + e; });
$("stop").onclick = () => recorder && recorder.stop();
$("redo").onclick = () => record();
$("keep").onclick = () => keep();
$("skip").onclick = () => { at++; while (at < items.length && items[at].recorded) at++; show(); };
fetch("state?token=" + encodeURIComponent(token)).then((r) => r.json()).then((s) => { items = s.items; show(); });
</script>
</body></html>
"""
