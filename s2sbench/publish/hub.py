"""The Hub side of ``s2s push``: who is pushing, what the repo holds, one commit, and a read-back.

huggingface_hub's typed errors become one-line :class:`PushError` messages in :func:`hub_error`;
the token comes from ``HF_TOKEN`` or the huggingface_hub login and is never printed or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from s2sbench.errors import S2SBenchError
from s2sbench.publish.export import PROVENANCE_DIR
from s2sbench.publish.options import ConfigExport, PushOptions


class PushError(S2SBenchError):
    """The Hub refused the push (authentication, permission, repo id) or verification failed."""


def configure_endpoint() -> None:
    """Xet uploads only work with the real Hub: disable them for any other endpoint.

    Must run before huggingface_hub is imported (it reads the variable at import).
    """
    endpoint = os.environ.get("HF_ENDPOINT", "")
    if endpoint and "huggingface.co" not in endpoint:
        os.environ.setdefault("HF_HUB_DISABLE_XET", "1")


def hub_error(exc: Exception, repo: str) -> PushError:
    """The one line a user sees for a Hub client error about ``repo``."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalTokenNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

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


def remote_state(api: Any, repo: str, revision: str | None, scratch: Path) -> tuple[set[str], dict[str, dict]]:
    """The files the repo holds and its configs' provenance records; nothing for a repo not there yet.

    Asks who the token belongs to first, so a missing or wrong token fails before any work.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    api.whoami()
    try:
        remote = set(api.list_repo_files(repo, repo_type="dataset", revision=revision))
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return set(), {}  # created at the commit, once everything is exported
    records = {}
    for name in sorted(remote):
        if name.startswith(f"{PROVENANCE_DIR}/") and name.endswith(".json"):
            path = hf_hub_download(repo, name, repo_type="dataset", revision=revision, cache_dir=str(scratch / ".hub"))
            records[Path(name).stem] = json.loads(Path(path).read_text(encoding="utf-8"))
    return remote, records


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit(api: Any, options: PushOptions, staging: Path, remote: set[str], exports: list[ConfigExport]) -> tuple[str | None, str]:
    """Create the repo (and branch) if needed and commit what changed; (commit id or None, repo URL)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    repo = options.repo
    url = str(api.create_repo(repo, repo_type="dataset", private=options.private, exist_ok=True))
    if options.revision:
        api.create_branch(repo, branch=options.revision, repo_type="dataset", exist_ok=True)
    local = {p.relative_to(staging).as_posix(): p for p in staging.rglob("*") if p.is_file()}
    shared = sorted(set(local) & remote)
    info = {entry.path: entry for entry in api.get_paths_info(repo, shared, repo_type="dataset", revision=options.revision)} if shared else {}
    operations: list[Any] = []
    for name, path in sorted(local.items()):
        data = path.read_bytes()
        entry = info.get(name)
        if entry is not None:
            lfs = getattr(entry, "lfs", None)
            same = (lfs.sha256 == hashlib.sha256(data).hexdigest()) if lfs else (entry.blob_id == _git_blob_sha1(data))
            if same:
                continue
        operations.append(CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)))
    pushed = {e.name for e in exports}
    stale = [name for name in remote if name.split("/")[0] in pushed and name.endswith(".parquet") and name not in local]
    operations += [CommitOperationDelete(path_in_repo=name) for name in stale]
    if not operations:
        return None, url
    message = options.commit_message or f"s2s push: {', '.join(sorted(pushed))}"
    return api.create_commit(repo, operations, commit_message=message, repo_type="dataset", revision=options.revision).oid, url


def verify_push(repo: str, exports: list[ConfigExport], options: PushOptions) -> None:
    """Reload every pushed config from the Hub: row counts and sampled audio bytes must match."""
    import datasets

    if "huggingface.co" not in os.environ.get("HF_ENDPOINT", "huggingface.co"):
        datasets.config.USE_PARQUET_EXPORT = False  # the viewer's parquet export exists only on the real Hub
    with tempfile.TemporaryDirectory(prefix="s2s-verify-") as cache:
        for config in exports:
            try:
                loaded = datasets.load_dataset(repo, config.name, split=options.split, revision=options.revision, cache_dir=cache)
            except Exception as exc:
                raise PushError(f"verify: cannot load {repo} config {config.name}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
            if len(loaded) != config.rows:
                raise PushError(f"verify: {repo} config {config.name} has {len(loaded)} rows, pushed {config.rows}")
            raw = loaded.cast_column("context_audio", datasets.Audio(decode=False))
            by_id = {row["id"]: row["context_audio"]["bytes"] for row in raw.select(range(min(len(raw), 50)))}
            for item_id, digest in config.audio_digests:
                if item_id in by_id and hashlib.sha256(by_id[item_id]).hexdigest() != digest:
                    raise PushError(f"verify: audio of {item_id} in {repo}/{config.name} differs from the build")
