"""Speech synthesis: one engine interface, engines selected as ``ENGINE[:MODEL]``.

An engine turns (text, language, voice) into a waveform and its sample rate. Engines load their
heavy libraries lazily and raise :class:`~s2sbench.errors.EngineError` with the extra to install
when they are missing. The shared types live in :mod:`.spec`; this module only dispatches.
Post-processing shared by all engines lives in :mod:`.postprocess`.
"""

from __future__ import annotations

from typing import Any

from s2sbench.synth.spec import DEFAULT_VOICES, SpeechEngine, TTSSpec, VoiceSettings, package_version

__all__ = ["DEFAULT_VOICES", "ENGINES", "SpeechEngine", "TTSSpec", "VoiceSettings", "engine_identity", "load_engine",
           "package_version"]


def load_engine(spec: TTSSpec) -> SpeechEngine:
    """Instantiate the engine ``spec`` names (imports its library now)."""
    return ENGINES[spec.engine](spec)


def engine_identity(spec: TTSSpec) -> dict[str, Any]:
    """What the loaded engine's :meth:`SpeechEngine.identity` says, without loading a model: a Ray
    driver records it while the actors load the models."""
    if spec.engine == "espeak":
        from s2sbench.synth.espeak import identity_of
    elif spec.engine == "coqui":
        from s2sbench.synth.coqui import identity_of
    elif spec.engine == "kokoro":
        from s2sbench.synth.kokoro import identity_of
    else:
        from s2sbench.synth.piper import identity_of
    return identity_of(spec)


def _espeak(spec: TTSSpec) -> SpeechEngine:
    from s2sbench.synth.espeak import EspeakEngine

    return EspeakEngine(spec)


def _coqui(spec: TTSSpec) -> SpeechEngine:
    from s2sbench.synth.coqui import CoquiEngine

    return CoquiEngine(spec)


def _piper(spec: TTSSpec) -> SpeechEngine:
    from s2sbench.synth.piper import PiperEngine

    return PiperEngine(spec)


def _kokoro(spec: TTSSpec) -> SpeechEngine:
    from s2sbench.synth.kokoro import KokoroEngine

    return KokoroEngine(spec)


ENGINES = {"espeak": _espeak, "coqui": _coqui, "piper": _piper, "kokoro": _kokoro}
