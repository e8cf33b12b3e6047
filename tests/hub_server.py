"""An in-memory Hugging Face Hub on 127.0.0.1, for tests.

It speaks enough of the Hub's HTTP protocol that the official clients (``huggingface_hub`` with
``HF_HUB_DISABLE_XET=1``, ``datasets``) run against it unmodified once ``HF_ENDPOINT`` points at it::

    with HubServer(users={"hf_alice_token": "alice"}) as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": "hf_alice_token"}
        ...  # run client code in a subprocess with that environment
        hub.commits("alice/ds")   # [Commit(oid, message, files={path: bytes}, ...)], newest last
        hub.files("alice/ds")     # {path: bytes} at "main"
        hub.requests              # [Request(method, path, status, query, route)], every request received
        hub.fault("lfs_upload", status=500)        # faults, by route (the handler's name): see HubServer.fault
        hub.fault("commit", stall=10, times=1)
        hub.fault("commit", hook=lambda: ..., times=1)  # run something between a client's read and its write

State: repos (model or dataset) with an owner namespace, a private flag, refs (branches, tags, PRs) pointing
at commits, and commits that are full snapshots (path -> bytes) with a message and a parent. Git LFS objects
are kept per repo by sha256. Tree/blob oids are computed like git's for blobs (and LFS pointers); directory
oids are stable hashes, not git tree hashes.

Behaviour copied from the Hub:
  * ``Authorization: Bearer TOKEN``: an unknown token is a 401 on every endpoint; reading a private repo
    without its owner's token is a 404 ``RepoNotFound``; writing under another namespace is a 403; a
    malformed repo id or name is a 400. Errors are JSON ``{"error": ...}`` with the ``X-Error-Code`` /
    ``X-Error-Message`` headers huggingface_hub maps to its exceptions.
  * a new repo starts with an "initial commit" holding ``.gitattributes`` (LFS patterns), by "system".
  * a commit with no change still creates a commit (the client is the one that skips empty commits).
  * a stale ``parentCommit`` is a 412.

Faults (:meth:`HubServer.fault`): a route can answer an error status, reset the connection, stall (then
drop the connection unanswered; at most :data:`MAX_STALL` seconds, and never past :meth:`HubServer.stop`), or
run a hook first, for every matching request or the next ``times`` ones. A faulted request is logged with its
route and the status it got (0 for a reset or a stall).

Anything the server does not know is answered 404 JSON and logged with ``route=None`` (see
:meth:`HubServer.unknown_requests`), so gaps are easy to see. Only the standard library is used, plus
PyYAML (a dependency of huggingface_hub) to read README front matter.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, unquote, urlsplit

MAX_STALL = 60.0  # seconds: the longest a stalled request is held
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024  # the Hub stores any file of 10 MB or more in LFS
NAME_RE = re.compile(r"^(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")  # repo or namespace name
YAML_BLOCK_RE = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
SPECIAL_REF_KINDS = ("heads", "tags", "pr", "convert")

_LFS_EXTENSIONS = (
    "7z arrow bin bz2 ckpt ftz gz h5 joblib lfs mlmodel model msgpack npy npz onnx ot parquet pb pickle pkl pt pth"
    " rar safetensors tar tflite tgz wasm xz zip zst mds lz4 pcm sam raw aac flac mp3 ogg wav bmp gif png tiff jpg"
    " jpeg webp"
)
DEFAULT_GITATTRIBUTES = "".join(f"*.{ext} filter=lfs diff=lfs merge=lfs -text\n" for ext in _LFS_EXTENSIONS.split())
DEFAULT_GITATTRIBUTES += "*tfevents* filter=lfs diff=lfs merge=lfs -text\n"

# ----------------------------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Commit:
    oid: str
    message: str  # the summary (first line), what the Hub calls the title
    files: dict[str, bytes]  # full snapshot: path -> content
    parent: str | None = None
    description: str = ""
    author: str = "system"
    date: str = ""
    lfs: frozenset[str] = frozenset()  # paths stored as LFS pointers


@dataclass
class Repo:
    type: str  # "model" or "dataset"
    id: str  # "namespace/name"
    private: bool
    created_at: str
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # full ref name ("refs/heads/main") -> commit oid
    lfs_objects: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content
    num_prs: int = 0
    gated: bool = False  # its files are served only to its owner's namespace (as to users whose access was granted)

    @property
    def namespace(self) -> str:
        return self.id.split("/")[0]

    @property
    def url_prefix(self) -> str:  # how the Hub's web URLs name the repo type
        return "" if self.type == "model" else f"{self.type}s/"


class Request(NamedTuple):
    method: str
    path: str  # percent-decoded URL path
    status: int
    query: str = ""
    route: str | None = None  # the handler that answered, None for an unknown endpoint


class HubError(Exception):
    """An error answer: JSON ``{"error": message}`` plus the Hub's ``X-Error-*`` headers."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.code, self.headers, self.extra = status, message, code, headers or {}, extra


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One received request, as the handlers see it."""

    method: str
    path: str  # raw (still percent-encoded) path
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    user: str | None = None

    def flag(self, name: str, default: bool = False) -> bool:
        values = self.query.get(name)
        return default if not values else values[0].lower() in ("1", "true", "yes")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as e:
            raise HubError(400, f"Invalid JSON body: {e}") from None


@dataclass
class Fault:
    """What the server does to requests of one route instead of (or before) answering them."""

    route: str  # a handler's name: "whoami", "preupload", "lfs_batch", "lfs_upload", "commit", "tree", "resolve", ...
    method: str | None = None  # only requests with this method; None: any
    status: int | None = None  # answer this error status (JSON error, X-Error-Message) without handling
    reset: bool = False  # reset the connection (TCP RST) without answering
    stall: float = 0.0  # hold the request this long, then close the connection unanswered
    hook: Callable[[], Any] | None = None  # run first (without the server's lock), then answer normally
    times: int | None = None  # the next N matching requests; None: every one
    headers: dict[str, str] = field(default_factory=dict)  # extra headers of a status answer (Retry-After, ...)
    hits: list[float] = field(default_factory=list)  # time.monotonic() of each request it hit
    errors: list[BaseException] = field(default_factory=list)  # what a hook raised (the request is then answered)


class _Drop(Exception):
    """Raised by the handler to end a connection without an answer (``reset``: with a TCP RST)."""

    def __init__(self, reset: bool):
        super().__init__("reset" if reset else "drop")
        self.reset = reset


def _json(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    sha = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n".encode()


def card_metadata(readme: bytes) -> dict | None:
    """The YAML front matter of a README, None without one. Raises ``ValueError`` when it is not valid YAML."""
    import yaml

    match = YAML_BLOCK_RE.search(readme.decode("utf-8", errors="replace"))
    if match is None:
        return None
    try:
        data = yaml.safe_load(match.group(2))
    except yaml.YAMLError as e:
        raise ValueError(str(e)) from None
    if data is not None and not isinstance(data, dict):
        raise ValueError("repo card metadata block should be a dict")
    return data or None


def _lfs_patterns(gitattributes: bytes) -> list[str]:
    patterns = []
    for line in gitattributes.decode("utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def _matches(path: str, patterns: list[str]) -> bool:
    """A small approximation of gitattributes/gitignore matching."""
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        pattern = pattern.lstrip("/").rstrip("/")
        target = path if "/" in pattern else name
        if fnmatch.fnmatchcase(target, pattern) or fnmatch.fnmatchcase(path, pattern + "/*"):
            return True
    return False


# ----------------------------------------------------------------------------------------------- server


class HubServer:
    """The in-memory Hub, served by a :class:`ThreadingHTTPServer` in a background thread.

    Args:
        users: access token -> user name.
        orgs: organization name -> member user names (members may write under the organization).
        tree_page_size: entries per page of ``/tree`` and ``/commits`` listings (``Link: rel="next"`` beyond).
    """

    def __init__(
        self,
        users: dict[str, str] | None = None,
        orgs: dict[str, list[str]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tree_page_size: int = 1000,
    ):
        self.users = dict(users or {})
        self.orgs = {org: list(members) for org, members in (orgs or {}).items()}
        self.tree_page_size = tree_page_size
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[Request] = []
        self._upload_tickets: dict[str, tuple[tuple[str, str], str, int]] = {}  # ticket -> (repo key, oid, size)
        self.faults: list[Fault] = []
        self._stopping = threading.Event()
        self._lock = threading.RLock()
        self._counter = 0
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()

    # -- lifecycle

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # stalled requests end now
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> HubServer:  # noqa: PYI034 - Self needs Python 3.11
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for tests

    def create_repo(self, repo_id: str, *, repo_type: str = "dataset", private: bool = False, gated: bool = False) -> Repo:
        """Create a repo directly (with its initial commit), as if its owner had; ``gated``: its files
        are refused to everyone outside its namespace, as a gated repo's are to users not granted access."""
        with self._lock:
            key = (repo_type, repo_id)
            if key in self.repos:
                raise ValueError(f"{repo_type} {repo_id} already exists")
            repo = Repo(type=repo_type, id=repo_id, private=private, created_at=_now(), gated=gated)
            initial = self._new_commit(repo, None, {".gitattributes": DEFAULT_GITATTRIBUTES.encode()}, set(),
                                       "initial commit", "", "system")
            repo.refs["refs/heads/main"] = initial.oid
            self.repos[key] = repo
            return repo

    def land_commit(self, repo_id: str, files: dict[str, bytes], message: str, *, author: str = "system",
                    revision: str = "main", repo_type: str = "dataset") -> Commit:
        """Commit ``files`` (added or replaced, as regular files) on top of ``revision``, as if another client had."""
        with self._lock:
            repo = self.repo(repo_id, repo_type=repo_type)
            ref = f"refs/heads/{revision}"
            head = repo.commits[repo.refs[ref]]
            commit = self._new_commit(repo, head.oid, {**head.files, **files}, set(head.lfs) - set(files), message, "", author)
            repo.refs[ref] = commit.oid
            return commit

    def repo(self, repo_id: str, *, repo_type: str = "dataset") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def commits(self, repo_id: str, revision: str = "main", *, repo_type: str = "dataset") -> list[Commit]:
        """The history of ``revision`` (first parents), oldest first and newest last."""
        with self._lock:
            repo = self.repo(repo_id, repo_type=repo_type)
            return list(reversed(self._history(repo, self._resolve(repo, revision))))

    def files(self, repo_id: str, revision: str = "main", *, repo_type: str = "dataset") -> dict[str, bytes]:
        with self._lock:
            repo = self.repo(repo_id, repo_type=repo_type)
            return dict(repo.commits[self._resolve(repo, revision)].files)

    def fault(self, route: str, *, method: str | None = None, status: int | None = None, reset: bool = False,
              stall: float = 0.0, hook: Callable[[], Any] | None = None, times: int | None = None,
              headers: dict[str, str] | None = None) -> Fault:
        """Make requests of ``route`` (a handler's name) fail: answer ``status``, ``reset`` the connection, or
        ``stall`` for that many seconds (bounded by :data:`MAX_STALL`) and then drop it; or run ``hook`` before
        answering. Applies to the next ``times`` matching requests, or to all of them; the first fault that
        matches wins. Returns the :class:`Fault` (its ``hits`` say when it struck)."""
        if route not in {handler.__name__ for _, _, handler in self._routes}:
            raise ValueError(f"unknown route {route!r}")
        if sum((status is not None, reset, stall > 0, hook is not None)) != 1:
            raise ValueError("give one of status, reset, stall or hook")
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"not an error status: {status}")
        fault = Fault(route, method, status, reset, min(float(stall), MAX_STALL), hook, times, dict(headers or {}))
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, method: str, route: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.route == route and fault.method in (None, method) and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    fault.hits.append(time.monotonic())
                    return fault
        return None

    def unknown_requests(self) -> list[Request]:
        """Requests for endpoints this server does not implement (all answered 404)."""
        return [r for r in self.requests if r.route is None]

    def endpoints(self) -> list[tuple[str, str | None, int]]:
        """Distinct (method, route, status) seen so far, in order of first appearance."""
        return list(dict.fromkeys((r.method, r.route, r.status) for r in self.requests))

    # -- model

    def _new_commit(self, repo: Repo, parent: str | None, files: dict[str, bytes], lfs: set[str], message: str,
                    description: str, author: str) -> Commit:
        self._counter += 1
        digest = hashlib.sha1()
        for path in sorted(files):
            digest.update(f"{path}\0{git_blob_oid(files[path])}\n".encode())
        digest.update(f"{parent}\n{message}\n{description}\n{author}\n{self._counter}\n{_now()}".encode())
        commit = Commit(oid=digest.hexdigest(), message=message, files=dict(files), parent=parent,
                        description=description, author=author, date=_now(), lfs=frozenset(lfs & set(files)))
        repo.commits[commit.oid] = commit
        return commit

    def _history(self, repo: Repo, oid: str) -> list[Commit]:
        """Newest first."""
        out = []
        while oid is not None:
            commit = repo.commits[oid]
            out.append(commit)
            oid = commit.parent
        return out

    def _resolve(self, repo: Repo, revision: str) -> str:
        """A branch, tag, full ref name or commit oid (or unambiguous prefix) -> commit oid."""
        for ref in (revision, f"refs/heads/{revision}", f"refs/tags/{revision}"):
            if ref in repo.refs:
                return repo.refs[ref]
        if revision in repo.commits:
            return revision
        if re.fullmatch(r"[0-9a-f]{7,40}", revision):
            found = [oid for oid in repo.commits if oid.startswith(revision)]
            if len(found) == 1:
                return found[0]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def _owns(self, user: str | None, namespace: str) -> bool:
        return user is not None and (user == namespace or user in self.orgs.get(namespace, []))

    def _get_repo(self, call: Call, type_plural: str, ns: str, name: str, *, write: bool = False,
                  create_pr: bool = False) -> Repo:
        if not (NAME_RE.match(ns) and NAME_RE.match(name)) or name.endswith(".git"):
            raise HubError(400, f"Invalid repo id: '{ns}/{name}'")
        repo = self.repos.get((type_plural[:-1], f"{ns}/{name}"))
        if repo is None or (repo.private and not self._owns(call.user, repo.namespace)):
            raise HubError(404, "Repository not found", "RepoNotFound")
        if write:
            if call.user is None:
                raise HubError(401, "You must be authenticated to write to this repo")
            if not create_pr and not self._owns(call.user, repo.namespace):
                raise HubError(403, f"You don't have the rights to write to {repo.type} {repo.id} as {call.user}")
        return repo

    @staticmethod
    def _split_revision(raw: str) -> tuple[str, str]:
        """'main/a%2Fb' or 'refs%2Fpr%2F1/a/b' or 'refs/pr/1/a/b' -> (revision, path in repo)."""
        segments = raw.split("/")
        if unquote(segments[0]) == "refs" and len(segments) >= 3 and segments[1] in SPECIAL_REF_KINDS:
            revision, rest = "/".join(segments[:3]), segments[3:]
        else:
            revision, rest = unquote(segments[0]), segments[1:]
        return revision, unquote("/".join(rest)).strip("/")

    def _file_entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
        data = commit.files[path]
        if path in commit.lfs:
            pointer = lfs_pointer(data)
            entry = {"type": "file", "oid": git_blob_oid(pointer), "size": len(data), "path": path,
                     "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": len(pointer)}}
        else:
            entry = {"type": "file", "oid": git_blob_oid(data), "size": len(data), "path": path}
        if expand:
            entry["lastCommit"] = self._last_commit(repo, commit, path)
            entry["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False, "virusNames": None},
                                           "pickleImportScan": None}
        return entry

    def _dir_entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
        digest = hashlib.sha1()
        for sub in sorted(p for p in commit.files if p.startswith(path + "/")):
            digest.update(f"{sub}\0{git_blob_oid(commit.files[sub])}\n".encode())
        entry = {"type": "directory", "oid": digest.hexdigest(), "size": 0, "path": path}
        if expand:
            entry["lastCommit"] = self._last_commit(repo, commit, path)
        return entry

    def _last_commit(self, repo: Repo, commit: Commit, path: str) -> dict:
        def state(c: Commit):
            return sorted((p, c.files[p], p in c.lfs) for p in c.files if p == path or p.startswith(path + "/"))

        current = state(commit)
        while commit.parent is not None and state(repo.commits[commit.parent]) == current:
            commit = repo.commits[commit.parent]
        return {"id": commit.oid, "title": commit.message, "date": commit.date}

    def _entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict | None:
        if path in commit.files:
            return self._file_entry(repo, commit, path, expand)
        if any(p.startswith(path + "/") for p in commit.files):
            return self._dir_entry(repo, commit, path, expand)
        return None

    def _paginate(self, call: Call, items: list, page_size: int) -> Response:
        start = int((call.query.get("cursor") or ["0"])[0] or 0)
        page = items[start:start + page_size]
        headers = {}
        if start + page_size < len(items):
            query = {k: v[0] for k, v in call.query.items() if k != "cursor"}
            query["cursor"] = str(start + page_size)
            qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
            headers["Link"] = f'<{self.url}{call.path}?{qs}>; rel="next"'
        return _json(page, headers=headers)

    # -- routing

    def _build_routes(self) -> list[tuple[str, re.Pattern, Callable[..., Response]]]:
        repo_api = r"^/api/(?P<type>models|datasets)/(?P<ns>[^/]+)/(?P<name>[^/]+)"
        git = r"^/(?:(?P<type>datasets)/)?(?P<ns>[^/]+)/(?P<name>[^/]+?)\.git/info/lfs/objects"
        table = [
            ("GET", r"^/api/whoami-v2$", self.whoami),
            ("POST", r"^/api/repos/create$", self.create_repo_api),
            ("DELETE", r"^/api/repos/delete$", self.delete_repo_api),
            ("POST", r"^/api/validate-yaml$", self.validate_yaml),
            ("GET", repo_api + r"$", self.repo_info),
            ("GET", repo_api + r"/revision/(?P<rev>.+)$", self.repo_info),
            ("GET", repo_api + r"/tree/(?P<rest>.+)$", self.tree),
            ("POST", repo_api + r"/paths-info/(?P<rev>.+)$", self.paths_info),
            ("POST", repo_api + r"/preupload/(?P<rev>.+)$", self.preupload),
            ("POST", repo_api + r"/commit/(?P<rev>.+)$", self.commit),
            ("GET", repo_api + r"/commits/(?P<rev>.+)$", self.list_commits),
            ("GET", repo_api + r"/refs$", self.refs),
            ("POST", repo_api + r"/branch/(?P<rev>.+)$", self.create_branch),
            ("POST", repo_api + r"/tag/(?P<rev>.+)$", self.create_tag),
            ("DELETE", repo_api + r"/tag/(?P<tag>.+)$", self.delete_tag),
            ("DELETE", repo_api + r"/branch/(?P<rev>.+)$", self.delete_branch),
            ("PUT", repo_api + r"/settings$", self.settings),
            ("POST", git + r"/batch$", self.lfs_batch),
            ("POST", git + r"/verify$", self.lfs_verify),
            ("PUT", r"^/lfs-upload/(?P<ticket>[0-9a-f]+)$", self.lfs_upload),
            ("GET", r"^/(?:(?P<type>datasets)/)?(?P<ns>[^/]+)/(?P<name>[^/]+)/(?P<kind>resolve|raw)/(?P<rest>.+)$",
             self.resolve),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    def _route(self, method: str, path: str) -> tuple[Callable[..., Response], re.Match] | None:
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match and (route_method == method or (route_method == "GET" and method == "HEAD")):
                return handler, match
        return None

    def route_name(self, method: str, target: str) -> str | None:
        """The name of the route that answers ``method target``, None for an unknown endpoint."""
        found = self._route(method, urlsplit(target).path)
        return found[0].__name__ if found else None

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> tuple[Response, str | None]:
        """Answer one request; returns the response and the name of the route that answered it."""
        split = urlsplit(target)
        call = Call(method, split.path, parse_qs(split.query, keep_blank_values=True), headers, body)
        found = self._route(method, split.path)
        if found is None:
            return _json({"error": f"Unknown endpoint: {method} {split.path}"}, 404), None
        handler, match = found
        try:
            call.user = self._authenticate(headers)
            with self._lock:
                groups = match.groupdict()
                if "type" in groups:  # web and git URLs name model repos without a prefix
                    groups["type"] = groups["type"] or "models"
                return handler(call, **groups), handler.__name__
        except HubError as e:
            headers_out = {"X-Error-Message": e.message, **e.headers}
            if e.code:
                headers_out["X-Error-Code"] = e.code
            return _json({"error": e.message, **e.extra}, e.status, headers_out), handler.__name__

    def _authenticate(self, headers: Any) -> str | None:
        auth = headers.get("Authorization")
        if not auth:
            return None
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth.strip()
        if token not in self.users:
            raise HubError(401, "Invalid credentials in Authorization header")
        return self.users[token]

    # -- endpoints: account, repos

    def whoami(self, call: Call) -> Response:
        if call.user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        orgs = [{"type": "org", "name": org, "fullname": org, "roleInOrg": "write"}
                for org, members in self.orgs.items() if call.user in members]
        return _json({
            "type": "user", "id": hashlib.sha1(call.user.encode()).hexdigest()[:24], "name": call.user,
            "fullname": call.user, "email": f"{call.user}@example.com", "emailVerified": True, "isPro": False,
            "canPay": False, "periodEnd": None, "avatarUrl": "", "orgs": orgs,
            "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": "write", "createdAt": _now()}},
        })

    def _repo_target(self, call: Call) -> tuple[str, str, str]:
        """(type, namespace, name) of a /api/repos/{create,delete} body, checked."""
        body = call.json()
        repo_type = body.get("type") or "model"
        if repo_type not in ("model", "dataset"):
            raise HubError(400, f"Invalid repo type: {repo_type}")
        if call.user is None:
            raise HubError(401, "You must be authenticated to manage repos")
        name, namespace = str(body.get("name") or ""), body.get("organization") or call.user
        if not (NAME_RE.match(name) and NAME_RE.match(str(namespace))) or name.endswith(".git"):
            raise HubError(400, f"Invalid repo name: '{namespace}/{name}'")
        if not self._owns(call.user, namespace):
            raise HubError(403, f'You don\'t have the rights to manage {repo_type} repos under the namespace "{namespace}"')
        return repo_type, namespace, name

    def create_repo_api(self, call: Call) -> Response:
        repo_type, namespace, name = self._repo_target(call)
        body = call.json()
        repo_id = f"{namespace}/{name}"
        url = f"{self.url}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
        if (repo_type, repo_id) in self.repos:
            raise HubError(409, f"You already created this {repo_type} repo", url=url)
        private = body.get("visibility") == "private" if "visibility" in body else bool(body.get("private"))
        self.create_repo(repo_id, repo_type=repo_type, private=private)
        return _json({"url": url, "name": repo_id, "id": repo_id})

    def delete_repo_api(self, call: Call) -> Response:
        repo_type, namespace, name = self._repo_target(call)
        if self.repos.pop((repo_type, f"{namespace}/{name}"), None) is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        return _json({})

    def settings(self, call: Call, type: str, ns: str, name: str) -> Response:
        repo = self._get_repo(call, type, ns, name, write=True)
        body = call.json()
        if "visibility" in body:
            repo.private = body["visibility"] == "private"
        elif "private" in body:
            repo.private = bool(body["private"])
        return _json({})

    def repo_info(self, call: Call, type: str, ns: str, name: str, rev: str = "main") -> Response:
        repo = self._get_repo(call, type, ns, name)
        commit = repo.commits[self._resolve(repo, unquote(rev))]
        blobs = call.flag("blobs")
        siblings = []
        for path in sorted(commit.files):
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                entry = self._file_entry(repo, commit, path, expand=False)
                sibling.update(size=entry["size"], blobId=entry["oid"])
                if "lfs" in entry:
                    lfs = entry["lfs"]
                    sibling["lfs"] = {"sha256": lfs["oid"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]}
            siblings.append(sibling)
        info: dict[str, Any] = {
            "_id": hashlib.sha1(repo.id.encode()).hexdigest()[:24], "id": repo.id, "author": repo.namespace,
            "sha": commit.oid, "lastModified": commit.date, "createdAt": repo.created_at, "private": repo.private,
            "gated": "manual" if repo.gated else False, "disabled": False, "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
            "usedStorage": sum(len(data) for data in commit.files.values()),
        }
        if repo.type == "model":
            info["modelId"] = repo.id
        if "README.md" in commit.files:
            try:
                metadata = card_metadata(commit.files["README.md"])
            except ValueError:
                metadata = None
            if metadata:
                info["cardData"] = metadata
        expand = call.query.get("expand") or call.query.get("expand[]")
        if expand:
            info = {k: v for k, v in info.items() if k in ("_id", "id") or k in expand}
        return _json(info)

    def refs(self, call: Call, type: str, ns: str, name: str) -> Response:
        repo = self._get_repo(call, type, ns, name)
        kinds = {"heads": "branches", "tags": "tags", "convert": "converts", "pr": "pullRequests"}
        out: dict[str, list] = {key: [] for key in kinds.values()}
        for ref, oid in sorted(repo.refs.items()):
            kind = ref.split("/")[1]
            short = ref.split("/", 2)[2] if kind in ("heads", "tags") else ref
            out[kinds[kind]].append({"name": short, "ref": ref, "targetCommit": oid})
        if not call.flag("include_prs"):
            del out["pullRequests"]
        return _json(out)

    def create_branch(self, call: Call, type: str, ns: str, name: str, rev: str) -> Response:
        repo = self._get_repo(call, type, ns, name, write=True)
        branch = unquote(rev)
        if f"refs/heads/{branch}" in repo.refs:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}")
        start = call.json().get("startingPoint") or "main"
        repo.refs[f"refs/heads/{branch}"] = self._resolve(repo, start)
        return _json({})

    def create_tag(self, call: Call, type: str, ns: str, name: str, rev: str) -> Response:
        """``POST .../tag/{revision}`` with ``{"tag": NAME, "message": ...}``: a tag at the commit the revision names."""
        repo = self._get_repo(call, type, ns, name, write=True)
        tag = str(call.json().get("tag") or "")
        if not tag or tag.startswith("refs/") or not re.fullmatch(r"[A-Za-z0-9._/-]+", tag):
            raise HubError(400, f"Invalid tag name: {tag!r}")
        if f"refs/tags/{tag}" in repo.refs:
            raise HubError(409, f"Tag already exists: {tag}")
        repo.refs[f"refs/tags/{tag}"] = self._resolve(repo, unquote(rev))
        return _json({})

    def delete_tag(self, call: Call, type: str, ns: str, name: str, tag: str) -> Response:
        repo = self._get_repo(call, type, ns, name, write=True)
        if repo.refs.pop(f"refs/tags/{unquote(tag)}", None) is None:
            raise HubError(404, f"Tag not found: {unquote(tag)}")
        return _json({})

    def delete_branch(self, call: Call, type: str, ns: str, name: str, rev: str) -> Response:
        repo = self._get_repo(call, type, ns, name, write=True)
        branch = unquote(rev)
        if branch == "main" or repo.refs.pop(f"refs/heads/{branch}", None) is None:
            raise HubError(400 if branch == "main" else 404, f"Cannot delete branch {branch}")
        return _json({})

    def list_commits(self, call: Call, type: str, ns: str, name: str, rev: str) -> Response:
        repo = self._get_repo(call, type, ns, name)
        history = self._history(repo, self._resolve(repo, unquote(rev)))
        items = [{"id": c.oid, "title": c.message, "message": c.description, "date": c.date,
                  "authors": [{"user": c.author, "avatar": ""}]} for c in history]
        return self._paginate(call, items, self.tree_page_size)

    # -- endpoints: reading files

    def tree(self, call: Call, type: str, ns: str, name: str, rest: str) -> Response:
        repo = self._get_repo(call, type, ns, name)
        revision, path = self._split_revision(rest)
        commit = repo.commits[self._resolve(repo, revision)]
        recursive, expand = call.flag("recursive"), call.flag("expand")
        prefix = f"{path}/" if path else ""
        if path and not any(p.startswith(prefix) for p in commit.files):
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        files, dirs = set(), set()
        for p in commit.files:
            if not p.startswith(prefix):
                continue
            parts = p[len(prefix):].split("/")
            if recursive:
                files.add(p)
                dirs.update(prefix + "/".join(parts[:i]) for i in range(1, len(parts)))
            elif len(parts) == 1:
                files.add(p)
            else:
                dirs.add(prefix + parts[0])
        entries = [self._dir_entry(repo, commit, d, expand) for d in sorted(dirs)]
        entries += [self._file_entry(repo, commit, f, expand) for f in sorted(files)]
        return self._paginate(call, entries, min(self.tree_page_size, 50) if expand else self.tree_page_size)

    def paths_info(self, call: Call, type: str, ns: str, name: str, rev: str) -> Response:
        repo = self._get_repo(call, type, ns, name)
        commit = repo.commits[self._resolve(repo, unquote(rev))]
        if "json" in (call.headers.get("Content-Type") or ""):
            body = call.json()
            paths, expand = body.get("paths") or [], bool(body.get("expand"))
        else:
            form = parse_qs(call.body.decode(), keep_blank_values=True)
            paths = form.get("paths", [])
            expand = (form.get("expand") or ["false"])[0].lower() in ("1", "true")
        if isinstance(paths, str):
            paths = [paths]
        entries = [self._entry(repo, commit, p.strip("/"), expand) for p in dict.fromkeys(paths)]
        return _json([e for e in entries if e is not None])

    def resolve(self, call: Call, type: str, ns: str, name: str, kind: str, rest: str) -> Response:
        repo = self._get_repo(call, type, ns, name)
        if repo.gated and not self._owns(call.user, repo.namespace):
            status = 401 if call.user is None else 403
            raise HubError(status, f"Access to {repo.type} {repo.id} is restricted and you are not in the authorized list. "
                                   f"Visit {self.url}/{repo.url_prefix}{repo.id} to ask for access.", "GatedRepo")
        revision, path = self._split_revision(rest)
        commit = repo.commits[self._resolve(repo, revision)]
        if path not in commit.files:
            raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        data = commit.files[path]
        headers = {"X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if path in commit.lfs:
            if kind == "raw":  # /raw/ serves what git stores: the pointer
                data = lfs_pointer(data)
                headers["ETag"] = f'"{git_blob_oid(data)}"'
            else:
                sha = hashlib.sha256(data).hexdigest()
                headers.update({"ETag": f'"{sha}"', "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data))})
        else:
            headers["ETag"] = f'"{git_blob_oid(data)}"'
        range_header = call.headers.get("Range")
        if range_header:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header.split(",")[0].strip())
            if match is None or match.group(1) == match.group(2) == "":
                raise HubError(416, "Invalid range", headers={"Content-Range": f"bytes */{len(data)}"})
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), len(data) - 1) if match.group(2) else len(data) - 1
            else:
                start, end = max(len(data) - int(match.group(2)), 0), len(data) - 1
            if start >= len(data) or start > end:
                raise HubError(416, "Range Not Satisfiable", headers={"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return Response(206, data[start:end + 1], headers)
        return Response(200, data, headers)

    # -- endpoints: writing

    def validate_yaml(self, call: Call) -> Response:
        content = str(call.json().get("content") or "")
        try:
            metadata = card_metadata(content.encode())
        except ValueError as e:
            return _json({"errors": [{"message": f"Invalid YAML in README.md: {e}"}], "warnings": []}, 400)
        warnings = [] if metadata else [{"message": "empty or missing yaml metadata in repo card"}]
        return _json({"errors": [], "warnings": warnings})

    def preupload(self, call: Call, type: str, ns: str, name: str, rev: str) -> Response:
        create_pr = call.flag("create_pr")
        repo = self._get_repo(call, type, ns, name, write=True, create_pr=create_pr)
        commit = repo.commits[self._resolve(repo, unquote(rev))]
        body = call.json()
        lfs_patterns = _lfs_patterns(commit.files.get(".gitattributes", b""))
        ignore_patterns = [line.strip() for line in str(body.get("gitIgnore") or "").splitlines()
                           if line.strip() and not line.startswith("#")]
        answers = []
        for item in body.get("files") or []:
            path, size = str(item.get("path")), int(item.get("size") or 0)
            sample = base64.b64decode(item.get("sample") or "")
            is_lfs = size > 0 and (size >= LFS_SIZE_THRESHOLD or b"\0" in sample or _matches(path, lfs_patterns))
            answer: dict[str, Any] = {"path": path, "uploadMode": "lfs" if is_lfs else "regular",
                                      "shouldIgnore": _matches(path, ignore_patterns)}
            if path in commit.files:  # the client skips unchanged files by comparing this oid
                data = commit.files[path]
                answer["oid"] = hashlib.sha256(data).hexdigest() if path in commit.lfs else git_blob_oid(data)
            answers.append(answer)
        return _json({"files": answers, "commitOid": commit.oid})

    def lfs_batch(self, call: Call, type: str, ns: str, name: str) -> Response:
        body = call.json()
        if body.get("operation") != "upload":
            raise HubError(400, "Only the 'upload' operation is supported here")
        # an upload for a PR carries no "ref": read access is enough to open a PR
        repo = self._get_repo(call, type, ns, name, write=True, create_pr="ref" not in body)
        objects = []
        for obj in body.get("objects") or []:
            oid, size = str(obj.get("oid")), int(obj.get("size") or 0)
            if not re.fullmatch(r"[0-9a-f]{64}", oid):
                objects.append({"oid": oid, "size": size, "error": {"code": 422, "message": "Invalid oid"}})
                continue
            answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if oid not in repo.lfs_objects:
                ticket = secrets.token_hex(16)
                self._upload_tickets[ticket] = ((repo.type, repo.id), oid, size)
                verify = f"{self.url}/{repo.url_prefix}{repo.id}.git/info/lfs/objects/verify"
                answer["actions"] = {"upload": {"href": f"{self.url}/lfs-upload/{ticket}", "expires_in": 86400},
                                     "verify": {"href": verify, "header": {}}}
            objects.append(answer)
        return Response(200, json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode(),
                        {"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_upload(self, call: Call, ticket: str) -> Response:
        """The pre-signed upload URL handed out by the batch endpoint (it carries no Authorization)."""
        if ticket not in self._upload_tickets:
            raise HubError(403, "Invalid or expired upload URL")
        key, oid, size = self._upload_tickets[ticket]
        if hashlib.sha256(call.body).hexdigest() != oid or len(call.body) != size:
            raise HubError(400, "Uploaded content does not match the announced oid and size")
        del self._upload_tickets[ticket]
        if key in self.repos:
            self.repos[key].lfs_objects[oid] = call.body
        return Response(200, b"", {"ETag": f'"{oid}"'})

    def lfs_verify(self, call: Call, type: str, ns: str, name: str) -> Response:
        repo = self._get_repo(call, type, ns, name)
        body = call.json()
        data = repo.lfs_objects.get(str(body.get("oid")))
        if data is None or len(data) != body.get("size"):
            raise HubError(404, "LFS object not found")
        return _json({"success": True})

    def commit(self, call: Call, type: str, ns: str, name: str, rev: str) -> Response:
        create_pr = call.flag("create_pr")
        repo = self._get_repo(call, type, ns, name, write=True, create_pr=create_pr)
        try:
            lines = [json.loads(line) for line in call.body.splitlines() if line.strip()]
        except ValueError as e:
            raise HubError(400, f"Invalid NDJSON body: {e}") from None
        headers = [line["value"] for line in lines if line.get("key") == "header"]
        if len(headers) != 1 or not str(headers[0].get("summary") or "").strip():
            raise HubError(400, "The commit needs one header line with a non-empty summary")
        header = headers[0]
        revision = unquote(rev)
        if create_pr:
            repo.num_prs += 1
            ref = f"refs/pr/{repo.num_prs}"
            repo.refs[ref] = self._resolve(repo, revision)
        else:
            ref = revision if revision.startswith("refs/") else f"refs/heads/{revision}"
            if ref not in repo.refs:
                raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            if not ref.startswith(("refs/heads/", "refs/pr/")):
                raise HubError(400, f"Cannot commit to {revision}: not a branch")
        parent = repo.commits[repo.refs[ref]]
        if header.get("parentCommit") and header["parentCommit"] != parent.oid:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files, lfs = dict(parent.files), set(parent.lfs)
        for line in lines:
            key, value = line.get("key"), line.get("value") or {}
            path = str(value.get("path", "")).strip("/")
            if key == "file":
                content = value.get("content", "")
                files[path] = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
                lfs.discard(path)
            elif key == "lfsFile":
                data = repo.lfs_objects.get(str(value.get("oid")))
                if data is None:
                    raise HubError(422, f"Your push was rejected because an LFS pointer pointed to a file that does"
                                        f" not exist: {path} ({value.get('oid')})")
                files[path] = data
                lfs.add(path)
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            elif key == "deletedFolder":
                doomed = [p for p in files if p.startswith(path + "/")]
                if not doomed:
                    raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in doomed:
                    del files[p]
            elif key != "header":
                raise HubError(400, f"Unknown commit operation: {key}")
        if "README.md" in files and files["README.md"] != parent.files.get("README.md"):
            try:
                card_metadata(files["README.md"])
            except ValueError as e:
                raise HubError(400, f"Invalid metadata in README.md: {e}") from None
        commit = self._new_commit(repo, parent.oid, files, lfs, str(header["summary"]),
                                  str(header.get("description") or ""), call.user or "system")
        repo.refs[ref] = commit.oid
        web = f"{self.url}/{repo.url_prefix}{repo.id}"
        pr_url = f"{web}/discussions/{ref.rsplit('/', 1)[1]}" if create_pr else None
        return _json({"success": True, "commitOid": commit.oid, "commitUrl": f"{web}/commit/{commit.oid}",
                      "hookOutput": "", "pullRequestUrl": pr_url})


# ----------------------------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connection pools expect
    server_version = "s2sbench-test-hub/1"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def handle(self) -> None:
        try:
            super().handle()
        except _Drop as drop:
            if drop.reset:  # linger 0: closing sends a RST instead of a FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()

    def _serve(self) -> None:
        hub: HubServer = self.server.hub  # type: ignore[attr-defined]
        body = self._read_body()
        split = urlsplit(self.path)
        fault = hub._take_fault(self.command, hub.route_name(self.command, self.path))
        response = None
        if fault is not None and fault.status is not None:
            message = f"Injected fault: {fault.status}"
            response, route = _json({"error": message}, fault.status, {"X-Error-Message": message, **fault.headers}), fault.route
        elif fault is not None and fault.hook is None:
            with hub._lock:
                hub.requests.append(Request(self.command, unquote(split.path), 0, split.query, fault.route))
            if fault.stall:
                hub._stopping.wait(fault.stall)
            self.close_connection = True
            raise _Drop(reset=fault.reset)
        elif fault is not None:
            try:
                fault.hook()
            except Exception as e:  # noqa: BLE001 - kept for the test to see; the request is still answered
                fault.errors.append(e)
        if response is None:
            try:
                response, route = hub.handle(self.command, self.path, self.headers, body)
            except Exception as e:  # noqa: BLE001 - a bug in the server: answer 500 rather than hang the client
                response, route = _json({"error": f"{type(e).__name__}: {e}"}, 500), "error"
        with hub._lock:
            hub.requests.append(Request(self.command, unquote(split.path), response.status, split.query, route))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: requests are in hub.requests
        pass
