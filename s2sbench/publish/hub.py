"""The Hub side of ``s2s push``: who is pushing, what the repo holds, one commit, and a read-back.

huggingface_hub's typed errors become one-line :class:`PushError` messages in :func:`hub_error`;
the token comes from ``HF_TOKEN`` or the huggingface_hub login and is never printed or written.

Every request has a time limit (``S2S_HUB_TIMEOUT`` seconds, default 60; :func:`configure_client`):
a Hub that does not answer is :class:`HubTimeout`, not retried. The commit is made against the
commit whose state was read (``parent_commit``); when another push landed first, :func:`upload`
reads the repo again, re-plans and retries, and a repo or branch it created for a commit that
never landed is deleted again.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s2sbench._io import read_json_object
from s2sbench.errors import S2SBenchError
from s2sbench.publish.export import PROVENANCE_DIR
from s2sbench.publish.options import ConfigExport, PushOptions

TIMEOUT_VARIABLE = "S2S_HUB_TIMEOUT"
DEFAULT_TIMEOUT = 60.0  # seconds a Hub request may go without an answer
COMMIT_ATTEMPTS = 3  # commits tried when other pushes keep landing first


class PushError(S2SBenchError):
    """The Hub refused the push (authentication, permission, repo id) or verification failed."""


class HubTimeout(PushError):
    """A Hub request got no answer within the time limit."""


class StaleParent(Exception):
    """The commit was refused: the branch moved since its state was read (the Hub answers 412 or 409)."""


def hub_timeout() -> float:
    """Seconds a Hub request may wait for an answer: ``S2S_HUB_TIMEOUT``, default 60."""
    raw = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= 86400:
        raise PushError(f"{TIMEOUT_VARIABLE}={raw!r}: expected the seconds a Hub request may wait for an answer, e.g. 60")
    return value


def configure_endpoint() -> None:
    """Xet uploads only work with the real Hub: disable them for any other endpoint; downloads and
    metadata requests wait at most :func:`hub_timeout` seconds.

    Must run before huggingface_hub is imported (it reads the variables at import).
    """
    endpoint = os.environ.get("HF_ENDPOINT", "")
    if endpoint and "huggingface.co" not in endpoint:
        os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    try:
        seconds = str(math.ceil(hub_timeout()))  # huggingface_hub reads whole seconds
    except PushError:
        return  # said by configure_client, where a push can fail in one line
    for name in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        if os.environ.get(TIMEOUT_VARIABLE) or not os.environ.get(name):
            os.environ[name] = seconds


def configure_client() -> None:
    """huggingface_hub's shared HTTP client, with a time limit on every request.

    A request that times out raises :class:`HubTimeout`, which huggingface_hub does not retry (it
    retries its own timeouts five times, with back-off): a Hub that does not answer ends the push
    after one limit, not six.
    """
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.utils import set_client_factory
    from huggingface_hub.utils._http import hf_request_event_hook

    seconds = hub_timeout()
    # its retries of a 429/5xx or a dropped connection log a warning each: the push's error is one line
    logging.getLogger("huggingface_hub.utils._http").setLevel(logging.ERROR)
    for name in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        setattr(constants, name, int(os.environ.get(name) or math.ceil(seconds)))

    class TimedClient(httpx2.Client):
        def build_request(self, *args: Any, **kwargs: Any) -> httpx2.Request:
            if kwargs.get("timeout", 0) is None:  # huggingface_hub passes None ("no limit") for some calls: keep the limit
                del kwargs["timeout"]
            return super().build_request(*args, **kwargs)

        def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
            try:
                return super().send(request, **kwargs)
            except httpx2.TimeoutException as exc:
                limit = (request.extensions.get("timeout") or {}).get("read") or seconds
                url = request.url
                port = f":{url.port}" if url.port else ""
                raise HubTimeout(f"cannot reach the Hub: no answer from {url.scheme}://{url.host}{port}{url.path} ({request.method}) "
                                 f"in {limit:g} s; {TIMEOUT_VARIABLE} sets how long to wait") from exc

    set_client_factory(lambda: TimedClient(event_hooks={"request": [hf_request_event_hook]}, follow_redirects=True,
                                           timeout=httpx2.Timeout(seconds)))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_hub_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is (or was caused by) the Hub, the network or the disk, rather than a defect."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

    return any(isinstance(e, (PushError, HfHubHTTPError, LocalTokenNotFoundError, httpx2.HTTPError, OSError)) for e in _chain(exc))


def _network_failure(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "reset" in text.lower():
        return "the connection was reset"
    if type(exc).__name__ == "RemoteProtocolError":
        return f"the Hub closed the connection without an answer ({text or type(exc).__name__})"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def hub_error(exc: BaseException, repo: str) -> PushError:
    """The one line a user sees for a Hub client error about ``repo`` (or one that caused ``exc``)."""
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalTokenNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    chain = list(_chain(exc))
    for error in chain:
        if isinstance(error, PushError):
            return error
    uploading = next((m[1] for e in chain if isinstance(e, RuntimeError) and (m := re.match(r"Error while uploading '(.+)' to the Hub", str(e)))), None)
    cause = next((e for e in chain if isinstance(e, (HfHubHTTPError, LocalTokenNotFoundError, httpx2.HTTPError))), exc)
    if uploading is not None:
        status = getattr(getattr(cause, "response", None), "status_code", None)
        what = f"the Hub answered {status}" if isinstance(cause, HfHubHTTPError) else _network_failure(cause)
        return PushError(f"push to {repo} failed: uploading {uploading}: {what}")
    exc = cause
    if isinstance(exc, LocalTokenNotFoundError):
        return PushError("no Hub token: set HF_TOKEN or run `hf auth login` with a token that can write")
    if isinstance(exc, GatedRepoError):
        return PushError(f"{repo}: a gated repository: accept its terms with this account first")
    if isinstance(exc, RevisionNotFoundError):
        return PushError(f"{repo}: revision not found")
    if isinstance(exc, RepositoryNotFoundError):
        return PushError(f"{repo}: repository not found (or not visible with this token)")
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        return PushError(f"authentication failed for {repo}: set HF_TOKEN or run `hf auth login` with a write token")
    if status == 403:
        return PushError(f"no write access to {repo}: the token's user cannot write to this namespace")
    if isinstance(exc, HfHubHTTPError):
        return PushError(f"push to {repo} failed: the Hub answered {status}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    if isinstance(exc, httpx2.TransportError) and not isinstance(exc, httpx2.ConnectError):
        return PushError(f"push to {repo} failed: {_network_failure(exc)}")
    from s2sbench.errors import user_message

    return PushError(f"push to {repo} failed: {user_message(exc) or f'{type(exc).__name__}: {exc}'}".splitlines()[0])


def check_repo_id(repo: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo)
        if repo.count("/") != 1:
            raise HFValidationError("expected OWNER/NAME")
    except HFValidationError as exc:
        raise PushError(f"invalid repo id {repo!r}: {str(exc).splitlines()[0]}") from None


@dataclass
class RemoteState:
    """What a branch of the repo held when it was read."""

    head: str | None  # the commit read; None: the repo or the branch is not there yet
    repo_exists: bool
    files: set[str] = field(default_factory=set)
    records: dict[str, dict] = field(default_factory=dict)  # config -> provenance record


def remote_state(api: Any, repo: str, revision: str | None, scratch: Path) -> RemoteState:
    """The files the branch holds at its head and its configs' provenance records, all read at one
    commit; nothing for a repo or branch not there yet."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        head = api.repo_info(repo, repo_type="dataset", revision=revision).sha
    except RevisionNotFoundError:
        return RemoteState(None, True)
    except GatedRepoError:
        raise
    except RepositoryNotFoundError:
        return RemoteState(None, False)  # created at the commit, once everything is exported
    remote = set(api.list_repo_files(repo, repo_type="dataset", revision=head))
    records = {}
    for name in sorted(remote):
        if name.startswith(f"{PROVENANCE_DIR}/") and name.endswith(".json"):
            path = hf_hub_download(repo, name, repo_type="dataset", revision=head, cache_dir=str(scratch / ".hub"))
            records[Path(name).stem] = read_json_object(Path(path), PushError)
    return RemoteState(head, True, remote, records)


HASH_BLOCK = 2**20  # files are hashed a block at a time: a shard is hundreds of MB


def _same_file(path: Path, entry: Any) -> bool:
    """Whether the local file holds what the repo's file ``entry`` holds: the LFS sha256, or git's blob id."""
    lfs = getattr(entry, "lfs", None)
    digest = hashlib.sha256() if lfs else hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest() == (lfs.sha256 if lfs else entry.blob_id)


def _status(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "response", None), "status_code", None)


def commit(api: Any, options: PushOptions, staging: Path, state: RemoteState, exports: list[ConfigExport]) -> str | None:
    """Commit what changed against ``state.head``; the commit id, or None when nothing changed.

    Raises :class:`StaleParent` when the branch moved since ``state`` was read.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    repo = options.repo
    local = {p.relative_to(staging).as_posix(): p for p in staging.rglob("*") if p.is_file()}
    shared = sorted(set(local) & state.files)
    info = {entry.path: entry for entry in api.get_paths_info(repo, shared, repo_type="dataset", revision=state.head)} if shared else {}
    operations: list[Any] = []
    for name, path in sorted(local.items()):
        entry = info.get(name)
        if entry is not None and _same_file(path, entry):
            continue
        operations.append(CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)))
    pushed = {e.name for e in exports}
    stale = [name for name in state.files if name.split("/")[0] in pushed and name.endswith(".parquet") and name not in local]
    operations += [CommitOperationDelete(path_in_repo=name) for name in sorted(stale)]
    if not operations:
        return None
    message = options.commit_message or f"s2s push: {', '.join(sorted(pushed))}"
    try:
        return api.create_commit(repo, operations, commit_message=message, repo_type="dataset", revision=options.revision,
                                 parent_commit=state.head).oid
    except HfHubHTTPError as exc:
        if _status(exc) in (409, 412):
            raise StaleParent(str(exc)) from exc
        raise


@dataclass
class _Created:
    """The repo or branch this push created, and the commit it started at (undone if nothing lands)."""

    repo: bool = False
    branch: bool = False
    start: str | None = None

    def undo(self, api: Any, options: PushOptions) -> None:
        """Delete what was created, if it still holds nothing but its start; best effort."""
        if not (self.repo or self.branch) or self.start is None:
            return
        try:
            if self.repo:
                refs = api.list_repo_refs(options.repo, repo_type="dataset")
                if not refs.tags and all(b.target_commit == self.start for b in refs.branches):
                    api.delete_repo(options.repo, repo_type="dataset")
            elif api.repo_info(options.repo, repo_type="dataset", revision=options.revision).sha == self.start:
                api.delete_branch(options.repo, branch=options.revision, repo_type="dataset")
        except Exception:  # noqa: BLE001, S110 - the push's own error is the one to report
            pass


def _create(api: Any, options: PushOptions, state: RemoteState, created: _Created) -> None:
    """Create the repo (private if asked) and the branch the push goes to; one made meanwhile by another push is used."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        if not state.repo_exists:
            api.create_repo(options.repo, repo_type="dataset", private=options.private, exist_ok=False)
            created.repo = True
        if options.revision:
            api.create_branch(options.repo, branch=options.revision, repo_type="dataset", exist_ok=False)
            created.branch = True
    except HfHubHTTPError as exc:
        if _status(exc) != 409:
            raise


def upload(api: Any, options: PushOptions, scratch: Path, plan: Callable[[dict[str, dict], Path], list[ConfigExport]]
           ) -> tuple[list[ConfigExport], str | None, str]:
    """Read the repo, export with ``plan(records, directory)``, and commit against what was read;
    (exports, commit id or None, repo URL).

    When another commit lands between the read and the commit, the repo is read again, the export
    redone if the configs' records changed, and the commit tried again (:data:`COMMIT_ATTEMPTS`).
    A repo or branch created for a commit that fails is deleted again.
    """
    repo = options.repo
    url = f"{api.endpoint.rstrip('/')}/datasets/{repo}"
    api.whoami()  # a missing or wrong token fails before any work
    state = remote_state(api, repo, options.revision, scratch)
    created = _Created()
    planned: dict[str, dict] | None = None
    staging, exports = scratch / "export", []
    conflicts = 0
    try:
        while True:
            if planned != state.records:
                shutil.rmtree(staging, ignore_errors=True)
                exports, planned = plan(state.records, staging), state.records
            if state.head is None:
                if created.repo or created.branch:
                    raise PushError(f"push to {repo} failed: {repo} cannot be read back after it was created")
                _create(api, options, state, created)
                state = remote_state(api, repo, options.revision, scratch)
                created.start = state.head
                continue
            try:
                return exports, commit(api, options, staging, state, exports), url
            except StaleParent:
                conflicts += 1
                if conflicts >= COMMIT_ATTEMPTS:
                    raise PushError(f"push to {repo} failed: other commits landed first {conflicts} times; nothing was pushed, re-run to try again") from None
                state = remote_state(api, repo, options.revision, scratch)
    except Exception:
        created.undo(api, options)
        raise


def existing_tag(api: Any, options: PushOptions) -> str | None:
    """The commit ``--tag`` already names, None when the tag is new. A tag that names another commit than
    the branch's head is refused now, before anything is uploaded: a tag names one release."""
    from huggingface_hub.errors import RepositoryNotFoundError

    if not options.tag:
        return None
    try:
        refs = api.list_repo_refs(options.repo, repo_type="dataset")
    except RepositoryNotFoundError:
        return None  # a new repo has no tags
    target = next((tag.target_commit for tag in refs.tags if tag.name == options.tag), None)
    branch = options.revision or "main"
    head = next((ref.target_commit for ref in refs.branches if ref.name == branch), None)
    if target is not None and target != head:
        raise PushError(f"--tag {options.tag}: {options.repo} has that tag already, at commit {target} (not the head of {branch}); "
                        "a tag names one release: choose another")
    return target


def tag_release(api: Any, options: PushOptions, commit_id: str | None, tag_at: str | None) -> str:
    """Tag the commit pushed (the branch's head when the push changed nothing) as ``--tag``; the commit tagged."""
    target = commit_id or api.repo_info(options.repo, repo_type="dataset", revision=options.revision).sha
    if tag_at == target:
        return target  # a re-run: the tag is there already
    if tag_at is not None:
        raise PushError(f"--tag {options.tag}: pushed commit {target}, but the tag names the commit before it ({tag_at}) and was not moved")
    api.create_tag(options.repo, tag=options.tag, revision=target, repo_type="dataset")
    return target


def verify_push(repo: str, exports: list[ConfigExport], options: PushOptions) -> None:
    """Read every pushed config back from the Hub as ``datasets`` resolves it from the card: row counts
    (from the parquet footers) and the first rows' audio bytes must match. The files go to a scratch
    cache, read a few rows at a time (:mod:`s2sbench.release_rows`)."""
    import datasets

    from s2sbench.release_rows import data_files, file_rows, local_file, row_count

    if "huggingface.co" not in os.environ.get("HF_ENDPOINT", "huggingface.co"):
        datasets.config.USE_PARQUET_EXPORT = False  # the viewer's parquet export exists only on the real Hub
    with tempfile.TemporaryDirectory(prefix="s2s-verify-") as cache:
        for config in exports:
            try:
                # Resolved and downloaded once: the footers count the rows, the first rows are read from the same files.
                files = [local_file(file, cache) for file in data_files(repo, config.name, options.split, options.revision)]
                rows = row_count(files)
                first = [row for _, row in itertools.islice(file_rows(repo, files), len(config.audio_digests))]
            except Exception as exc:
                timeout = next((e for e in _chain(exc) if isinstance(e, HubTimeout)), None)
                if timeout is not None:
                    raise HubTimeout(f"verify: {timeout}") from None
                raise PushError(f"verify: cannot load {repo} config {config.name}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
            if rows != config.rows:
                raise PushError(f"verify: {repo} config {config.name} has {rows} rows, pushed {config.rows}")
            for (item_id, digest), row in zip(config.audio_digests, first):
                data = (row.get("context_audio") or {}).get("bytes") or b""
                if row.get("id") != item_id or hashlib.sha256(data).hexdigest() != digest:
                    raise PushError(f"verify: audio of {item_id} in {repo}/{config.name} differs from the build")

