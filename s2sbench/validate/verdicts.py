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

from s2sbench.profiles import LanguageProfile
from s2sbench.validate.asr import Recognizer
from s2sbench.validate.checks import SignalLimits, check_signal
from s2sbench.validate.normalize import chain, error_rate, remove_spaces

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
            max_error=profile.max_error if max_error is None else max_error,
            normalizer=tuple(str(s) if isinstance(s, str) else tuple(sorted(s["map"].items())) for s in profile.normalizer),
            limits=SignalLimits(sample_rate=sample_rate, chars_per_second=tuple(profile.chars_per_second)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "max_error": self.max_error, "normalizer": list(self.normalizer), "chars_per_second": list(self.limits.chars_per_second)}


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
        reference = self.normalize(text)
        signal = check_signal(path, len(remove_spaces(reference)) or len(text), self.thresholds.limits)
        transcript = ""
        if signal.samples is not None and "silent" not in signal.reasons:
            transcript = self.recognizer.transcribe(signal.samples, signal.sample_rate, language)
        hypothesis = self.normalize(transcript)
        return {
            "asr": transcript,
            "reference": reference,
            "hypothesis": hypothesis,
            "error": error_rate(self.thresholds.metric, reference, hypothesis),
            "signal": list(signal.reasons),
            "duration": round(signal.duration, 3),
        }

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
