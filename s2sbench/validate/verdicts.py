"""One clip, one verdict: signal checks, then an ASR round trip scored against the text.

A verdict is a plain dict stored in ``item["validation"]``::

    {"asr": "transcript", "reference": "normalized text", "hypothesis": "normalized transcript",
     "error": 0.08, "metric": "wer", "passed": true, "reasons": [], "tries": 1}

``reasons`` holds the signal reason codes (see :mod:`.checks`), ``asr_error`` when the error
exceeds the threshold, and ``hallucination`` when the transcript is a decoding loop (Whisper's
compression-ratio guard: a weak recognizer on unclear speech repeats a syllable until its token
limit, ``Y'ka ni'ka'u'a'u'a'u...``, and the error rate alone can land under a loose threshold).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from s2sbench.normalize import chain, error_rate, remove_spaces
from s2sbench.profiles import LanguageProfile, check_max_error
from s2sbench.validate.asr import Recognizer
from s2sbench.validate.checks import SignalLimits, check_signal

# Whisper's own limit (openai/whisper, faster-whisper's compression_ratio_threshold): a transcript that
# zlib shrinks more than this is a loop, not speech.
MAX_COMPRESSION_RATIO = 2.4


def compression_ratio(text: str) -> float:
    """How much zlib shrinks ``text`` (UTF-8 bytes), as Whisper measures its segments; 0 for no text."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


@dataclass(frozen=True)
class Thresholds:
    """Where a clip passes: error at most ``max_error`` and no signal reason."""

    metric: str
    max_error: float
    normalizer: tuple
    limits: SignalLimits

    @classmethod
    def from_profile(cls, profile: LanguageProfile, sample_rate: int, max_error: float | None = None) -> Thresholds:
        return cls(
            metric=profile.metric,
            max_error=profile.max_error if max_error is None else check_max_error(max_error),
            normalizer=tuple(str(s) if isinstance(s, str) else tuple(sorted(s["map"].items())) for s in profile.normalizer),
            limits=SignalLimits(sample_rate=sample_rate, chars_per_second=tuple(profile.chars_per_second)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "max_error": self.max_error, "normalizer": list(self.normalizer), "chars_per_second": list(self.limits.chars_per_second)}


def transcribe_all(recognizer: Recognizer, clips: list[tuple[np.ndarray, int]], language: str) -> list[str]:
    """Texts of ``clips`` in one batched call where the recognizer has one, else clip by clip."""
    batched = getattr(recognizer, "transcribe_batch", None)
    if batched is not None:
        return batched(clips, language)
    return [recognizer.transcribe(samples, rate, language) for samples, rate in clips]


class ClipValidator:
    """Checks clips of one language against one set of thresholds with one recognizer."""

    def __init__(self, recognizer: Recognizer, profile: LanguageProfile, thresholds: Thresholds):
        self.recognizer = recognizer
        self.profile = profile
        self.thresholds = thresholds
        self.normalize = chain(profile.normalizer)

    def check(self, path: Path | BinaryIO, text: str, language: str) -> dict[str, Any]:
        """The verdict of the clip at ``path`` (or in an open file) on speaking ``text``."""
        return self.judge(self.measure(path, text, language))

    def measure(self, path: Path | BinaryIO, text: str, language: str) -> dict[str, Any]:
        """What the clip is, before any threshold on the error: its transcript, error and signal
        reasons (a re-run with another ``max_error`` judges it again without transcribing it)."""
        return self.measure_batch([(path, text, language)])[0]

    def measure_batch(self, clips: list[tuple[Path | BinaryIO, str, str]]) -> list[dict[str, Any]]:
        """:meth:`measure` of several clips ``(path or file, text, language)``: the signal checks one
        by one, then one recognizer call per language for every clip that has a signal."""
        references = [self.normalize(text) for _, text, _ in clips]
        signals = [check_signal(path, len(remove_spaces(reference)) or len(text), self.thresholds.limits)
                   for (path, text, _), reference in zip(clips, references)]
        transcripts = [""] * len(clips)
        heard: dict[str, list[int]] = {}  # language -> the clips to recognize
        for index, ((_, _, language), signal) in enumerate(zip(clips, signals)):
            if signal.samples is not None and "silent" not in signal.reasons:
                heard.setdefault(language, []).append(index)
        for language, indices in heard.items():
            audio = [(signals[i].samples, signals[i].sample_rate) for i in indices]
            for index, transcript in zip(indices, transcribe_all(self.recognizer, audio, language)):
                transcripts[index] = transcript
        return [
            {
                "asr": transcript,
                "reference": reference,
                "hypothesis": (hypothesis := self.normalize(transcript)),
                "error": error_rate(self.thresholds.metric, reference, hypothesis),
                "signal": list(signal.reasons),
                "duration": round(signal.duration, 3),
            }
            for transcript, reference, signal in zip(transcripts, references, signals)
        ]

    def judge(self, measured: dict[str, Any]) -> dict[str, Any]:
        """The verdict on a clip :meth:`measure` measured, under this validator's thresholds."""
        reasons = list(measured["signal"])
        if measured["error"] > self.thresholds.max_error:
            reasons.append("asr_error")
        if compression_ratio(measured["asr"]) > MAX_COMPRESSION_RATIO:
            reasons.append("hallucination")
        return {
            "asr": measured["asr"],
            "reference": measured["reference"],
            "hypothesis": measured["hypothesis"],
            "error": round(measured["error"], 4),
            "metric": self.thresholds.metric,
            "passed": not reasons,
            "reasons": reasons,
            "duration": measured["duration"],
            "tries": 1,
        }

    def scope(self) -> dict[str, Any]:
        """Everything a measurement depends on besides the clip and its text (not ``max_error``)."""
        limits = self.thresholds.limits
        return {"asr": self.recognizer.identity(), "metric": self.thresholds.metric, "normalizer": list(self.thresholds.normalizer),
                "limits": [limits.sample_rate, *limits.chars_per_second, limits.max_edge_silence, limits.min_level_dbfs,
                           limits.max_clipped_fraction, limits.silence_below_db]}
