"""Audio Flamingo 3 (``AudioFlamingo3ForConditionalGeneration`` + ``AudioFlamingo3Processor``): t2t and s2t.

t2t scores ``separator + candidate`` after ``text_prefix + context``, exactly as the text causal LM
does, on AF3's own language model (Qwen2). s2t puts the context audio where the text context was:
``speech_prefix + <sound>``, the ``<sound>`` expanded by the processor to one token per output frame
of the audio encoder (25 a second: 100 mel frames a second, halved by Whisper's strided conv and
again by AF3's average pooling), the encoder's projected frames replacing those tokens' embeddings
in place. Then the same candidates.
Each part is tokenized separately, so a candidate's tokens never merge with what precedes it.

Scoring shares the prefix: the prefix (and in s2t the audio, encoded once per item) runs once with
the KV cache, the cache is expanded to the K candidates, and the candidates run through the language
model as one right-padded batch with explicit position ids; the LM head is applied here, to the
scored positions only. :meth:`AudioFlamingo3.naive_score` is S2SBench's procedure (per candidate,
the audio featurized again and one full forward of prefix, audio and candidate, batch 1), the
reference the shared path is tested against.

AF3 hears long audio in 30 s windows, each encoded separately, up to ``max_audio_len`` (600 s by
default); the processor cuts longer clips (a warning says so).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import MODEL_TYPES, AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.causal_lm import resolve_device_dtype, score_after_prefix

SAMPLE_RATE = 16000  # AF3's (Whisper) feature extractor


def load_audio_flamingo3(model: str, device: str, dtype):
    """(model, processor) from a hub id or a directory."""
    try:
        from transformers import AudioFlamingo3ForConditionalGeneration, AutoProcessor
    except ImportError as exc:
        raise EngineError(f"transformers with Audio Flamingo 3 is not installed ({exc}): pip install 's2sbench[score]'") from exc
    path = Path(model).expanduser()
    source = str(path) if path.exists() else model
    try:
        processor = AutoProcessor.from_pretrained(source)
        network = AudioFlamingo3ForConditionalGeneration.from_pretrained(source, dtype=dtype).to(device).eval()
    except Exception as exc:
        raise EngineError(f"cannot load Audio Flamingo 3 {model!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if not hasattr(processor, "feature_extractor") or not hasattr(processor, "tokenizer") or not hasattr(processor, "audio_token"):
        raise EngineError(f"{model!r}: its processor ({type(processor).__name__}) is not an Audio Flamingo 3 processor")
    return network, processor


def read_audio(path: str) -> Any:
    """A clip as float32 mono at 16 kHz."""
    import numpy as np
    import soundfile as sf

    samples, rate = sf.read(path, dtype="float32", always_2d=False)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if rate != SAMPLE_RATE:
        import soxr

        samples = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)
    return samples


class AudioFlamingo3:
    modes = ("t2t", "s2t")

    def __init__(self, spec: AdapterSpec):
        self.spec = spec
        self.device, self.dtype = resolve_device_dtype(spec)
        self.model, self.processor = load_audio_flamingo3(spec.model, self.device, self.dtype)
        self.tokenizer = self.processor.tokenizer
        self.decoder = self.model.model.language_model  # the text model (Qwen2Model): embeddings + layers + norm
        self.head = self.model.lm_head
        self.audio_token = self.processor.audio_token  # "<sound>"
        audio_token_id, expected = self.tokenizer.convert_tokens_to_ids(self.audio_token), self.model.config.audio_token_id
        if audio_token_id != expected:
            raise EngineError(
                f"{spec.model!r}: the processor's audio token {self.audio_token!r} is {audio_token_id}, the model's {expected}"
            )

    def identity(self) -> dict[str, Any]:
        dtype = str(self.dtype).replace("torch.", "")
        return {"adapter": "audio-flamingo-3", "model": self.spec.model, "dtype": dtype, "device": self.device}

    # Inputs ------------------------------------------------------------------------------------

    def _bos(self) -> list[int]:
        return [self.tokenizer.bos_token_id] if self.tokenizer.bos_token_id is not None else []

    def encode_candidates(self, candidates: list[str], prompt: Prompt) -> list[list[int]]:
        continuations = [self.tokenizer(prompt.separator + text, add_special_tokens=False)["input_ids"] for text in candidates]
        if any(not c for c in continuations):
            raise EngineError("a candidate tokenizes to nothing")
        return continuations

    def encode_text(self, context: str, prompt: Prompt) -> list[int]:
        return self._bos() + self.tokenizer(prompt.text_prefix + context, add_special_tokens=False)["input_ids"]

    def encode_speech(self, item: ScoreItem, prompt: Prompt) -> dict[str, Any]:
        """The processor's inputs for ``speech_prefix`` + the context audio (ids with the audio
        tokens expanded; mel features, one row per 30 s window; their frame mask), on the model's
        device."""
        import torch

        if not item.context_audio:
            raise EngineError(f"{item.id}: s2t needs context audio; this item was not spoken")
        samples = read_audio(item.context_audio)
        limit = getattr(self.processor, "max_audio_len", None)
        if limit and samples.size > limit * SAMPLE_RATE:
            seconds = samples.size / SAMPLE_RATE
            warnings.warn(f"{item.id}: context audio is {seconds:.1f} s; Audio Flamingo 3 hears only {limit} s", stacklevel=2)
        text = prompt.speech_prefix + self.audio_token
        inputs = self.processor(text=[text], audio=[samples], sampling_rate=SAMPLE_RATE, return_tensors="pt")
        ids = inputs["input_ids"]
        bos = self._bos()
        if bos:
            ids = torch.cat([torch.tensor([bos]), ids], dim=1)
        return {
            "input_ids": ids.to(self.device),
            "attention_mask": torch.ones_like(ids).to(self.device),
            "input_features": inputs["input_features"].to(self.device, self.dtype),
            "input_features_mask": inputs["input_features_mask"].to(self.device),
        }

    # Shared-prefix scoring ---------------------------------------------------------------------

    def score(self, item: ScoreItem, mode: str, prompt: Prompt) -> list[CandidateScore]:
        import torch

        if mode not in self.modes:
            raise EngineError(f"audio-flamingo-3 cannot score mode {mode!r} (it scores {', '.join(self.modes)})")
        continuations = self.encode_candidates(item.candidates, prompt)
        with torch.inference_mode():
            if mode == "t2t":
                ids = torch.tensor([self.encode_text(item.context, prompt)], device=self.device)
                out = self.decoder(input_ids=ids, use_cache=True)
            else:
                inputs = self.encode_speech(item, prompt)
                ids = inputs["input_ids"]
                out = self.model.model(**inputs, use_cache=True)  # audio encoded once, merged into the prefix
            cache = out.cache
            last_logits = self.head(out.last_hidden_state[:, -1]).float()
            cache.batch_repeat_interleave(len(continuations))
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            return score_after_prefix(self.decoder, self.head, last_logits, cache, ids.shape[1], continuations, pad)

    # Reference ---------------------------------------------------------------------------------

    def naive_score(self, item: ScoreItem, mode: str, prompt: Prompt, features_per_candidate: bool = True) -> list[CandidateScore]:
        """S2SBench's procedure: per candidate, the whole input made again (in s2t the audio read
        and its features extracted, as S2SBench's processor call does for every candidate) and one
        full forward of the whole model (prefix, audio encoder, candidate; logits at every position),
        batch 1. ``features_per_candidate=False`` prepares the audio once per item, so that only the
        model work differs from :meth:`score`."""
        import torch

        if mode not in self.modes:
            raise EngineError(f"audio-flamingo-3 cannot score mode {mode!r} (it scores {', '.join(self.modes)})")
        continuations = self.encode_candidates(item.candidates, prompt)
        scores = []
        inputs: dict[str, Any] | None = None
        with torch.inference_mode():
            for continuation in continuations:
                if mode == "t2t":
                    inputs = {"input_ids": torch.tensor([self.encode_text(item.context, prompt)], device=self.device)}
                elif inputs is None or features_per_candidate:
                    inputs = self.encode_speech(item, prompt)
                prefix = inputs["input_ids"]
                ids = torch.cat([prefix, torch.tensor([continuation], device=self.device)], dim=1)
                out = self.model(**{**inputs, "input_ids": ids, "attention_mask": torch.ones_like(ids)})
                logits = out.logits[0, prefix.shape[1] - 1 : -1].float()
                nll = -torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(continuation, device=self.device).unsqueeze(1)).sum()
                scores.append(CandidateScore(loss=float(nll / len(continuation)), n_tokens=len(continuation)))
        return scores


register_adapter("audio-flamingo-3")(AudioFlamingo3)
MODEL_TYPES["audioflamingo3"] = "audio-flamingo-3"
