"""Where a build's clips live: a local directory, or any fsspec URL (``s3://``, ``gs://``, ...).

Clips are the bulk of a build and are written by workers, possibly on many machines, so they go
straight to the build's location. The small files (``items.jsonl``, ``build.json``, reports) are
written by the one driver process; for a URL build they live in a local mirror
(:func:`mirror_directory`), filled by :func:`pull_small_files` and uploaded by
:func:`push_small_files`.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import BinaryIO

from s2sbench._io import parse_json, write_atomic
from s2sbench.builddir import BUILD_FILE, FAILURES_FILE, ITEMS_FILE, BuildDirectory
from s2sbench.errors import S2SBenchError

# How each clip format's file starts: a clip that does not is not audio (a truncated or overwritten file).
AUDIO_MAGIC = {"wav": (b"RIFF", 8, b"WAVE"), "flac": (b"fLaC", 0, b"")}
SMALLEST_CLIP_BYTES = 44  # a WAV header with no samples


def looks_like_audio(relative: str, head: bytes, size: int) -> bool:
    """A cheap check that a clip file is whole audio of its format: its size and its first bytes."""
    magic, offset, tag = AUDIO_MAGIC.get(relative.rsplit(".", 1)[-1], (b"", 0, b""))
    return size > SMALLEST_CLIP_BYTES and bool(magic) and head.startswith(magic) and head[offset:offset + len(tag)] == tag


def is_url(location: str | Path) -> bool:
    """True for ``scheme://...`` locations (other than plain local paths)."""
    return "://" in str(location)


class ClipStore:
    """Clips under a local directory; written atomically (temporary file, then rename)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def usable(self, relative: str) -> bool:
        """The clip exists and starts as audio of its format should (see :func:`looks_like_audio`)."""
        path = self.root / relative
        try:
            with open(path, "rb") as handle:
                return looks_like_audio(relative, handle.read(12), os.fstat(handle.fileno()).st_size)
        except OSError:
            return False

    def write(self, relative: str, data: bytes) -> None:
        write_atomic(self.root / relative, data)

    def read(self, relative: str) -> bytes | None:
        """The file's bytes; None when it does not exist."""
        try:
            return (self.root / relative).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def open(self, relative: str) -> Path | BinaryIO:
        """Something soundfile reads: the file's path here."""
        return self.root / relative


class FsspecClipStore(ClipStore):
    """Clips under an fsspec URL. Object stores make a PUT visible whole, so a write is one PUT."""

    def __init__(self, url: str):
        import fsspec

        self.url = url.rstrip("/")
        try:
            self.fs, self.path = fsspec.core.url_to_fs(self.url)
        except (ValueError, ImportError) as exc:  # an unknown scheme, or its package not installed
            raise S2SBenchError(f"{url}: {exc}") from exc

    def exists(self, relative: str) -> bool:
        return self.fs.isfile(f"{self.path}/{relative}")

    def usable(self, relative: str) -> bool:
        target = f"{self.path}/{relative}"
        try:
            return looks_like_audio(relative, self.fs.cat_file(target, start=0, end=12), self.fs.size(target))
        except (FileNotFoundError, OSError):
            return False

    def write(self, relative: str, data: bytes) -> None:
        target = f"{self.path}/{relative}"
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)  # a no-op on object stores
        self.fs.pipe_file(target, data)

    def open(self, relative: str) -> BinaryIO:
        return io.BytesIO(self.fs.cat_file(f"{self.path}/{relative}"))

    def read(self, relative: str) -> bytes | None:
        try:
            return self.fs.cat_file(f"{self.path}/{relative}")
        except FileNotFoundError:
            return None

    def get(self, relative: str, local: Path) -> bool:
        """Copy a small file to ``local``; False when it does not exist."""
        if not self.fs.isfile(f"{self.path}/{relative}"):
            return False
        write_atomic(local, self.fs.cat_file(f"{self.path}/{relative}"))
        return True

    def put(self, local: Path, relative: str) -> None:
        self.write(relative, local.read_bytes())


def clip_store(location: str | Path) -> ClipStore:
    """The store for a build location; ``file://`` URLs are local directories (atomic renames)."""
    location = str(location)
    if location.startswith("file://"):
        return ClipStore(location.removeprefix("file://"))
    return FsspecClipStore(location) if is_url(location) else ClipStore(location)


def mirror_directory(url: str) -> Path:
    """The local directory that holds the small files of the URL build ``url``."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "s2sbench" / "url-builds" / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


# A URL build keeps these in a local mirror (the driver appends and renames) and uploads them.
SMALL_FILES = (ITEMS_FILE, BUILD_FILE, FAILURES_FILE, "validation.json", "validation.md", "validation.png", "report.html")


def pull_small_files(url: str, directory: BuildDirectory) -> None:
    """Bring a URL build's small files into its mirror: its build.json, and every item it has
    that the mirror lacks (the mirror may hold items a crashed run had not uploaded yet). A URL
    with no build.json holds no build, whatever the mirror remembers."""
    store = FsspecClipStore(url)
    mirrored = directory.read_manifest().get("fingerprint")
    if not store.get(BUILD_FILE, directory.build_path):  # no build there (or deleted): forget the mirror
        for name in SMALL_FILES:
            (directory.root / name).unlink(missing_ok=True)
        return
    if directory.read_manifest().get("fingerprint") != mirrored:  # the mirror's items are of other parameters
        directory.items_path.unlink(missing_ok=True)
    directory.repair()
    remote = directory.root / f".tmp-remote-{ITEMS_FILE}"
    if not store.get(ITEMS_FILE, remote):
        return
    known = directory.item_ids()
    with open(remote, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n") and parse_json(line)["id"] not in known:
                directory.append_line(line)
    remote.unlink()


def push_small_files(directory: BuildDirectory, url: str, names: tuple[str, ...] | list[str]) -> None:
    store = FsspecClipStore(url)
    for name in names:
        local = directory.root / name
        if local.is_file():
            store.put(local, name)
        elif store.fs.isfile(f"{store.path}/{name}"):
            store.fs.rm_file(f"{store.path}/{name}")  # e.g. failed.jsonl once nothing fails
