"""What a recognizer heard in each clip, kept in the build so that no clip is transcribed twice.

Transcribing is most of a build's time, and a clip's transcript, error and signal reasons depend
on the clip, its text and the recognizer with its normalizer and signal limits, but not on
``max_error``. So each is measured once and kept in ``.verdicts/<2 hex>/<32 hex>.json``, one file
per item and spoken text (the hash of the item id, the text, its language and that *scope*)::

    {"measured": {"audio/ab/ab12....wav": {"sha256": "...", "measurement": {...}}},
     "attempts": [{"path": "audio/ab/ab12....wav", "voice": "en-us", "rate": 1.0, "seed": 0}, ...]}

``measured`` is looked up by clip path and content hash, so a clip replaced on disk is measured
again. ``attempts`` are the clip's attempts in the order the build made them: a re-run with a
higher ``max_error`` takes the later attempts an earlier, stricter run made (their clips and
measurements exist, so they cost nothing) and keeps the lowest-error passing one, where it would
otherwise stop at the first attempt that now passes. ``s2s validate`` uses the same measurements.

Short windows (faster-whisper, ``--asr-window auto``): a measurement records the ``window`` (seconds)
that encoded the clip. A clip that fails for a reason from its transcript (``asr_error``,
``hallucination``) under a window shorter than 30 s is heard again with the 30 s window before its
verdict is final; that measurement is kept beside the first (``"full"``) and decides the verdict,
which records the deciding ``window`` (and the short window's hearing under ``short_window``). Which
window decides depends on the clip, its text and the thresholds alone, never on the batch.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from s2sbench._io import parse_json
from s2sbench.storage import ClipStore
from s2sbench.synth.clips import CLIP_PATH, clip_key
from s2sbench.validate.records import ATTEMPT_FIELDS, Attempt, ClipCheck
from s2sbench.validate.verdicts import ClipValidator

CACHE_DIR = ".verdicts"
FULL_WINDOW = 30
TRANSCRIPT_REASONS = ("asr_error", "hallucination")  # what a 30 s window may decide otherwise
UNHEARD = ("unreadable", "silent")  # signal reasons of a clip the recognizer never hears


def _digest(data: bytes | None) -> str | None:
    """What a measurement is keyed by besides its path: the clip's bytes (None: no clip)."""
    return hashlib.sha256(data).hexdigest() if data is not None else None


class MeasuredClips:
    """Measurements of one build's clips by one validator's recognizer, normalizer and limits."""

    def __init__(self, store: ClipStore, validator: ClipValidator):
        self.store = store
        self.validator = validator
        self.scope = validator.scope()  # holds the recognizer's identity, its window policy with it
        recognizer = validator.recognizer
        self._window_of = getattr(recognizer, "window_of", None)  # None: a recognizer without windows
        self._full: ClipValidator | None = None
        if self._window_of is not None and recognizer.at_full_window() is not recognizer:
            self._full = ClipValidator(recognizer.at_full_window(), validator.profile, validator.thresholds)

    def _window(self, measurement: dict[str, Any]) -> int | None:
        """The window (seconds) that heard the clip measured so; None: not heard, or long-form."""
        if self._window_of is None or set(UNHEARD) & set(measurement["signal"]):
            return None
        return self._window_of(measurement["duration"])

    def _needs_full(self, measurement: dict[str, Any]) -> bool:
        """Whether the clip measured so must be heard with the 30 s window before its verdict."""
        if self._full is None or (measurement.get("window") or FULL_WINDOW) >= FULL_WINDOW:
            return False
        return any(reason in TRANSCRIPT_REASONS for reason in self.validator.judge(measurement)["reasons"])

    def _hear_fully(self, pending: list[tuple[dict[str, Any], bytes | None, str, str, str]]) -> None:
        """Give each ``(measurement, clip bytes, path, text, language)`` that needs one its 30 s
        measurement (``"full"``), all of them heard in one call per language."""
        pending = [entry for entry in pending if "full" not in entry[0] and self._needs_full(entry[0])]
        if not pending:
            return
        sources = [(io.BytesIO(data) if data is not None else self.store.open(path), text, language) for _, data, path, text, language in pending]
        for (measurement, *_), full in zip(pending, self._full.measure_batch(sources)):
            measurement["full"] = {**full, "window": FULL_WINDOW}

    def judge(self, measurement: dict[str, Any]) -> dict[str, Any]:
        """The verdict on a measured clip: the first hearing's, or the 30 s window's where the first
        (a shorter window) failed on its transcript (its measurement made by :meth:`_hear_fully`)."""
        verdict = self.validator.judge(measurement)
        if "window" not in measurement:
            return verdict
        if self._needs_full(measurement) and "full" in measurement:
            short = {"window": measurement["window"], "asr": verdict["asr"], "error": verdict["error"], "reasons": verdict["reasons"]}
            verdict = {**self.validator.judge(measurement["full"]), "window": FULL_WINDOW, "short_window": short}
        else:
            verdict["window"] = measurement["window"]
        return verdict

    def _relative(self, item_id: str, text: str, language: str) -> str:
        key = clip_key({"item": item_id, "text": text, "language": language, "scope": self.scope})
        return f"{CACHE_DIR}/{key[:2]}/{key}.json"

    def _load(self, relative: str) -> dict[str, Any]:
        data = self.store.read(relative)
        if data is not None:
            try:
                record = parse_json(data)
                if isinstance(record, dict) and isinstance(record.get("measured"), dict) and isinstance(record.get("attempts"), list):
                    return record
            except (json.JSONDecodeError, UnicodeDecodeError):
                pass  # a damaged cache file is measured again, never trusted
        return {"measured": {}, "attempts": []}

    def _save(self, relative: str, record: dict[str, Any]) -> None:
        self.store.write(relative, json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8"))

    def _measurements(self, clips: list[tuple[str, str, str, str]]) -> list[tuple[str, dict[str, Any], dict[str, Any], bool]]:
        """For each ``(item id, text, language, clip path)``: its record's path, the record, the
        clip's measurement and whether it was measured now. The clips whose content was not measured
        before are measured together, one recognizer call per language
        (:meth:`~s2sbench.validate.verdicts.ClipValidator.measure_batch`)."""
        records: dict[str, dict[str, Any]] = {}  # one record object per file, however many clips share it
        found: list[tuple[str, dict[str, Any] | None, str | None]] = []
        unmeasured: list[int] = []
        sources = []
        datas: list[bytes | None] = []
        for index, (item_id, text, language, path) in enumerate(clips):
            relative = self._relative(item_id, text, language)
            record = records.setdefault(relative, self._load(relative))
            data = self.store.read(path)
            datas.append(data)
            digest = _digest(data)
            known = record["measured"].get(path)
            if known is not None and digest is not None and known.get("sha256") == digest:
                found.append((relative, known["measurement"], digest))
                continue
            found.append((relative, None, digest))
            unmeasured.append(index)
            sources.append((io.BytesIO(data) if data is not None else self.store.open(path), text, language))
        measured = dict(zip(unmeasured, self.validator.measure_batch(sources))) if sources else {}
        for measurement in measured.values():
            if self._window_of is not None:
                measurement["window"] = self._window(measurement)
        kept = [known if known is not None else measured[index] for index, (_, known, _) in enumerate(found)]
        # The clips that failed a short window on their transcript: heard again at 30 s, together.
        pending = [(measurement, datas[index], clips[index][3], clips[index][1], clips[index][2])
                   for index, measurement in enumerate(kept) if self._needs_full(measurement) and "full" not in measurement]
        self._hear_fully(pending)
        completed = {id(entry[0]) for entry in pending}
        results = []
        for index, ((relative, _, digest), (_, _, _, path), measurement) in enumerate(zip(found, clips, kept)):
            record = records[relative]
            if index in measured:
                record["measured"][path] = {"sha256": digest, "measurement": measurement}
            results.append((relative, record, {**measurement, "sha256": digest}, index in measured or id(measurement) in completed))
        return results

    def _judge(self, measurement: dict[str, Any]) -> dict[str, Any]:
        """The verdict on a measurement, bound to the bytes it judged (their SHA-256): a clip replaced
        after its verdict is not published or scored under it (BuildDirectory.check_verdicts)."""
        verdict = self.judge(measurement)
        if measurement.get("sha256"):
            verdict["sha256"] = measurement["sha256"]
        return verdict

    def verdicts(self, clips: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
        """The verdicts on clips ``(item id, text, language, path)`` (``s2s validate``): each measured
        unless it was before."""
        verdicts = []
        for relative, record, measurement, measured in self._measurements(clips):
            if measured:
                self._save(relative, record)
            verdicts.append(self._judge(measurement))
        return verdicts

    def check_batch(self, clips: list[ClipCheck], most: int) -> None:
        """Give the last attempt of each clip its verdict, then append (with verdicts) the later
        attempts an earlier run made, up to ``most`` attempts in all; see the module doc."""
        requests = [(clip.item_id, clip.text, clip.language, clip.attempts[-1].path) for clip in clips]
        for clip, (relative, record, measurement, measured) in zip(clips, self._measurements(requests)):
            attempts = clip.attempts
            attempts[-1].verdict = self._judge(measurement)
            made = [attempt.history() for attempt in attempts]
            if record["attempts"][: len(made)] != made:  # another history (voices, engine): start it anew
                record["attempts"] = made
                measured = True
            if measured:
                self._save(relative, record)
            self._take_later_attempts(relative, record, clip, most)

    def _take_later_attempts(self, relative: str, record: dict[str, Any], clip: ClipCheck, most: int) -> None:
        attempts = clip.attempts
        for earlier in record["attempts"][len(attempts):most]:
            if not isinstance(earlier, dict) or not CLIP_PATH.fullmatch(str(earlier.get("path"))):
                return  # not a clip path this build makes: a damaged (or crafted) record is not followed
            known = record["measured"].get(earlier["path"])
            data = self.store.read(earlier["path"])
            if known is None or data is None or _digest(data) != known.get("sha256"):
                return  # gone or changed: the build makes (or measures) it again as a new attempt
            measurement = known["measurement"]
            if self._needs_full(measurement) and "full" not in measurement:  # failing now, under a stricter threshold
                self._hear_fully([(measurement, data, earlier["path"], clip.text, clip.language)])
                self._save(relative, record)
            attempts.append(Attempt(earlier["path"], False, **{k: earlier[k] for k in ATTEMPT_FIELDS},
                                    verdict=self._judge({**measurement, "sha256": known["sha256"]})))
