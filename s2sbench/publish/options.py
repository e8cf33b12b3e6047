"""What ``s2s push`` takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from s2sbench.licenses import DataLicense


@dataclass
class PushOptions:
    builds: list[Path]
    repo: str | None = None
    to_dir: Path | None = None
    config: str | None = None  # one name for a single subset; default: the subset's name
    split: str = "test"
    include_failed: bool = False
    private: bool = False
    revision: str | None = None
    commit_message: str | None = None
    tag: str | None = None  # a tag for the commit pushed (or the head, when nothing changed)
    max_shard_size: int = 500 * 2**20
    license: DataLicense | None = None  # overrides build.json's and the source format's
    verify: bool = True
    allow_incomplete: bool = False  # publish a build whose last run did not finish (build.json running/interrupted)
    layout: str = "hub"  # or "s2sbench": the original release's jsonl + wav folders (to_dir only)


@dataclass
class ConfigExport:
    name: str
    rows: int
    files: list[str] = field(default_factory=list)
    audio_digests: list[tuple[str, str]] = field(default_factory=list)  # (id, sha256 of context clip) sample


@dataclass
class PushResult:
    configs: list[ConfigExport]
    directory: Path | None
    commit: str | None = None  # None when nothing changed
    url: str | None = None
    tagged: str | None = None  # the commit --tag names, when given
    held_back: dict[str, tuple[int, Path]] = field(default_factory=dict)  # config -> (items left out for failing validation, the build)
