"""Checks of a clip's signal that need no speech recognition, each with a reason code.

| code | meaning |
|---|---|
| ``unreadable`` | the file cannot be decoded |
| ``sample_rate`` / ``channels`` | not the build's sample rate / not mono |
| ``silent`` / ``low_level`` | no signal / average level below ``min_level_dbfs`` |
| ``clipping`` | more than ``max_clipped_fraction`` of samples at full scale |
| ``leading_silence`` / ``trailing_silence`` | more than ``max_edge_silence`` seconds of silence at an end |
| ``too_fast`` / ``too_slow`` | characters per second of speech outside the profile's bounds (a truncated clip reads too fast) |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from s2sbench.synth.postprocess import speech_bounds


@dataclass(frozen=True)
class SignalLimits:
    sample_rate: int = 16000
    chars_per_second: tuple[float, float] = (4.0, 30.0)
    max_edge_silence: float = 1.0
    min_level_dbfs: float = -40.0
    max_clipped_fraction: float = 0.001
    silence_below_db: float = 40.0


@dataclass
class SignalReport:
    reasons: list[str]
    samples: np.ndarray | None  # float32 mono, for the recognizer; None when unreadable
    sample_rate: int
    duration: float
    speech_seconds: float


def check_signal(path: Path | BinaryIO, speech_characters: int, limits: SignalLimits) -> SignalReport:
    """Every signal check of one clip; ``speech_characters`` is the length of its text without spaces."""
    try:
        data, sample_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return SignalReport(["unreadable"], None, 0, 0.0, 0.0)
    reasons: list[str] = []
    if sample_rate != limits.sample_rate:
        reasons.append("sample_rate")
    if data.shape[1] != 1:
        reasons.append("channels")
    samples = data.mean(axis=1)
    duration = len(samples) / sample_rate if sample_rate else 0.0
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak == 0.0:
        return SignalReport(reasons + ["silent"], samples, sample_rate, duration, 0.0)
    level = 20 * np.log10(float(np.sqrt(np.mean(samples**2))) + 1e-12)
    if level < limits.min_level_dbfs:
        reasons.append("low_level")
    if np.mean(np.abs(samples) >= 0.999) > limits.max_clipped_fraction:
        reasons.append("clipping")
    first, last = speech_bounds(samples, sample_rate, limits.silence_below_db) or (0, 0)
    if first / sample_rate > limits.max_edge_silence:
        reasons.append("leading_silence")
    if (len(samples) - 1 - last) / sample_rate > limits.max_edge_silence:
        reasons.append("trailing_silence")
    speech_seconds = max(last - first, 1) / sample_rate
    rate = speech_characters / speech_seconds
    slowest, fastest = limits.chars_per_second
    if rate > fastest:
        reasons.append("too_fast")
    elif rate < slowest:
        reasons.append("too_slow")
    return SignalReport(reasons, samples, sample_rate, duration, speech_seconds)
