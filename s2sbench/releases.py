"""What a published release (an export folder or a Hub dataset) says about itself before its rows are
read: the config read, the commit a revision names, the provenance record ``s2s push`` wrote and the
task it publishes, and a digest of what was read.

The scorer (:mod:`s2sbench.scorer.inputs`, which adds build directories and release files) and
``s2s pull`` both describe releases through here, below both; the rows themselves come from
:mod:`s2sbench.release_rows`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s2sbench._io import file_sha256, read_json_object
from s2sbench.errors import S2SBenchError
from s2sbench.items import name_problem
from s2sbench.profiles import LanguageProfile
from s2sbench.release_rows import release_rows
from s2sbench.task import task_profile

# The folder of a release that holds its provenance records, s2sbench/<config>.json.
PROVENANCE_DIR = "s2sbench"


@dataclass
class SourceInfo:
    """What a source says about how it is scored and which version of it is read."""

    kind: str  # build, export, hub, release
    identity: dict[str, Any]  # recorded in run.json: a Hub dataset's commit, an export's or a build's digest
    profiles: dict[str, LanguageProfile] = field(default_factory=dict)  # lang -> the published task's prompts
    config: str | None = None  # the dataset config read (chosen when the dataset has one)
    threshold: float | None = None  # the validation threshold the verdicts were judged by
    record: dict[str, Any] | None = None  # an export's or Hub dataset's s2sbench/<config>.json


def describe_release(source: str, config: str | None = None, revision: str | None = None) -> SourceInfo:
    """The task and version of an export folder or a Hub dataset (``source`` is neither a build
    directory nor a file): its published ``s2sbench/<config>.json``; a Hub ``revision`` (branch,
    tag or commit) is resolved to its commit, which is what is read and recorded."""
    path = Path(source).expanduser()
    if path.is_dir():
        check_export_directory(path)
        config = config or _only_config(str(path), None)
        record = _local_record(path, config)
        return _published(SourceInfo("export", {"export": path.name, "config": config, "sha256": export_digest(path, config)}, config=config), record)
    if revision is not None and path.exists():
        raise S2SBenchError(f"--revision {revision}: only a Hub dataset has revisions ({source} is local)")
    commit = hub_commit(source, revision)
    check_hub_card(source, commit)
    config = config or _only_config(source, commit)
    return _published(SourceInfo("hub", {"hub": source, "config": config, "revision": commit}, config=config), _hub_record(source, config, commit))


def _published(info: SourceInfo, record: dict[str, Any] | None) -> SourceInfo:
    info.record = record
    if record and record.get("task"):
        profile = task_profile(record["task"], _record_name(info.config) or "task")
        info.profiles = {profile.code: profile}
        info.threshold = (record.get("validation") or {}).get("max_error")
    return info


MAX_CARD_BYTES = 1 << 20  # a card s2s push writes is a few KB; one of 100 MB took the reader 86 s and 568 MB


def check_export_directory(path: Path) -> None:
    """A directory the scorer can read as a dataset: an export (``README.md`` with configs, or
    parquet shards), else a one-line refusal before anything is written."""
    card = path / "README.md"
    if card.is_file() and card.stat().st_size > MAX_CARD_BYTES:  # the dataset reader parses it whole, before any row
        raise S2SBenchError(f"{card}: {card.stat().st_size} bytes, more than the {MAX_CARD_BYTES} a dataset card may hold (s2s push writes a few KB)")
    if card.is_file() or any(path.glob("*.parquet")) or any(path.glob("*/*.parquet")):
        return
    raise S2SBenchError(f"{path}: not a build directory (no items.jsonl and build.json), an export (README.md or parquet shards) or a dataset")


def check_hub_card(repo: str, commit: str | None) -> None:
    """A Hub dataset's card no larger than :data:`MAX_CARD_BYTES`, by the size the Hub lists for it
    (before the dataset reader downloads and parses it); unchecked when the Hub cannot be asked."""
    from huggingface_hub import HfApi

    try:
        listed = HfApi().get_paths_info(repo, ["README.md"], repo_type="dataset", revision=commit)
    except Exception:  # offline, or no card: the reader says what is wrong, if anything
        return
    size = next((getattr(entry, "size", 0) or 0 for entry in listed), 0)
    if size > MAX_CARD_BYTES:
        raise S2SBenchError(f"{repo}: README.md: {size} bytes, more than the {MAX_CARD_BYTES} a dataset card may hold (s2s push writes a few KB)")


def _only_config(name: str, revision: str | None) -> str | None:
    """The dataset's config when it has one; more than one is an error asking for --config."""
    import datasets

    try:
        configs = datasets.get_dataset_config_names(name, revision=revision)
    except Exception:  # the load says what is wrong with the source
        return None
    if len(configs) > 1:
        raise S2SBenchError(f"{name}: holds {len(configs)} configs; choose one with --config: {', '.join(configs)}")
    return configs[0] if configs and configs[0] != "default" else None


def _record_name(config: str | None) -> str | None:
    if config is None:
        return None
    if problem := name_problem(config):
        raise S2SBenchError(f"--config: {problem}")
    return f"{PROVENANCE_DIR}/{config}.json"


def _local_record(path: Path, config: str | None) -> dict[str, Any] | None:
    name = _record_name(config)
    record = path / name if name else None
    return read_json_object(record) if record is not None and record.is_file() else None


def _hub_record(repo: str, config: str | None, commit: str | None) -> dict[str, Any] | None:
    name = _record_name(config)
    if name is None:
        return None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        return read_json_object(Path(hf_hub_download(repo, name, repo_type="dataset", revision=commit)))
    except (EntryNotFoundError, LocalEntryNotFoundError):
        return None  # a dataset not made by s2s push: the bundled profile's prompts (the run says so)


def hub_commit(repo: str, revision: str | None) -> str | None:
    """The commit ``revision`` (default: main; a branch, a tag, a full SHA or a unique prefix of one)
    of a Hub dataset names (:func:`s2sbench.revisions.resolve_revision`). Offline, the commit the
    local cache holds for it, or a one-line refusal when the cache holds nothing of ``repo``."""
    from s2sbench.revisions import cache_folder, cached_revision, hub_offline, offline_miss, resolve_revision

    _check_dataset_id(repo)
    if hub_offline():
        if cache_folder(repo, "dataset") is None and not _in_datasets_cache(repo):
            raise offline_miss(repo, None, "folder")
        return cached_revision(repo, revision, "dataset") or revision  # the load reads what the cache holds
    return resolve_revision(repo, revision, "dataset")


def _check_dataset_id(repo: str) -> None:
    from s2sbench.revisions import is_repo_id

    if not is_repo_id(repo):
        raise S2SBenchError(f"{repo}: no such folder, and not a Hub dataset name (OWNER/NAME)")


def _in_datasets_cache(repo: str) -> bool:
    """Whether the datasets library's own cache holds a dataset loaded from ``repo`` (it can load it offline)."""
    import datasets

    return (Path(datasets.config.HF_DATASETS_CACHE) / repo.replace("/", "___")).is_dir()


def export_digest(path: Path, config: str | None) -> str:
    """SHA-256 over an export config's files (its shards and provenance record), by name and content."""
    files = sorted([*path.glob(f"{config}/*.parquet"), path / _record_name(config)] if config else [*path.glob("*.parquet"), *path.glob("*/*.parquet")])
    combined = hashlib.sha256()
    for file in files:
        if file.is_file():
            combined.update(f"{file.relative_to(path).as_posix()}\0{file_sha256(file)}\n".encode())
    return combined.hexdigest()


def dataset_rows(name: str, config: str | None, split: str, revision: str | None,
                 check: Callable[[str, Any], None] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) of a dataset config, its clips as ``{bytes, path}`` (never decoded), streamed;
    ``check`` is given each data file and its columns (see :func:`~s2sbench.release_rows.release_rows`)."""
    return release_rows(name, config or _only_config(name, revision), split, revision, check=check)


def open_rows(source: str, info: SourceInfo, split: str, check: Callable[[str, Any], None] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of a dataset source at the config and commit :func:`describe_source` resolved (``check``: see :func:`dataset_rows`)."""
    return dataset_rows(str(Path(source).expanduser()) if info.kind == "export" else source, info.config, split, info.identity.get("revision"), check)
