"""Content-addressed clips: the same text, engine, voice and settings always map to one file.

A clip's path is ``audio/<2 hex>/<32 hex>.<format>``, the hash of everything that shapes its
waveform (text, language, engine identity, voice, rate, seed, post-processing). A clip whose file
exists (and starts as audio) is never synthesized again, which makes re-runs free and resumed runs exact.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf

from s2sbench.clip_length import MAX_CLIP_SECONDS, clip_seconds
from s2sbench.errors import EngineError
from s2sbench.storage import ClipStore
from s2sbench.synth.postprocess import AUDIO_FORMATS, AudioOptions, encode, finish, resample, to_float_mono
from s2sbench.synth.spec import SpeechEngine, VoiceSettings


def clip_key(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def clip_relative_path(key: str, audio_format: str) -> str:
    return f"audio/{key[:2]}/{key}.{audio_format}"


# Every path clip_relative_path makes, and nothing else (a path read back from a build's own files,
# such as its measurement cache, is used only when it has this form).
CLIP_PATH = re.compile(r"audio/([0-9a-f]{2})/\1[0-9a-f]{30}\.(?:" + "|".join(map(re.escape, AUDIO_FORMATS)) + ")")


@dataclass
class ClipResult:
    path: str  # relative to the build directory
    created: bool  # False when the clip already existed


class ClipMaker:
    """Makes clips in one build directory with one engine and one set of audio options."""

    def __init__(self, store: ClipStore, engine: SpeechEngine | None, audio: AudioOptions):
        self.store = store
        self.engine = engine
        self.audio = audio
        self._identity = engine.identity() if engine is not None else None

    def speech_key(self, text: str, language: str, settings: VoiceSettings) -> str:
        return clip_key(
            {
                "text": text,
                "language": language,
                "tts": self._identity,
                "voice": settings.voice,
                "rate": settings.rate,
                "seed": settings.seed,
                "extra": settings.extra,
                "audio": self.audio.as_dict(),
            }
        )

    def speak(self, text: str, language: str, settings: VoiceSettings) -> ClipResult:
        """The clip of ``text``, synthesized only if it does not exist yet."""
        if self.engine is None:
            raise EngineError("no TTS engine loaded")
        relative = clip_relative_path(self.speech_key(text, language, settings), self.audio.format)
        if self.store.usable(relative):
            return ClipResult(relative, False)
        samples, sample_rate = self.engine.synthesize(text, language, settings)
        self.store.write(relative, encode(finish(samples, sample_rate, self.audio), self.audio))
        return ClipResult(relative, True)

    def record(self, recording: str | Path) -> ClipResult:
        """A clip made from a person's recording (``--recordings``): decoded (a browser's webm/opus
        through pydub and FFmpeg), then finished like a synthesized clip (resampled, trimmed, levelled)
        so that human and synthetic clips meet at one level. Named by the recording's bytes and the
        audio options: a re-run reuses it."""
        source = Path(recording)
        data = source.read_bytes()
        relative = clip_relative_path(clip_key({"recording": hashlib.sha256(data).hexdigest(), "finished": True, "audio": self.audio.as_dict()}),
                                      self.audio.format)
        if self.store.usable(relative):
            return ClipResult(relative, False)
        # Measured a block at a time before it is decoded whole: an hour of audio in a folder of
        # recordings is one item error, not gigabytes of samples.
        recording_seconds(source, MAX_CLIP_SECONDS)
        samples, sample_rate = decode_recording(source)
        if samples.size == 0:
            raise EngineError(f"{source}: holds no audio")
        self.store.write(relative, encode(finish(samples, sample_rate, self.audio), self.audio))
        return ClipResult(relative, True)

    def adopt(self, wav: str | Path) -> ClipResult:
        """A clip made from an existing recording: the same bytes when it already has the build's
        rate, channels and format, else resampled to mono (never trimmed or levelled: it is the
        original's audio)."""
        source = Path(wav)
        data = source.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        relative = clip_relative_path(clip_key({"recording": digest, "audio": self.audio.as_dict()}), self.audio.format)
        if self.store.usable(relative):
            return ClipResult(relative, False)
        try:
            info = sf.info(source)
            samples, sample_rate = sf.read(source, dtype="float32", always_2d=False)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise EngineError(f"{source}: unreadable audio ({exc})") from exc
        container, subtype = AUDIO_FORMATS[self.audio.format]
        if (info.samplerate, info.channels, info.format, info.subtype) != (self.audio.sample_rate, 1, container, subtype):
            data = encode(resample(to_float_mono(samples), sample_rate, self.audio.sample_rate), self.audio)
        self.store.write(relative, data)
        return ClipResult(relative, True)


def decode_recording(path: Path) -> tuple[Any, int]:
    """(float32 samples, rate) of a recording: soundfile's formats directly, others (webm, opus, m4a)
    through pydub and FFmpeg; an error naming the file when neither reads it."""
    import numpy as np

    try:
        samples, sample_rate = sf.read(path, dtype="float32", always_2d=False)
        return samples, int(sample_rate)
    except (sf.LibsndfileError, RuntimeError):
        pass
    try:
        from pydub import AudioSegment

        segment = AudioSegment.from_file(path)
    except Exception as exc:  # pydub raises its own and FFmpeg's errors: any means "not audio we can read"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(f"{path}: not audio that soundfile or FFmpeg reads ({first[:200]})") from None
    scale = float(1 << (8 * segment.sample_width - 1))
    samples = np.array(segment.get_array_of_samples(), dtype=np.float32) / scale
    if segment.channels > 1:
        samples = samples.reshape(-1, segment.channels)
    return samples, int(segment.frame_rate)


DECODE_BLOCK_FRAMES = 1 << 16  # what a take's check holds at a time: 4 s of 16 kHz audio


def recording_seconds(path: Path, limit: float, name: str | None = None) -> float:
    """How long a recording lasts, decoded a block at a time and no further than ``limit`` seconds
    (a recording is checked, never held whole): its header's length first where soundfile reads it,
    then the decoded frames (a header may lie); other formats (a browser's webm/opus) through FFmpeg's
    pipe. Past ``limit``, or not audio: one error naming it as ``name`` (default: its path; the
    recording page says "the take", never its scratch file)."""

    name = str(path) if name is None else name
    header = clip_seconds(path)
    if header is not None and header > limit:
        raise EngineError(f"{name} is {header:.0f} s, longer than {limit:.0f} s")
    try:
        with sf.SoundFile(path) as audio:
            frames = 0
            for block in audio.blocks(blocksize=DECODE_BLOCK_FRAMES, dtype="float32"):
                frames += len(block)
                if frames > limit * audio.samplerate:
                    raise EngineError(f"{name} is longer than {limit:.0f} s")
            return frames / audio.samplerate
    except (sf.LibsndfileError, RuntimeError):
        pass  # not a format soundfile reads: FFmpeg's
    return _ffmpeg_seconds(path, limit, name)


def _ffmpeg_seconds(path: Path, limit: float, name: str, rate: int = 16000) -> float:
    """The length of what FFmpeg decodes of ``path`` (mono 16-bit at ``rate``), read from its pipe a
    block at a time and stopped once past ``limit`` seconds."""
    import shutil
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise EngineError(f"{name}: not audio soundfile reads, and FFmpeg (which reads webm/opus) is not installed")
    command = [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"]
    decoded, most = 0, int((limit + 1) * rate * 2)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        while block := process.stdout.read(DECODE_BLOCK_FRAMES * 2):
            decoded += len(block)
            if decoded > most:
                process.kill()
                raise EngineError(f"{name} is longer than {limit:.0f} s")
        problem = process.stderr.read(2000).decode("utf-8", "replace").strip()
        process.wait()
    if process.returncode != 0 and decoded == 0:
        first = problem.splitlines()[-1] if problem else f"FFmpeg exit status {process.returncode}"
        raise EngineError(f"{name}: not audio that soundfile or FFmpeg reads ({first[:200]})")
    return decoded / (2 * rate)
