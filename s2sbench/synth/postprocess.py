"""Audio post-processing shared by every engine: mono, resample, trim, loudness, encode.

Each step is a small pure function over a float32 array, so the chain is easy to read and to test.
Loudness normalization uses pydub's dBFS arithmetic; resampling uses soxr (deterministic).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
import soundfile as sf

AUDIO_FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}


@dataclass(frozen=True)
class AudioOptions:
    """How every clip is finished. Part of each clip's cache key."""

    sample_rate: int = 16000
    format: str = "wav"
    trim_below_db: float = 40.0  # silence = quieter than the peak by this much
    pad_seconds: float = 0.1  # silence kept (or added) at each end after trimming
    loudness_dbfs: float = -20.0  # target average level; peaks are kept below -1 dBFS

    def as_dict(self) -> dict:
        return asdict(self)


def to_float_mono(samples: np.ndarray) -> np.ndarray:
    """Any engine output (int16 or float, mono or (frames, channels)) -> float32 mono."""
    array = np.asarray(samples)
    if array.dtype.kind in "iu":
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    array = array.astype(np.float32, copy=False)
    if array.ndim == 2:
        array = array.mean(axis=1)
    return np.nan_to_num(array.reshape(-1))


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return samples
    import soxr

    return soxr.resample(samples, rate_in, rate_out, quality="HQ").astype(np.float32)


def speech_bounds(samples: np.ndarray, sample_rate: int, below_db: float) -> tuple[int, int] | None:
    """First and last sample of speech: a 10 ms envelope above the peak minus ``below_db``
    (so single clicks do not count as speech); None for a clip with no speech."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak == 0.0:
        return None
    window = max(1, sample_rate // 100)
    envelope = np.convolve(np.abs(samples), np.ones(window, dtype=np.float32) / window, mode="same")
    voiced = np.flatnonzero(envelope > peak * 10 ** (-below_db / 20))
    return (int(voiced[0]), int(voiced[-1])) if voiced.size else None


def trim_silence(samples: np.ndarray, sample_rate: int, below_db: float, pad_seconds: float) -> np.ndarray:
    """Cut leading and trailing silence, then pad both ends with exactly ``pad_seconds`` of zeros."""
    pad = np.zeros(int(round(pad_seconds * sample_rate)), dtype=np.float32)
    bounds = speech_bounds(samples, sample_rate, below_db)
    if bounds is None:
        return np.concatenate([pad, pad])
    return np.concatenate([pad, samples[bounds[0] : bounds[1] + 1], pad])


def normalize_loudness(samples: np.ndarray, sample_rate: int, target_dbfs: float) -> np.ndarray:
    """Apply one gain so the clip's average level is ``target_dbfs``, peaks kept under -1 dBFS."""
    from pydub import AudioSegment

    pcm = np.clip(samples, -1.0, 1.0)
    segment = AudioSegment((pcm * 32767).astype("<i2").tobytes(), frame_rate=sample_rate, sample_width=2, channels=1)
    if segment.rms == 0:
        return samples
    gain = min(target_dbfs - segment.dBFS, -1.0 - segment.max_dBFS)
    louder = segment.apply_gain(gain)
    return np.frombuffer(louder.raw_data, dtype="<i2").astype(np.float32) / 32767


def finish(samples: np.ndarray, sample_rate: int, options: AudioOptions) -> np.ndarray:
    """The whole chain: float mono at ``options.sample_rate``, trimmed, padded and levelled."""
    audio = resample(to_float_mono(samples), sample_rate, options.sample_rate)
    audio = trim_silence(audio, options.sample_rate, options.trim_below_db, options.pad_seconds)
    return normalize_loudness(audio, options.sample_rate, options.loudness_dbfs)


def encode(samples: np.ndarray, options: AudioOptions) -> bytes:
    container, subtype = AUDIO_FORMATS[options.format]
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), options.sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()
