"""Which commit of a Hub repo a user means: a branch, a tag, a full commit SHA or a unique prefix of one.

Online, a revision is resolved through the repo's refs and its commits as the Hub lists them
(huggingface_hub's ``list_repo_refs`` and ``list_repo_commits``), so that the SHA ``s2s push``
printed, any prefix of it that names one commit, and a tag all work wherever the Hub is, and a
revision that names nothing is said with the refs that do exist. Offline (``HF_HUB_OFFLINE``), the
local Hugging Face cache is read instead: its ``refs/`` files and ``snapshots/`` folders.

Every failure is one :class:`HubReferenceError` line naming the repo.
"""

from __future__ import annotations

import re
from pathlib import Path

from s2sbench.errors import S2SBenchError

COMMIT_PREFIX = re.compile(r"[0-9a-f]{4,40}")  # shorter prefixes name too many commits to be worth a lookup
FULL_SHA = re.compile(r"[0-9a-f]{40}")


class HubReferenceError(S2SBenchError):
    """A Hub repo or revision that cannot be had: absent, private, gated, offline and not cached, or unknown."""


def is_repo_id(name: str) -> bool:
    """Whether ``name`` is a repo id the Hub client takes (OWNER/NAME or NAME, its characters and length)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def hub_offline() -> bool:
    """Whether the Hub client is offline (``HF_HUB_OFFLINE``, as huggingface_hub reads it)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def resolve_revision(repo: str, revision: str | None, repo_type: str) -> str:
    """The commit SHA ``revision`` (None: the default branch) names in the Hub repo ``repo``.

    Refs come first (a tag that happens to look like hex is the tag), then commits reachable from
    any branch or tag whose SHA starts with ``revision``; a revision the refs and the listed commits
    do not name is still asked of the Hub itself (which resolves SHAs of its own), and only then refused.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RevisionNotFoundError

    api = HfApi()
    with hub_errors(repo, repo_type, revision):
        if revision is None:
            return api.repo_info(repo, repo_type=repo_type).sha
        refs = api.list_repo_refs(repo, repo_type=repo_type)
        named = [*refs.branches, *refs.tags]
        for ref in named:
            if revision in (ref.name, ref.ref):
                return ref.target_commit
        if COMMIT_PREFIX.fullmatch(revision):
            found = _commits_with_prefix(api, repo, repo_type, revision, [ref.target_commit for ref in named])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise HubReferenceError(f"{repo}: revision {revision} is the start of {len(found)} commits "
                                        f"({', '.join(sorted(found)[:3])}{', ...' if len(found) > 3 else ''}): give more of the SHA")
        try:
            return api.repo_info(repo, repo_type=repo_type, revision=revision).sha
        except RevisionNotFoundError:
            pass
    raise HubReferenceError(_unknown_revision(repo, revision, [b.name for b in refs.branches], [t.name for t in refs.tags]))


def _commits_with_prefix(api, repo: str, repo_type: str, prefix: str, heads: list[str]) -> list[str]:
    """The SHAs starting with ``prefix`` among the commits reachable from ``heads`` (each history listed once)."""
    seen: set[str] = set()
    for head in dict.fromkeys(heads):
        if head in seen:
            continue
        seen.update(commit.commit_id for commit in api.list_repo_commits(repo, repo_type=repo_type, revision=head))
    return sorted(sha for sha in seen if sha.startswith(prefix))


def _unknown_revision(repo: str, revision: str, branches: list[str], tags: list[str]) -> str:
    known = f"branches {', '.join(sorted(branches)) or '(none)'}" + (f"; tags {', '.join(sorted(tags))}" if tags else "; no tags")
    return f"{repo}: revision {revision} not found ({known}; or a commit: its full SHA or a unique prefix)"


def cached_revision(repo: str, revision: str | None, repo_type: str) -> str | None:
    """Offline: the commit ``revision`` (None: main) names in the local Hugging Face cache, or None
    when the cache holds nothing of ``repo`` at that revision."""
    folder = cache_folder(repo, repo_type)
    if folder is None:
        return None
    wanted = revision or "main"
    ref = folder / "refs" / wanted
    if ref.is_file():
        return ref.read_text(encoding="utf-8").strip() or None
    snapshots = sorted(p.name for p in (folder / "snapshots").glob("*") if p.is_dir())
    if wanted in snapshots:
        return wanted
    if COMMIT_PREFIX.fullmatch(wanted):
        found = [sha for sha in snapshots if sha.startswith(wanted)]
        if len(found) == 1:
            return found[0]
    return None


def cache_folder(repo: str, repo_type: str) -> Path | None:
    """The local Hugging Face cache's folder of ``repo``, None when it has none."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    folder = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo, repo_type=repo_type)
    return folder if folder.is_dir() else None


def offline_miss(repo: str, revision: str | None, what: str) -> HubReferenceError:
    """The line for a repo (or its revision) that the cache does not hold while the Hub may not be asked."""
    at = f" at revision {revision}" if revision else ""
    return HubReferenceError(f"{repo}: not a local {what}, and not in the Hugging Face cache{at} (offline: HF_HUB_OFFLINE is set)")


class hub_errors:  # noqa: N801 - used as a context manager, named for what it handles
    """Turns the Hub client's errors about ``repo`` into one :class:`HubReferenceError` line, as the Hub said them."""

    def __init__(self, repo: str, repo_type: str, revision: str | None = None):
        self.repo, self.repo_type, self.revision = repo, repo_type, revision

    def __enter__(self) -> hub_errors:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or isinstance(error, S2SBenchError):
            return False
        message = hub_failure(error, self.repo, self.repo_type, self.revision)
        if message is None:
            return False
        raise HubReferenceError(message) from error


def hub_failure(error: BaseException, repo: str, repo_type: str, revision: str | None = None) -> str | None:
    """The one line for a Hub client error about ``repo``, None for an error that is not the Hub's."""
    from huggingface_hub import errors as hub

    thing = "model" if repo_type == "model" else "dataset"
    if isinstance(error, hub.GatedRepoError):  # a RepositoryNotFoundError too: first
        return (f"{repo}: a gated {thing} on the Hub: accept its terms at {endpoint()}/{'' if thing == 'model' else 'datasets/'}{repo} "
                "with your account, and give its token (HF_TOKEN or `hf auth login`)")
    if isinstance(error, hub.RevisionNotFoundError):
        return f"{repo}: revision {revision} not found on the Hub"
    if isinstance(error, hub.RepositoryNotFoundError):
        return (f"{repo}: not a local {'directory' if thing == 'model' else 'folder'}, and the Hub at {endpoint()} has no {thing} "
                "of that name (or it is private and this token cannot see it)")
    if isinstance(error, hub.OfflineModeIsEnabled):
        return f"{repo}: not in the Hugging Face cache (offline: HF_HUB_OFFLINE is set)"
    if isinstance(error, hub.HfHubHTTPError):
        status = getattr(getattr(error, "response", None), "status_code", None)
        return f"{repo}: the Hub at {endpoint()} answered {status}: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    if _is_transport_failure(error):
        local = "a local model directory or .gguf file" if thing == "model" else "a build directory or an export folder"
        return (f"{repo}: not a local {'directory' if thing == 'model' else 'folder'}, and the Hub at {endpoint()} cannot be reached "
                f"({type(error).__name__}); pass {local}, set HF_ENDPOINT to a mirror, or HF_HUB_OFFLINE=1 to read the local cache")
    from s2sbench.errors import user_message

    message = user_message(error)
    return f"{repo}: {message}" if message else None


def _is_transport_failure(error: BaseException) -> bool:
    """A connection that failed (refused, reset, timed out) in one of the HTTP clients the Hub client may use."""
    import importlib

    for module in ("httpx2", "httpx", "requests"):
        try:
            imported = importlib.import_module(module)
        except ImportError:
            continue
        transport = getattr(imported, "TransportError", None) or getattr(getattr(imported, "exceptions", None), "ConnectionError", None)
        if transport is not None and isinstance(error, transport):
            return True
    return False
