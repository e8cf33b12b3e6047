"""``s2s validate BUILD_DIR``: check an existing build's clips again, optionally with another ASR.

Verdicts are appended to ``.validate-progress.jsonl`` as each item is checked, so an interrupted
run resumes where it stopped; at the end ``items.jsonl`` is rewritten atomically with the new
verdicts (streaming both files: they are in the same order) and the reports are written again.
Clips are not re-synthesized here: retries need the build's engine, which ``s2s build`` has. A clip
that this recognizer (with these normalizer and signal limits) measured before, in the build or an
earlier ``s2s validate``, is judged again from its kept measurement (:mod:`s2sbench.validate.cache`):
``s2s validate --max-error X`` with the build's recognizer transcribes nothing, except, under
``--asr-window auto``, a clip that fails its short window only under the new threshold: it is heard
once at 30 s, and that hearing is kept too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench._io import DirectoryLock, append_json, parse_json, repair_tail, write_atomic
from s2sbench.builddir import BuildDirectory
from s2sbench.devices import check_device
from s2sbench.errors import BuildDirectoryError
from s2sbench.items import Item
from s2sbench.profiles import LanguageProfile, build_profile, check_max_error, load_profile
from s2sbench.progress import SILENT, Progress
from s2sbench.storage import ClipStore
from s2sbench.validate.asr import DEFAULT_WINDOW, ASRSpec, Recognizer, load_recognizer
from s2sbench.validate.cache import MeasuredClips
from s2sbench.validate.records import DEFAULT_BATCH_SIZE
from s2sbench.validate.report import ValidationReport, write_reports
from s2sbench.validate.verdicts import ClipValidator, Thresholds

PROGRESS_FILE = ".validate-progress.jsonl"


@dataclass
class RevalidateOptions:
    """What ``s2s validate`` was told; what it was not told is kept as the build was validated (its
    recognizer, window and threshold; a ``profile`` given instead brings its own recognizer and threshold)."""

    asr: str | None = None  # ENGINE:MODEL; default: the build's recognizer, else the profile's
    asr_window: str | None = None  # faster-whisper's window, "auto" (fits each clip) or "30"; default: the build's, else DEFAULT_WINDOW
    max_error: float | None = None  # default: the build's threshold, else the profile's
    device: str = "auto"
    profile: str | None = None  # default: the profile the build used
    batch_size: int = DEFAULT_BATCH_SIZE  # items whose clips the recognizer hears in one call


def _verdicts(items: list[tuple[Item, list[str]]], measured: MeasuredClips) -> list[dict]:
    """Verdicts of each item's clips (context first, then the spoken candidates), every clip of the
    batch heard in one recognizer call per language."""
    requests = [(item.id, text, item.lang, path) for item, clips in items for path, text in zip(clips, [item.context, *item.candidates])]
    verdicts = iter(measured.verdicts(requests))
    validations = []
    for _, clips in items:
        context = next(verdicts)
        candidates = [next(verdicts) for _ in clips[1:]] or None
        validations.append({"context": context, "candidates": candidates, "passed": all(v["passed"] for v in [context, *(candidates or [])])})
    return validations


def _progress(path: Path, fingerprint: str) -> Iterator[dict]:
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as handle:
        header = handle.readline()
        if not header.endswith("\n") or parse_json(header).get("fingerprint") != fingerprint:
            return
        for line in handle:
            if line.endswith("\n"):
                yield parse_json(line)


def _check(batch: list[tuple[Item, list[str]]], measured: MeasuredClips, progress_path: Path, checked: int, progress: Progress) -> int:
    """Verdicts for a batch of items, appended to the progress file item by item."""
    for (item, _), validation in zip(batch, _verdicts(batch, measured) if batch else []):
        append_json(progress_path, {"id": item.id, "validation": validation})
        checked += 1
        progress.advance(checked)
    return checked


def validate_build(root: str | Path, options: RevalidateOptions, progress: Progress = SILENT,
                   recognizer: Recognizer | None = None, locked: bool = False, notify: Callable[[str], None] = lambda line: None) -> ValidationReport:
    """Re-check every clip of the build at ``root``; returns the new aggregates. ``recognizer``: one
    already loaded (``options.asr`` is then not loaded again; ``s2s augment`` checks several builds).
    The build is held alone meanwhile (no push, score or build reads it half rewritten) unless the
    caller holds it already (``locked``). ``notify`` hears each setting that differs from the one the
    build was validated with (``max error 0.9 -> 0.35``)."""
    check_max_error(options.max_error)  # what can be refused before the directory is opened
    check_device(options.device)
    if locked:
        return _validate_build(root, options, progress, recognizer, notify)
    with DirectoryLock(BuildDirectory(root).require().root, "build directory"):
        return _validate_build(root, options, progress, recognizer, notify)


def kept_settings(options: RevalidateOptions, built: dict[str, Any], profile: LanguageProfile) -> tuple[str, str, float | None]:
    """(recognizer ENGINE:MODEL, window, max error) of a re-validation: each as given, else as the build
    was validated (``built``: build.json's ``validation``), else the profile's; a ``--profile`` given
    brings its own recognizer and threshold."""
    asr = built.get("asr") or {}
    window = options.asr_window or str(asr.get("window") or DEFAULT_WINDOW)
    if options.profile:
        built, asr = {}, {}
    recognizer = options.asr or (f"{asr['engine']}:{asr['model']}" if asr.get("engine") and asr.get("model") else f"{profile.asr_engine}:{profile.asr_model}")
    max_error = options.max_error if options.max_error is not None else built.get("max_error")
    return recognizer, window, max_error


def setting_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a re-validation changed of the build's validation settings, one phrase each."""
    if not before:
        return []
    old, new = before.get("asr") or {}, after.get("asr") or {}
    changes = []
    if (old.get("engine"), old.get("model")) != (new.get("engine"), new.get("model")):
        changes.append(f"recognizer {old.get('engine')}:{old.get('model')} -> {new.get('engine')}:{new.get('model')}")
    if old.get("window") != new.get("window") and new.get("window") is not None:
        changes.append(f"--asr-window {old.get('window')} -> {new.get('window')}")
    changes += [f"{name.replace('_', ' ')} {before.get(name)} -> {after.get(name)}" for name in ("max_error", "metric", "normalizer", "chars_per_second")
                if before.get(name) != after.get(name)]
    return changes


def _validate_build(root: str | Path, options: RevalidateOptions, progress: Progress,
                    recognizer: Recognizer | None, notify: Callable[[str], None]) -> ValidationReport:
    directory = BuildDirectory(root).require()
    directory.repair()
    manifest = directory.read_manifest()
    lang = (manifest.get("source") or {}).get("lang", "en")
    profile = load_profile(options.profile) if options.profile else build_profile(manifest.get("profile"), lang)
    total = sum(1 for _ in directory.iter_items())  # every item and clip path checked before the recognizer loads
    built = manifest.get("validation") or {}
    asr, window, max_error = kept_settings(options, built, profile)
    if recognizer is None:
        recognizer = load_recognizer(ASRSpec.parse(asr, device=options.device, window=window))
    thresholds = Thresholds.from_profile(profile, (manifest.get("audio") or {}).get("sample_rate", 16000), max_error)
    validator = ClipValidator(recognizer, profile, thresholds)
    measured = MeasuredClips(ClipStore(directory.root), validator)
    # The build's retries stay: its clips are the ones those re-syntheses made (validation re-makes none).
    settings = {"asr": validator.recognizer.identity(), **thresholds.as_dict(), "retries": built.get("retries", 0)}
    for change in setting_changes(built, settings):
        notify(f"changed from the build's validation: {change}")
    fingerprint = json.dumps({"settings": settings, "items": directory.items_path.stat().st_size}, sort_keys=True)

    progress_path = directory.root / PROGRESS_FILE
    repair_tail(progress_path)  # a kill mid-append leaves a torn line: the item is checked again
    done = list(_progress(progress_path, fingerprint))
    if not done:
        write_atomic(progress_path, json.dumps({"fingerprint": fingerprint}) + "\n")
    progress.start(total)
    _check_pending(directory, len(done), measured, progress_path, options.batch_size, progress)
    directory.rewrite_items(_merged(directory, progress_path))
    manifest["validation"] = settings
    directory.write_manifest(manifest)
    os.unlink(progress_path)
    return write_reports(directory)


def _check_pending(directory: BuildDirectory, checked: int, measured: MeasuredClips, progress_path: Path, batch_size: int,
                   progress: Progress) -> None:
    """Check the items after the first ``checked`` (those a stopped run checked), ``batch_size`` items
    at a time, each batch's verdicts appended to the progress file."""
    batch: list[tuple[Item, list[str]]] = []
    for position, (number, item) in enumerate(directory.iter_numbered_items()):
        if position < checked:
            continue
        clips = directory.clip_paths(item, f"{directory.items_path}:{number}")
        if not clips:
            raise BuildDirectoryError(f"{directory.items_path}:{number}: audio: the item has no clips to validate")
        # The paths as the item names them (checked above to stay inside): the keys of the measurements.
        batch.append((item, [item.audio["context"], *(item.audio.get("candidates") or [])]))
        if len(batch) == batch_size:
            checked = _check(batch, measured, progress_path, checked, progress)
            batch = []
    _check(batch, measured, progress_path, checked, progress)


def _merged(directory: BuildDirectory, progress_path: Path) -> Iterator[Item]:
    """The build's items, each with the verdicts the progress file holds for it."""
    with open(progress_path, encoding="utf-8") as handle:
        handle.readline()
        for item, line in zip(directory.iter_items(), handle):
            record = parse_json(line)
            if record["id"] != item.id:
                raise BuildDirectoryError(f"{progress_path}: out of step with items.jsonl at {item.id}")
            item.validation = with_attempts(record["validation"], item.validation)
            yield item


ATTEMPT_FIELDS = ("tries", "rejected")  # what a build records of the attempts it made of a clip


def with_attempts(validation: dict, built: dict | None) -> dict:
    """``validation`` (a re-check of each chosen clip) with what the build recorded of the attempts it
    made and threw away: a re-validation hears only the chosen clips, and must not forget the others."""
    if not built:
        return validation
    pairs = [(validation.get("context"), built.get("context"))]
    pairs += zip(validation.get("candidates") or [], built.get("candidates") or [])
    for verdict, before in pairs:
        if verdict is not None and before:
            verdict.update({field: before[field] for field in ATTEMPT_FIELDS if field in before})
    return validation
