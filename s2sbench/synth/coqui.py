"""Coqui TTS (``coqui-tts``, MPL-2.0): any model its manager knows, or a local model directory.

``coqui:tts_models/en/ljspeech/vits`` downloads through the model manager on a machine with a
network; ``coqui:/path/to/dir`` loads a model file and ``config.json`` from a directory, as
``TTS(model_path=..., config_path=...)``. Multi-speaker models take ``--voice`` as a speaker name
(or a reference ``.wav`` for voice-cloning models such as XTTS-v2); multilingual models take the
language from the profile (``[tts] languages = { coqui = "zh-cn" }``). Runs on CUDA when available.
Each clip is synthesized under ``torch.manual_seed(seed)`` so re-runs are reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from s2sbench.errors import EngineError
from s2sbench.references import local_model_path
from s2sbench.synth.spec import TTSSpec, VoiceSettings, package_version

MODEL_SUFFIXES = (".pth", ".pt", ".tar", ".ckpt")


def _local_model(directory: Path) -> tuple[Path, Path]:
    config = directory / "config.json"
    models = sorted(p for p in directory.iterdir() if p.suffix in MODEL_SUFFIXES)
    if not config.is_file() or not models:
        raise EngineError(f"{directory}: a Coqui model directory needs config.json and a model file ({'/'.join(MODEL_SUFFIXES)})")
    preferred = [p for p in models if p.stem in ("model", "best_model", "model_file")]
    return (preferred or models)[0], config


def _local_directory(spec: TTSSpec) -> Path | None:
    """The local model directory ``coqui:PATH`` names, None for a model name (never a folder of the
    working directory that shares it: :mod:`s2sbench.references`); a path that is not a directory is said."""
    local = local_model_path(spec.model or "")
    if local is not None and not local.is_dir():
        raise EngineError(f"coqui:{spec.model}: no such model directory")
    return local


def _model_id(spec: TTSSpec) -> str:
    """A named model as it is named; a local one by its path, size and time (a retrained model in the
    same directory is another model)."""
    if not spec.model:
        raise EngineError("coqui needs a model: --tts coqui:tts_models/LANG/DATASET/MODEL or coqui:/path/to/model_dir")
    local = _local_directory(spec)
    if local is None:
        return spec.model
    model_path, _ = _local_model(local)
    return f"local:{local.resolve()}:{model_path.stat().st_size}:{int(model_path.stat().st_mtime)}"


def identity_of(spec: TTSSpec) -> dict[str, Any]:
    return {"engine": "coqui", "model": _model_id(spec), "version": package_version("coqui-tts", "coqui")}


class CoquiEngine:
    def __init__(self, spec: TTSSpec):
        try:
            import torch
            from TTS.api import TTS
        except ImportError as exc:
            raise EngineError(f"Coqui TTS is not installed ({exc}): pip install 's2sbench[coqui]'") from exc
        self.spec = spec
        self._model_id = _model_id(spec)
        self._torch = torch
        device = spec.device if spec.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        local = _local_directory(spec)
        try:
            if local is not None:
                model_path, config_path = _local_model(local)
                self.tts = TTS(model_path=str(model_path), config_path=str(config_path), progress_bar=False)
            else:
                self.tts = TTS(model_name=spec.model, progress_bar=False)
            self.tts.to(device)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"cannot load Coqui model {spec.model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        self.device = device
        self.sample_rate = int(self.tts.synthesizer.output_sample_rate)

    def identity(self) -> dict[str, Any]:
        return identity_of(self.spec)

    def synthesize(self, text: str, language: str, settings: VoiceSettings) -> tuple[np.ndarray, int]:
        kwargs: dict[str, Any] = {}
        voice = settings.voice
        if voice and Path(voice).suffix == ".wav":
            kwargs["speaker_wav"] = voice
        elif voice and self.tts.is_multi_speaker:
            kwargs["speaker"] = voice
        elif self.tts.is_multi_speaker:
            kwargs["speaker"] = self.tts.speakers[0]
        if self.tts.is_multi_lingual:
            kwargs["language"] = self.spec.language or language
        if settings.rate != 1.0:
            kwargs["speed"] = settings.rate
        self._torch.manual_seed(settings.seed)
        try:
            wav = self.tts.tts(text=text, **kwargs)
        except Exception as exc:
            raise EngineError(f"Coqui failed on {text[:40]!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        return np.asarray(wav, dtype=np.float32), self.sample_rate
