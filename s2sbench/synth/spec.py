"""The types every speech engine shares: what to load (:class:`TTSSpec`), the per-clip knobs
(:class:`VoiceSettings`), the engine interface (:class:`SpeechEngine`) and the helpers engines use.

They live apart from :mod:`s2sbench.synth` so that an engine module imports its types from here,
and the package's ``__init__`` only dispatches to the engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from s2sbench.errors import EngineError


@dataclass(frozen=True)
class TTSSpec:
    """What to load: ``espeak``, ``coqui:tts_models/en/ljspeech/vits``, ``piper:/path/voice.onnx``.

    ``language`` is the engine's own code for the language when it differs from the item's
    (Coqui XTTS says ``zh-cn``); ``device`` is ``auto``, ``cpu`` or ``cuda``.
    """

    engine: str
    model: str | None = None
    language: str | None = None
    device: str = "auto"

    @classmethod
    def parse(cls, spec: str, **kwargs: Any) -> TTSSpec:
        engine, _, model = spec.partition(":")
        engine = engine.strip().lower()
        from s2sbench.synth import ENGINES  # the registry dispatches; tests add engines to it

        if engine not in ENGINES:
            raise EngineError(f"unknown TTS engine {engine!r} in --tts {spec!r}; known: {', '.join(ENGINES)}")
        return cls(engine=engine, model=model.strip() or None, **kwargs)

    def __str__(self) -> str:
        return f"{self.engine}:{self.model}" if self.model else self.engine


@dataclass(frozen=True)
class VoiceSettings:
    """Per-clip knobs an engine honours where it can: the voice, a speaking-rate factor, a seed."""

    voice: str | None = None
    rate: float = 1.0
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class SpeechEngine(Protocol):
    """What every engine provides."""

    def synthesize(self, text: str, language: str, settings: VoiceSettings) -> tuple[np.ndarray, int]:
        """Speak ``text``; returns (samples, sample rate), samples float32 in [-1, 1] or int16."""

    def identity(self) -> dict[str, Any]:
        """Engine, model and version: everything besides the text that changes the waveform."""


def package_version(distribution: str, extra: str) -> str:
    """An engine package's version; :class:`EngineError` naming the extra when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        raise EngineError(f"{distribution} is not installed: pip install 's2sbench[{extra}]'") from None


# The voice an engine speaks with when neither --voice nor the profile names one, where the engine has
# no default of its own to fall back on (recorded by name, so the voice facet says who spoke).
DEFAULT_VOICES = {"kokoro": "jf_alpha"}
