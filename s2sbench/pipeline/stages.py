"""The build's stages: plain functions over batches of :class:`~.records.ItemWork`.

- :func:`speak_batch` makes the next attempt of every clip in the batch that needs one (TTS);
- :func:`check_batch` gives every new attempt its verdict, the recognizer hearing all the batch's
  new clips in one call per language (a clip measured by an earlier run is not transcribed again:
  :mod:`s2sbench.validate.cache`);
- :func:`finish` picks each clip's passing (or best) attempt and writes the item's audio fields.

A clip needs another attempt while its last one failed and retries are left: the work goes round
again, in a later batch. Attempt ``n`` speaks with the next voice, seed ``n`` and the ``n``-th rate
of :data:`RETRY_RATES`. A build given several engines (``--tts`` more than once) rotates them over
items as it rotates voices (a stable hash of the item id: every clip of an item, and every retry, is
spoken by the item's engine, with that engine's voices); each item then records the engine of each
clip next to its voice. Every executor (:mod:`.executors`, :mod:`.ray`) runs these same functions;
because clips are content-addressed and a clip's transcript does not depend on the clips batched
with it, the build directory is the same byte for byte whatever the batch size and executor.
The engines are loaded once per process or actor, in a :class:`Speaker` and a :class:`Checker`.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from s2sbench.items import Item
from s2sbench.pipeline.recordings import Recordings
from s2sbench.pipeline.records import Attempt, BuiltItem, ClipCheck, ClipJob, FailedItem, ItemWork
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
HUMAN = "human"  # the engine of a clip made from a person's recording (--recordings)

Choice = TypeVar("Choice")


@dataclass(frozen=True)
class ValidationPlan:
    asr: ASRSpec
    profile: str  # code or path, loaded again in each worker
    max_error: float | None
    retries: int


@dataclass(frozen=True)
class EnginePlan:
    """One speech engine of a build and the voices it rotates over its items."""

    tts: TTSSpec
    voices: tuple[str | None, ...]
    label: str  # how items.jsonl, build.json and the breakdowns name it: its spec, a local path by its name


@dataclass(frozen=True)
class SpeakPlan:
    """What a worker needs to speak items; picklable so worker processes and actors rebuild it."""

    root: str  # an absolute path or an fsspec URL: where the clips go
    engines: tuple[EnginePlan, ...]  # one, or several rotated over items (engine_for)
    speak: str  # "context" or "all"
    audio: AudioOptions
    validation: ValidationPlan | None = None
    recordings: Recordings | None = None  # people's recordings (--recordings): spoken instead of the TTS
    directory: str = ""  # the driver's working directory: a source's relative recording paths are read from it (on any worker)

    @property
    def attempts(self) -> int:
        return self.validation.retries + 1 if self.validation else 1

    def engine_for(self, item_id: str) -> int:
        """The index of the engine that speaks item ``item_id`` (always 0 with one engine)."""
        return engine_for(item_id, len(self.engines))


def rotated(key: str, choices: Sequence[Choice]) -> Choice:
    """One of ``choices`` by a stable hash of ``key`` (the same on every run and every machine)."""
    digest = int(hashlib.md5(key.encode()).hexdigest()[:8], 16)
    return choices[digest % len(choices)]


def voice_for(item_id: str, voices: tuple[str | None, ...]) -> str | None:
    """Rotate voices over items by a stable hash of the id (same voice on every run)."""
    return rotated(item_id, voices)


def engine_for(item_id: str, engines: int) -> int:
    """Rotate ``engines`` engines over items like voices, by a hash of the id salted apart from the
    voices' (hashing the bare id for both would tie the two choices: with two engines of two voices
    each, every item of the first engine would get its first voice)."""
    return rotated(f"engine:{item_id}", range(engines))


def voice_settings(item_id: str, attempt: int, voices: tuple[str | None, ...]) -> VoiceSettings:
    first = voices.index(voice_for(item_id, voices))
    return VoiceSettings(voice=voices[(first + attempt) % len(voices)], rate=RETRY_RATES[attempt % len(RETRY_RATES)], seed=attempt)


def new_work(item: Item, plan: SpeakPlan) -> ItemWork:
    """The work of ``item``: one job per clip to make, none attempted yet."""
    texts = [item.context] + (list(item.candidates) if plan.speak == "all" else [])
    clips = [ClipJob(text) for text in texts]
    recording = item.source.get("context_wav")
    clips[0].recording = os.path.abspath(os.path.join(plan.directory, recording)) if recording else None  # the item keeps its own path
    for index, clip in enumerate(clips):
        found = plan.recordings.of(item.id, index) if plan.recordings is not None else None
        if found is not None:
            clip.recording, clip.speaker = found[0], f"human:{found[1]}"
    return ItemWork(item, clips)


def needs_attempt(clip: ClipJob, plan: SpeakPlan) -> bool:
    if not clip.attempts:
        return True
    last = clip.attempts[-1]
    return (plan.validation is not None and last.verdict is not None and not last.verdict["passed"]
            and clip.recording is None and len(clip.attempts) < plan.attempts)


def is_pending(work: ItemWork, plan: SpeakPlan) -> bool:
    return work.error is None and any(needs_attempt(clip, plan) for clip in work.clips)


def _record_error(work: ItemWork, exc: Exception) -> None:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    work.error = f"{type(exc).__name__}: {exc}{where}"


class Speaker:
    """The TTS engines and clip store, loaded once per process or actor: one clip maker per engine."""

    def __init__(self, plan: SpeakPlan):
        self.plan = plan
        store = clip_store(plan.root)
        self.makers = [ClipMaker(store, load_engine(engine.tts), plan.audio) for engine in plan.engines]


class Checker:
    """The recognizer, thresholds and measurement cache, loaded once per process or actor."""

    def __init__(self, plan: SpeakPlan):
        if plan.validation is None:
            raise ValueError("a Checker needs a plan with validation")
        self.plan = plan
        profile = load_profile(plan.validation.profile)
        thresholds = Thresholds.from_profile(profile, plan.audio.sample_rate, plan.validation.max_error)
        self.validator = ClipValidator(load_recognizer(plan.validation.asr), profile, thresholds)
        self.measured = MeasuredClips(clip_store(plan.root), self.validator)


def _speak_work(speaker: Speaker, work: ItemWork) -> None:
    plan = speaker.plan
    engine = plan.engine_for(work.item.id)
    maker, voices = speaker.makers[engine], plan.engines[engine].voices
    for clip in work.clips:
        if not needs_attempt(clip, plan):
            continue
        if clip.recording:
            made = maker.record(clip.recording) if clip.speaker else maker.adopt(clip.recording)
            clip.attempts.append(Attempt(made.path, made.created, clip.speaker))
            continue
        settings = voice_settings(work.item.id, len(clip.attempts), voices)
        made = maker.speak(clip.text, work.item.lang, settings)
        clip.attempts.append(Attempt(made.path, made.created, settings.voice, settings.rate, settings.seed))


def speak_batch(speaker: Speaker, works: list[ItemWork]) -> list[ItemWork]:
    """Make the next attempt of every clip of ``works`` that needs one."""
    for work in works:
        if work.error is None:
            try:
                _speak_work(speaker, work)
            except Exception as exc:  # one item's failure is recorded, not raised: see the module doc
                _record_error(work, exc)
    return works


def _checks(work: ItemWork) -> list[ClipCheck]:
    return [ClipCheck(work.item.id, clip.text, work.item.lang, clip.attempts)
            for clip in work.clips if clip.attempts and clip.attempts[-1].verdict is None]


def check_batch(checker: Checker, works: list[ItemWork]) -> list[ItemWork]:
    """Give every new attempt in ``works`` its verdict, all the batch's clips heard together."""
    live = [work for work in works if work.error is None]
    try:
        checker.measured.check_batch([check for work in live for check in _checks(work)], checker.plan.attempts)
    except Exception:
        # Something in the batch failed: check item by item, so that the error lands on its item.
        for work in live:
            try:
                checker.measured.check_batch(_checks(work), checker.plan.attempts)
            except Exception as exc:  # see the module doc
                _record_error(work, exc)
    return works


def _chosen_attempt(clip: ClipJob) -> tuple[Attempt, dict | None]:
    """The clip's lowest-error passing attempt, else its lowest-error one; and its verdict with the
    others. (Several pass when a re-run with a higher ``max_error`` took an earlier run's attempts.)"""
    attempts = clip.attempts
    if attempts[-1].verdict is None:
        return attempts[-1], None
    best = min(range(len(attempts)), key=lambda i: (not attempts[i].verdict["passed"], attempts[i].verdict["error"], i))
    verdict = dict(attempts[best].verdict)
    verdict["tries"] = len(attempts)
    verdict["rejected"] = [
        {"path": a.path, "voice": a.voice, "rate": a.rate, "seed": a.seed, "error": a.verdict["error"], "reasons": a.verdict["reasons"]}
        for i, a in enumerate(attempts)
        if i != best
    ]
    return attempts[best], verdict


def clip_engine(clip: ClipJob, label: str) -> str | None:
    """The engine of a clip: ``human`` for a person's recording, None for a source's own recording
    (adopted as it is), else the item's engine (its ``label``)."""
    if clip.speaker:
        return HUMAN
    return None if clip.recording else label


def finish(work: ItemWork, plan: SpeakPlan) -> BuiltItem | FailedItem:
    """The finished item with clips (and verdicts) and what this run made; or its failure."""
    if work.error is not None:
        return FailedItem(work.item.id, work.error)
    item = work.item
    chosen = [_chosen_attempt(clip) for clip in work.clips]
    spoken_candidates = plan.speak == "all"
    audio = {
        "context": chosen[0][0].path,
        "candidates": [attempt.path for attempt, _ in chosen[1:]] if spoken_candidates else None,
        "voices": {"context": chosen[0][0].voice, "candidates": [attempt.voice for attempt, _ in chosen[1:]] if spoken_candidates else None},
    }
    if len(plan.engines) > 1:  # a build of one engine names it in build.json only, as it always has
        label = plan.engines[plan.engine_for(item.id)].label
        engines = [clip_engine(clip, label) for clip in work.clips]
        audio["engines"] = {"context": engines[0], "candidates": engines[1:] if spoken_candidates else None}
    item.audio = {**audio, "sample_rate": plan.audio.sample_rate}
    if plan.validation is not None:
        verdicts = [verdict for _, verdict in chosen]
        item.validation = {
            "context": verdicts[0],
            "candidates": verdicts[1:] if spoken_candidates else None,
            "passed": all(v["passed"] for v in verdicts),
        }
    created = sum(any(a.created for a in clip.attempts) for clip in work.clips)
    return BuiltItem(item, created, len(work.clips) - created)


class Stages:
    """A process's loaded engines for one plan: the speaker, and the checker when validating."""

    def __init__(self, plan: SpeakPlan):
        self.plan = plan
        self.speaker = Speaker(plan)
        self.checker = Checker(plan) if plan.validation else None

    def step(self, works: list[ItemWork]) -> list[ItemWork]:
        """One round: speak, then check, every clip of ``works`` that needs it."""
        speak_batch(self.speaker, works)
        if self.checker is not None:
            check_batch(self.checker, works)
        return works

    def run(self, works: list[ItemWork]) -> list[ItemWork]:
        """Rounds until no clip of ``works`` needs another attempt (retries: later, smaller batches)."""
        pending = works
        while pending:
            pending = [work for work in self.step(pending) if is_pending(work, self.plan)]
        return works


_LOADED: dict[SpeakPlan, Stages] = {}


def loaded_stages(plan: SpeakPlan) -> Stages:
    """The process's :class:`Stages` for ``plan`` (engines load on first use)."""
    if plan not in _LOADED:
        _LOADED.clear()
        _LOADED[plan] = Stages(plan)
    return _LOADED[plan]


def build_batch(items: list[Item], plan: SpeakPlan) -> list[BuiltItem | FailedItem]:
    """``items`` with their clips (and verdicts), every attempt in this process: what a worker
    process runs (module-level, so it pickles)."""
    stages = loaded_stages(plan)
    return [finish(work, plan) for work in stages.run([new_work(item, plan) for item in items])]
