"""The build directory: ``items.jsonl``, ``audio/``, ``build.json`` (and reports of later stages).

Writes are crash-safe (:mod:`s2sbench._io`): clips and ``build.json`` are written to a temporary
name and renamed; ``items.jsonl`` grows by whole lines appended with a single write, and a torn last
line left by a killed process is cut off when the directory is opened again (a whole item that lost
only its newline is kept, by every reader). So a build killed at any point leaves a usable directory
that the next run resumes.

A build directory may come from anyone: every item read from it is checked (UTF-8, names, texts, and
clip paths that must stay inside the directory and name regular files) and a bad one stops the reader
with ``items.jsonl:LINE: field: problem``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from s2sbench._io import (
    DirectoryLock,
    append_line,
    inside,
    is_whole_line,
    parse_json,
    read_json_object,
    regular_file,
    remove_temporary_files,
    repair_tail,
    write_atomic,
    write_lines_atomic,
)
from s2sbench.clip_length import length_problem
from s2sbench.errors import BuildDirectoryError
from s2sbench.items import Item, item_problems

UNFINISHED = ("running", "interrupted", "validating")  # build.json statuses of a run that did not end
ITEMS_FILE = "items.jsonl"
FAILURES_FILE = "failed.jsonl"
BUILD_FILE = "build.json"
AUDIO_DIR = "audio"


def variant_name(manifest: dict[str, Any]) -> str | None:
    """The transform a robustness variant (``s2s augment``) is named by (``snr10``), None for a plain build.

    A variant's items are its parent's published ones; its own verdicts measure what the transform
    did to recognition and do not gate them (``s2s push`` and ``s2s score`` keep every item)."""
    name = (manifest.get("augment") or {}).get("name")
    return str(name) if name is not None else None


class BuildDirectory:
    """A build directory on the local file system."""

    def __init__(self, root: str | Path):
        # file:// URLs are local directories (a Path turns file:///x into file:/x).
        self.root = Path(re.sub(r"^file:/+", "/", str(root)))

    @property
    def items_path(self) -> Path:
        return self.root / ITEMS_FILE

    @property
    def build_path(self) -> Path:
        return self.root / BUILD_FILE

    @property
    def audio_root(self) -> Path:
        return self.root / AUDIO_DIR

    def exists(self) -> bool:
        return self.items_path.is_file() and self.build_path.is_file()

    def require(self) -> BuildDirectory:
        """This directory, or a clear error when it is not a build directory."""
        if re.match(r"^[a-z][a-z0-9+.-]*:/", str(self.root)):
            raise BuildDirectoryError(f"{self.root}: a URL; this command reads a local build directory: copy the build down first (e.g. `aws s3 sync`)")
        if not self.exists():
            raise BuildDirectoryError(f"{self.root}: not a build directory (no {ITEMS_FILE} and {BUILD_FILE}); run `s2s build` first")
        return self

    def reading(self) -> contextlib.AbstractContextManager:
        """Held while a command reads the build (push, score, augment): readers share it; a build or
        validation writing there holds it alone, so a reader never sees a build half written (one
        line naming the writer). A build the user cannot write to has no writer to wait for."""
        if not os.access(self.root, os.W_OK):
            return contextlib.nullcontext()
        return DirectoryLock(self.root, "build directory", shared=True)

    def check_finished(self, allow_incomplete: bool = False) -> None:
        """A build whose last run is still going or was stopped (build.json ``running``,
        ``interrupted``, ``validating``) is not read as a whole one unless ``allow_incomplete``."""
        status = self.read_manifest().get("status")
        if status in UNFINISHED and not allow_incomplete:
            raise BuildDirectoryError(f"{self.build_path}: status {status}: the build did not finish; re-run its `s2s build` to complete it "
                                      "(or pass --allow-incomplete to use what is there)")

    # build.json
    def read_manifest(self) -> dict[str, Any]:
        return read_json_object(self.build_path, BuildDirectoryError) if self.build_path.is_file() else {}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.build_path, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))

    # items.jsonl
    def repair(self) -> None:
        """Cut a torn last line and remove temporary files left by a killed run."""
        repair_tail(self.items_path)
        if self.audio_root.is_dir():
            remove_temporary_files(self.audio_root, depth=1)  # audio/ab/<hash>.wav
        if self.root.is_dir():
            remove_temporary_files(self.root)

    def iter_items(self) -> Iterator[Item]:
        """Items in file order, streamed and checked (see the module doc)."""
        for _, item in self.iter_numbered_items():
            yield item

    def iter_numbered_items(self) -> Iterator[tuple[int, Item]]:
        """(line number, item) in file order. A last line torn by a killed writer is not an item; a
        last line that is whole without its newline is (see :func:`~s2sbench._io.is_whole_line`)."""
        if not self.items_path.is_file():
            return
        with open(self.items_path, "rb") as handle:
            for number, data in enumerate(handle, start=1):
                if not data.endswith(b"\n") and not is_whole_line(data):
                    break
                where = f"{self.items_path}:{number}"
                try:
                    line = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    column = len(data[: exc.start].decode("utf-8")) + 1
                    raise BuildDirectoryError(f"{where}: not UTF-8 (byte 0x{data[exc.start]:02x} at column {column})") from None
                try:
                    record = parse_json(line)
                    item = Item.from_dict(record) if isinstance(record, dict) else None
                except (json.JSONDecodeError, TypeError) as exc:
                    raise BuildDirectoryError(f"{where}: item: {exc}") from None
                if item is None:
                    raise BuildDirectoryError(f"{where}: item: expected a JSON object")
                problems = item_problems(item)
                if problems:
                    field, problem = problems[0]
                    raise BuildDirectoryError(f"{where}: {field}: {problem}")
                self.clip_paths(item, where)
                yield number, item

    def clip_paths(self, item: Item, where: str) -> list[Path]:
        """The item's clips as paths inside this directory (context first), checked: each stays inside
        (:func:`inside`) and is a regular file or not there (:func:`regular_file`, without opening it),
        no longer than a benchmark clip may last (its header read: :mod:`s2sbench.clip_length`).
        Every reader of a build's clips gets them here."""
        audio = item.audio
        if audio is None:
            return []
        if not isinstance(audio, dict):
            raise BuildDirectoryError(f"{where}: audio: expected an object")

        def clip(relative: object, field: str) -> Path:
            path = regular_file(inside(self.root, relative, f"{where}: {field}"), f"{where}: {field}: {relative!r}")
            if path.is_file() and (problem := length_problem(path)) is not None:  # a regular file: its header is read, never waited on
                raise BuildDirectoryError(f"{where}: {field}: {relative!r}: {problem}")
            return path

        paths = [clip(audio.get("context"), "audio.context")]
        candidates = audio.get("candidates")
        if candidates is not None:
            if not isinstance(candidates, list):
                raise BuildDirectoryError(f"{where}: audio.candidates: expected a list of paths")
            paths += [clip(path, f"audio.candidates[{k}]") for k, path in enumerate(candidates)]
        return paths

    def check_verdicts(self, item: Item, where: str) -> None:
        """Each clip whose verdict names the bytes it judged (``sha256``) still holds them: a clip
        replaced after validation (other audio, NaN samples, a lying header) is refused in one line,
        never published or scored under its old verdict. Reads every clip of the item."""
        validation = item.validation or {}
        verdicts = [validation.get("context"), *(validation.get("candidates") or [])]
        fields = ["audio.context"] + [f"audio.candidates[{k}]" for k in range(len(verdicts) - 1)]
        for path, verdict, field in zip(self.clip_paths(item, where), verdicts, fields):
            digest = verdict.get("sha256") if isinstance(verdict, dict) else None
            if digest and (not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest):
                raise BuildDirectoryError(f"{where}: {field}: {path.name} changed since it was validated; "
                                          f"re-check it with `s2s validate {self.root}` (or re-run its build)")

    def item_ids(self) -> set[str]:
        return {item.id for item in self.iter_items()}

    def reset_items(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.items_path, b"")

    def append_item(self, item: Item) -> None:
        """Append one item as one line, with one write, so a kill never leaves half an item."""
        self.append_line(item.to_json() + "\n")

    def append_line(self, line: str) -> None:
        append_line(self.items_path, line)

    def rewrite_items(self, items: Iterator[Item]) -> int:
        """Replace items.jsonl with ``items`` (streamed to a temporary file, then renamed)."""
        return self._replace_lines(item.to_json() + "\n" for item in items)

    def sort_items(self, order: Iterable[str]) -> bool:
        """Put items.jsonl in the order of the ids ``order``; ids not named keep theirs, after.

        Holds one (offset, length) per item, never the items. Returns False when already sorted.
        """
        spans: dict[str, tuple[int, int]] = {}
        offset = 0
        with open(self.items_path, "rb") as handle:
            for line in handle:
                spans[parse_json(line)["id"]] = (offset, len(line))
                offset += len(line)
        ordered = [spans.pop(item_id) for item_id in order if item_id in spans] + sorted(spans.values())
        if all(earlier[0] < later[0] for earlier, later in zip(ordered, ordered[1:])):
            return False
        with open(self.items_path, "rb") as handle:

            def lines() -> Iterator[str]:
                for start, length in ordered:
                    handle.seek(start)
                    yield handle.read(length).decode("utf-8")

            self._replace_lines(lines())
        return True

    def _replace_lines(self, lines: Iterable[str]) -> int:
        return write_lines_atomic(self.items_path, lines)

    # failed.jsonl: items an engine could not speak in the last run (a re-run retries them)
    def write_failures(self, records: list[dict[str, Any]]) -> None:
        path = self.root / FAILURES_FILE
        if records:
            write_atomic(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8"))
        else:
            path.unlink(missing_ok=True)
