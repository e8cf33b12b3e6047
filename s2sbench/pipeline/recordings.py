"""People's recordings in a build: ``s2s build SOURCE --recordings DIR`` (and ``s2s record``, which
writes the same layout).

A recordings folder holds, per item, the clips people spoke, found by the item's id and part:

- ``DIR/<item-id>/context.<ext>`` and ``DIR/<item-id>/candidate-<k>.<ext>`` (k counted from 0), spoken
  by the speaker named in ``DIR/speaker.txt`` (one name; default: the folder's name); or
- ``DIR/recordings.csv`` with the columns ``id,part,path,speaker`` (``part``: ``context`` or
  ``candidate-K``; ``path`` relative to ``DIR``), one speaker per clip.

``<ext>`` is anything soundfile reads (wav, flac, ogg, mp3) or, through pydub and FFmpeg, what a
browser's MediaRecorder writes (webm, opus, m4a). A recording becomes a clip of the build as a
synthesized one does (resampled to the build's rate and channels, silence trimmed, its level set the
same way; :meth:`s2sbench.synth.clips.ClipMaker.adopt`), named by its content, checked by the same ASR
round trip, with the voice ``human:<speaker>``. A recording is never re-made: one that fails its check
stays failed. Items without a recording are spoken by the TTS engine, or left out with
``--recordings-only``. Every path stays inside the folder; a name that is not an item's part, a file
that is not audio: one line naming the file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from s2sbench._io import inside, regular_file
from s2sbench.errors import S2SBenchError
from s2sbench.items import name_problem

CSV_FILE = "recordings.csv"
SPEAKER_FILE = "speaker.txt"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".webm", ".opus", ".m4a")
PART = re.compile(r"context|candidate-(0|[1-9][0-9]{0,2})")


def part_index(part: str) -> int | None:
    """The clip index of a part name: 0 for ``context``, k + 1 for ``candidate-k``; None for another name."""
    if not PART.fullmatch(part):
        return None
    return 0 if part == "context" else int(part.removeprefix("candidate-")) + 1


@dataclass(frozen=True)
class Recordings:
    """Every recording of a folder: (item id, clip index, absolute path, speaker). Frozen and
    hashable: it travels in the build's plan to worker processes and Ray actors."""

    root: Path
    clips: tuple[tuple[str, int, str, str], ...] = ()

    @functools.cached_property
    def _by_clip(self) -> dict[tuple[str, int], tuple[str, str]]:
        return {(item_id, index): (path, speaker) for item_id, index, path, speaker in self.clips}

    def of(self, item_id: str, index: int) -> tuple[str, str] | None:
        """(path, speaker) of the item's clip ``index`` (0: the context, k + 1: candidate k), or None."""
        return self._by_clip.get((item_id, index))

    def has_context(self, item_id: str) -> bool:
        return (item_id, 0) in self._by_clip

    @property
    def speakers(self) -> list[str]:
        return sorted({speaker for *_, speaker in self.clips})

    def describe(self) -> dict[str, object]:
        """What build.json records: the folder by its name (never its path), the speakers, the clips
        and a digest of what they are (ids, parts, speakers, file sizes), so new recordings are a new build."""
        listing = [(item_id, index, Path(path).name, speaker, Path(path).stat().st_size) for item_id, index, path, speaker in self.clips]
        digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]
        return {"folder": self.root.name, "speakers": self.speakers, "clips": len(self.clips), "digest": digest}


def _speaker(value: str, where: str) -> str:
    if (problem := name_problem(value.replace(" ", "_"))) is not None:
        raise S2SBenchError(f"{where}: speaker: {problem}")
    return value


def _audio(root: Path, relative: str, where: str) -> str:
    path = regular_file(inside(root, relative, where), f"{where}: {relative!r}")
    if not path.is_file():
        raise S2SBenchError(f"{where}: {relative!r}: no such file")
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise S2SBenchError(f"{where}: {relative!r}: not a recording ({', '.join(AUDIO_SUFFIXES)})")
    return str(path)


def scan_recordings(folder: str | Path) -> Recordings:
    """Every recording of ``folder`` (the layout of the module doc), checked; nothing is decoded yet."""
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise S2SBenchError(f"--recordings {folder}: not a directory")
    found: dict[tuple[str, int], tuple[str, str]] = {}
    table = root / CSV_FILE
    if table.is_file():
        with open(table, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"id", "part", "path", "speaker"} - set(reader.fieldnames or [])
            if missing:
                raise S2SBenchError(f"{table}: missing column(s) {', '.join(sorted(missing))} (expected id,part,path,speaker)")
            for number, row in enumerate(reader, start=2):
                where = f"{table}:{number}"
                if (problem := name_problem(row["id"])) is not None:
                    raise S2SBenchError(f"{where}: id: {problem}")
                index = part_index(row["part"] or "")
                if index is None:
                    raise S2SBenchError(f"{where}: part: {row['part']!r} is not context or candidate-K")
                found[(row["id"], index)] = (_audio(root, row["path"], f"{where}: path"), _speaker(row["speaker"] or "", where))
        return _frozen(root, found)
    speaker_file = root / SPEAKER_FILE
    speaker = speaker_file.read_text(encoding="utf-8").strip() if speaker_file.is_file() else root.name
    speaker = _speaker(speaker, str(speaker_file) if speaker_file.is_file() else f"--recordings {folder}")
    for directory in sorted(path for path in root.iterdir() if path.is_dir()):
        if name_problem(directory.name) is not None:
            continue  # not an item's folder (the ids of items are names)
        for file in sorted(directory.iterdir()):
            if file.suffix.lower() not in AUDIO_SUFFIXES:
                continue
            index = part_index(file.stem)
            if index is None:
                raise S2SBenchError(f"{file}: not context.EXT or candidate-K.EXT (K from 0)")
            if (directory.name, index) in found:
                raise S2SBenchError(f"{file}: a second recording of {directory.name} {file.stem}")
            found[(directory.name, index)] = (_audio(root, f"{directory.name}/{file.name}", str(file)), speaker)
    return _frozen(root, found)


def _frozen(root: Path, found: dict[tuple[str, int], tuple[str, str]]) -> Recordings:
    if not found:
        raise S2SBenchError(f"--recordings {root}: no recordings (expected ITEM-ID/context.wav, ITEM-ID/candidate-K.wav, or {CSV_FILE})")
    return Recordings(root, tuple((item_id, index, path, speaker) for (item_id, index), (path, speaker) in sorted(found.items())))
