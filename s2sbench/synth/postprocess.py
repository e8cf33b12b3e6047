"""Audio post-processing shared by every engine: mono, resample, trim, loudness, encode.

Each step is a small pure function over a float32 array, so the chain is easy to read and to test.
Resampling uses soxr (deterministic).

Loudness is integrated loudness as ITU-R BS.1770 defines it (K-weighted, gated over 400 ms blocks),
measured with pyloudnorm, and every clip (synthesized or a person's recording) gets the one gain that
brings it to ``AudioOptions.loudness_lufs`` (EBU R 128's -23 LUFS by default), less where that gain
would lift a sample peak above -1 dBFS. Two rules of our own complete the standard for short speech
clips: a clip shorter than one 400 ms gating block is measured as one block of its own length (the
K-weighted mean square over the whole clip), and the clip is measured at unit peak, so that the
standard's absolute gate (-70 LUFS) cannot gate away a quiet recording's speech. Builds made before
LUFS levelled clips to an average (RMS) level in dBFS through pydub (``loudness_dbfs``); that rule
stays here, so such a build keeps and remakes its clips the same way.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import soundfile as sf

from s2sbench.errors import S2SBenchError

AUDIO_FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}
DEFAULT_LOUDNESS_LUFS = -23.0  # EBU R 128's target level (integrated loudness, ITU-R BS.1770)
LOUDNESS_RANGE = (-60.0, -5.0)  # targets --loudness-lufs takes
PEAK_CEILING_DBFS = -1.0  # no sample peak above this after levelling
GATING_BLOCK_SECONDS = 0.4  # ITU-R BS.1770's gating block
LOUDNESS_FIELDS = ("loudness_lufs", "loudness_dbfs")  # one of them levels a clip; the other is None


@dataclass(frozen=True)
class AudioOptions:
    """How every clip is finished. Part of each clip's cache key (:meth:`as_dict`)."""

    sample_rate: int = 16000
    format: str = "wav"
    trim_below_db: float = 40.0  # silence = quieter than the peak by this much
    pad_seconds: float = 0.1  # silence kept (or added) at each end after trimming
    loudness_lufs: float | None = DEFAULT_LOUDNESS_LUFS  # integrated loudness (BS.1770); peaks kept below -1 dBFS
    loudness_dbfs: float | None = None  # the rule before LUFS: average (RMS) level, kept by the builds made under it

    def __post_init__(self) -> None:
        if (self.loudness_lufs is None) == (self.loudness_dbfs is None):
            raise ValueError("AudioOptions levels by one rule: give loudness_lufs, or loudness_dbfs with loudness_lufs=None")

    def as_dict(self) -> dict:
        """The options as build.json records them and clip keys hash them: the unused loudness rule
        left out, so a build made under ``loudness_dbfs`` keeps the keys (and clips) it had."""
        return {key: value for key, value in asdict(self).items() if not (key in LOUDNESS_FIELDS and value is None)}

    @property
    def loudness_text(self) -> str:
        """The level in words, for cards and notes: ``-23 LUFS`` or ``-20 dBFS RMS``."""
        return f"{self.loudness_lufs:g} LUFS" if self.loudness_lufs is not None else f"{self.loudness_dbfs:g} dBFS RMS"

    @classmethod
    def from_dict(cls, record: dict[str, Any] | None, where: str = "build.json") -> AudioOptions:
        """The options a build recorded (``build.json``'s ``audio``): a build made before LUFS has
        ``loudness_dbfs`` alone and keeps that rule. A value that is not what the field takes is one
        error naming it."""
        record = dict(record or {})
        if "loudness_lufs" not in record and "loudness_dbfs" in record:
            record["loudness_lufs"] = None
        known = {key: value for key, value in record.items() if key in cls.__dataclass_fields__}
        for key, value in known.items():
            wanted = (str,) if key == "format" else (int,) if key == "sample_rate" else (int, float)
            if value is None and key in LOUDNESS_FIELDS:
                continue
            if isinstance(value, bool) or not isinstance(value, wanted) or (isinstance(value, float) and not math.isfinite(value)):
                raise S2SBenchError(f"{where}: audio.{key}: {value!r} is not {'a name' if key == 'format' else 'a number'}")
        if known.get("format", "wav") not in AUDIO_FORMATS:
            raise S2SBenchError(f"{where}: audio.format: {known['format']!r} is not one of {', '.join(AUDIO_FORMATS)}")
        if known.get("sample_rate", 16000) <= 0:
            raise S2SBenchError(f"{where}: audio.sample_rate: {known['sample_rate']!r} is not a sample rate")
        try:
            return cls(**known)
        except ValueError as error:
            raise S2SBenchError(f"{where}: audio: {error}") from None


def check_loudness(value: float | None, option: str = "--loudness-lufs") -> float | None:
    """``value`` when it is a target loudness ``s2s build`` takes (None: the default); else one clear error."""
    low, high = LOUDNESS_RANGE
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high):
        raise S2SBenchError(f"{option} {value!r}: expected a loudness from {low:g} to {high:g} LUFS (EBU R 128: {DEFAULT_LOUDNESS_LUFS:g})")
    return value


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


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """The clip's integrated loudness in LUFS (ITU-R BS.1770, pyloudnorm's K-weighting and gating);
    a clip shorter than one 400 ms gating block is measured as one block of its own length. -inf for
    a clip with no sample or no block above the absolute gate."""
    import pyloudnorm

    data = np.asarray(samples, dtype=np.float64).reshape(-1)
    if data.size == 0:
        return -math.inf
    block = GATING_BLOCK_SECONDS
    if data.size < block * sample_rate:
        # One block holding every sample. pyloudnorm compares the clip with block x rate in floating
        # point, which may round above the clip's length: one zero sample more (nothing added to the
        # block's mean square) keeps it from refusing the clip.
        block = data.size / sample_rate
        data = np.concatenate([data, np.zeros(1)])
    return float(pyloudnorm.Meter(sample_rate, block_size=block).integrated_loudness(data))


def clip_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """A clip's integrated loudness as :func:`normalize_lufs` measures it (at unit peak, then scaled
    back): what a levelled clip has; -inf for one with no signal."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak == 0.0:
        return -math.inf
    return integrated_loudness(samples / peak, sample_rate) + 20 * math.log10(peak)


def normalize_lufs(samples: np.ndarray, sample_rate: int, target_lufs: float) -> np.ndarray:
    """Apply one gain so the clip's integrated loudness is ``target_lufs``, sample peaks kept at or
    under -1 dBFS (the peak wins). The clip is measured at unit peak: a quiet recording's speech is
    not gated away as silence. A clip with no signal is returned as it is."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak == 0.0:
        return samples
    peak_db = 20 * math.log10(peak)
    loudness = clip_loudness(samples, sample_rate)
    if not math.isfinite(loudness):
        return samples
    gain_db = min(target_lufs - loudness, PEAK_CEILING_DBFS - peak_db)
    return (samples * 10 ** (gain_db / 20)).astype(np.float32)


def normalize_loudness(samples: np.ndarray, sample_rate: int, target_dbfs: float) -> np.ndarray:
    """The rule before LUFS (``AudioOptions.loudness_dbfs``): one gain so the clip's average (RMS)
    level is ``target_dbfs``, peaks kept under -1 dBFS, by pydub's dBFS arithmetic."""
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
    if options.loudness_lufs is not None:
        return normalize_lufs(audio, options.sample_rate, options.loudness_lufs)
    return normalize_loudness(audio, options.sample_rate, options.loudness_dbfs)


def encode(samples: np.ndarray, options: AudioOptions) -> bytes:
    container, subtype = AUDIO_FORMATS[options.format]
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), options.sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()
