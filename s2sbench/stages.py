"""The build's per-item stages, as plain functions over JSON-able work records.

An item becomes a *work record*: its clips to make (context, then candidates), each with the
attempts made so far. Three steps move it on, and every executor runs the same ones:

- :meth:`Speaker.speak_pending` makes the next attempt of every clip that needs one (TTS);
- :meth:`Checker.check_pending` gives each new attempt its ASR verdict (a clip measured by an
  earlier run is not transcribed again: :mod:`s2sbench.validate.cache`);
- :func:`finish` picks each clip's passing (or best) attempt and writes the item's audio fields.

A clip needs another attempt while its last one failed and retries are left; attempt ``n`` speaks
with the next voice, seed ``n`` and the ``n``-th rate of :data:`RETRY_RATES`. Because clips are
content-addressed and each step depends only on the record, the order in which executors run the
steps (clip by clip locally, stage by stage on Ray) gives the same items byte for byte. An error on
one item (an engine that cannot speak a text) is kept in its record, never raised, so one bad text
does not stop a build.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench.items import Item
from s2sbench.profiles import load_profile
from s2sbench.storage import clip_store
from s2sbench.synth import TTSSpec, VoiceSettings, load_engine
from s2sbench.synth.clips import ClipMaker
from s2sbench.synth.postprocess import AudioOptions
from s2sbench.validate.asr import ASRSpec, load_recognizer
from s2sbench.validate.cache import MeasuredClips
from s2sbench.validate.verdicts import ClipValidator, Thresholds

# Retry n speaks with the next voice (when several), seed n and the n-th speaking rate.
RETRY_RATES = (1.0, 0.9, 1.1)


@dataclass(frozen=True)
class ValidationPlan:
    asr: ASRSpec
    profile: str  # code or path, loaded again in each worker
    max_error: float | None
    retries: int


@dataclass(frozen=True)
class SpeakPlan:
    """What a worker needs to speak items; picklable so worker processes and actors rebuild it."""

    root: str  # an absolute path or an fsspec URL: where the clips go
    tts: TTSSpec
    voices: tuple[str | None, ...]
    speak: str  # "context" or "all"
    audio: AudioOptions
    validation: ValidationPlan | None = None

    @property
    def attempts(self) -> int:
        return self.validation.retries + 1 if self.validation else 1


@dataclass
class FailedItem:
    id: str
    error: str

    def as_record(self) -> dict[str, str]:
        return {"id": self.id, "error": self.error}


def voice_for(item_id: str, voices: tuple[str | None, ...]) -> str | None:
    """Rotate voices over items by a stable hash of the id (same voice on every run)."""
    digest = int(hashlib.md5(item_id.encode()).hexdigest()[:8], 16)
    return voices[digest % len(voices)]


def voice_settings(item_id: str, attempt: int, voices: tuple[str | None, ...]) -> VoiceSettings:
    first = voices.index(voice_for(item_id, voices))
    return VoiceSettings(voice=voices[(first + attempt) % len(voices)], rate=RETRY_RATES[attempt % len(RETRY_RATES)], seed=attempt)


def new_work(item: Item, plan: SpeakPlan) -> dict[str, Any]:
    """The work record of ``item``: one entry per clip to make, none attempted yet."""
    texts = [item.context] + (list(item.candidates) if plan.speak == "all" else [])
    clips = [{"text": text, "recording": None, "attempts": []} for text in texts]
    recording = item.source.get("context_wav")
    # Absolute, as the stages may run in another directory (Ray actors); the item keeps its path.
    clips[0]["recording"] = os.path.abspath(recording) if recording else None
    return {"item": item.to_dict(), "clips": clips, "error": None}


def needs_attempt(clip: dict[str, Any], plan: SpeakPlan) -> bool:
    attempts = clip["attempts"]
    if not attempts:
        return True
    last = attempts[-1]
    return plan.validation is not None and "verdict" in last and not last["verdict"]["passed"] and clip["recording"] is None and len(attempts) < plan.attempts


def is_pending(work: dict[str, Any], plan: SpeakPlan) -> bool:
    return work["error"] is None and any(needs_attempt(clip, plan) for clip in work["clips"])


def _record_error(work: dict[str, Any], exc: Exception) -> None:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    work["error"] = f"{type(exc).__name__}: {exc}{where}"


class Speaker:
    """The TTS engine, loaded once per process or actor."""

    def __init__(self, plan: SpeakPlan):
        self.plan = plan
        self.maker = ClipMaker(clip_store(plan.root), load_engine(plan.tts), plan.audio)

    def speak_pending(self, work: dict[str, Any]) -> dict[str, Any]:
        if work["error"] is not None:
            return work
        item_id, language = work["item"]["id"], work["item"]["lang"]
        try:
            for clip in work["clips"]:
                if not needs_attempt(clip, self.plan):
                    continue
                if clip["recording"]:
                    made = self.maker.adopt(clip["recording"])
                    clip["attempts"].append({"path": made.path, "created": made.created, "voice": None})
                    continue
                settings = voice_settings(item_id, len(clip["attempts"]), self.plan.voices)
                made = self.maker.speak(clip["text"], language, settings)
                clip["attempts"].append({"path": made.path, "created": made.created, "voice": settings.voice, "rate": settings.rate, "seed": settings.seed})
        except Exception as exc:  # one item's failure is recorded, not raised: see the module doc
            _record_error(work, exc)
        return work


class Checker:
    """The recognizer and thresholds, loaded once per process or actor."""

    def __init__(self, plan: SpeakPlan):
        if plan.validation is None:
            raise ValueError("a Checker needs a plan with validation")
        self.plan = plan
        profile = load_profile(plan.validation.profile)
        thresholds = Thresholds.from_profile(profile, plan.audio.sample_rate, plan.validation.max_error)
        self.validator = ClipValidator(load_recognizer(plan.validation.asr), profile, thresholds)
        self.measured = MeasuredClips(clip_store(plan.root), self.validator)

    def check_pending(self, work: dict[str, Any]) -> dict[str, Any]:
        """Give each clip's new attempt its verdict, and take the later attempts that an earlier run
        made (see :mod:`s2sbench.validate.cache`)."""
        if work["error"] is not None:
            return work
        item = work["item"]
        try:
            for clip in work["clips"]:
                if clip["attempts"] and "verdict" not in clip["attempts"][-1]:
                    self.measured.check_attempts(item["id"], clip["text"], item["lang"], clip["attempts"], self.plan.attempts)
        except Exception as exc:  # see the module doc
            _record_error(work, exc)
        return work


def _chosen_attempt(clip: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The clip's lowest-error passing attempt, else its lowest-error one; and its verdict with the
    others. (Several pass when a re-run with a higher ``max_error`` took an earlier run's attempts.)"""
    attempts = clip["attempts"]
    if "verdict" not in attempts[-1]:
        return attempts[-1], None
    best = min(range(len(attempts)), key=lambda i: (not attempts[i]["verdict"]["passed"], attempts[i]["verdict"]["error"], i))
    verdict = dict(attempts[best]["verdict"])
    verdict["tries"] = len(attempts)
    verdict["rejected"] = [
        {"path": a["path"], "voice": a["voice"], "rate": a.get("rate"), "seed": a.get("seed"), "error": a["verdict"]["error"], "reasons": a["verdict"]["reasons"]}
        for i, a in enumerate(attempts)
        if i != best
    ]
    return attempts[best], verdict


def finish(work: dict[str, Any], plan: SpeakPlan) -> tuple[Item, int, int] | FailedItem:
    """The finished item with clips (and verdicts), clips synthesized, clips reused; or its failure."""
    if work["error"] is not None:
        return FailedItem(work["item"]["id"], work["error"])
    item = Item.from_dict(work["item"])
    chosen = [_chosen_attempt(clip) for clip in work["clips"]]
    spoken_candidates = plan.speak == "all"
    item.audio = {
        "context": chosen[0][0]["path"],
        "candidates": [attempt["path"] for attempt, _ in chosen[1:]] if spoken_candidates else None,
        "voices": {"context": chosen[0][0]["voice"], "candidates": [attempt["voice"] for attempt, _ in chosen[1:]] if spoken_candidates else None},
        "sample_rate": plan.audio.sample_rate,
    }
    if plan.validation is not None:
        verdicts = [verdict for _, verdict in chosen]
        item.validation = {
            "context": verdicts[0],
            "candidates": verdicts[1:] if spoken_candidates else None,
            "passed": all(v["passed"] for v in verdicts),
        }
    created = sum(any(a["created"] for a in clip["attempts"]) for clip in work["clips"])
    return item, created, len(work["clips"]) - created


class ItemSpeaker:
    """Speaker and Checker together: all of an item's attempts in one call (the local executor)."""

    def __init__(self, plan: SpeakPlan):
        self.plan = plan
        self.speaker = Speaker(plan)
        self.checker = Checker(plan) if plan.validation else None

    def run(self, work: dict[str, Any]) -> dict[str, Any]:
        while is_pending(work, self.plan):
            self.speaker.speak_pending(work)
            if self.checker is not None:
                self.checker.check_pending(work)
        return work


_LOADED: dict[SpeakPlan, ItemSpeaker] = {}


def item_speaker(plan: SpeakPlan) -> ItemSpeaker:
    """The process's :class:`ItemSpeaker` for ``plan`` (engines load on first use)."""
    if plan not in _LOADED:
        _LOADED.clear()
        _LOADED[plan] = ItemSpeaker(plan)
    return _LOADED[plan]


def speak_item(item: Item, plan: SpeakPlan) -> tuple[Item, int, int] | FailedItem:
    """Give ``item`` its clips (and verdicts), all attempts in this process."""
    return finish(item_speaker(plan).run(new_work(item, plan)), plan)
