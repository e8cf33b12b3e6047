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
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import MODEL_TYPES, AdapterSpec, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.qwen2_audio import SAMPLE_RATE, Qwen2Audio, load_speech_lm, read_audio


def load_audio_flamingo3(model: str, device: str, dtype):
    attributes = ("feature_extractor", "tokenizer", "audio_token")
    return load_speech_lm(model, device, dtype, "AudioFlamingo3ForConditionalGeneration", "Audio Flamingo 3", attributes)


class AudioFlamingo3(Qwen2Audio):
    """Scores like Qwen2-Audio (same text model layout); only loading and the audio prompt differ."""

    name = "audio-flamingo-3"
    family = "Audio Flamingo 3"
    load = staticmethod(load_audio_flamingo3)

    def __init__(self, spec: AdapterSpec):
        super().__init__(spec)
        self.audio_token = self.processor.audio_token  # "<sound>"
        audio_token_id, expected = self.tokenizer.convert_tokens_to_ids(self.audio_token), self.model.config.audio_token_id
        if audio_token_id != expected:
            raise EngineError(
                f"{spec.model!r}: the processor's audio token {self.audio_token!r} is {audio_token_id}, the model's {expected}"
            )

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
            warnings.warn(f"{item.id}: context audio is {seconds:.1f} s; {self.family} hears only {limit} s", stacklevel=2)
        text = prompt.speech_prefix + self.audio_token
        inputs = self.processor(text=[text], audio=[samples], sampling_rate=SAMPLE_RATE, return_tensors="pt")
        ids = torch.tensor([self.start.restart(inputs["input_ids"][0].tolist())])
        return {
            "input_ids": ids.to(self.device),
            "attention_mask": torch.ones_like(ids).to(self.device),
            "input_features": inputs["input_features"].to(self.device, self.dtype),
            "input_features_mask": inputs["input_features_mask"].to(self.device),
        }


register_adapter("audio-flamingo-3")(AudioFlamingo3)
MODEL_TYPES["audioflamingo3"] = "audio-flamingo-3"
