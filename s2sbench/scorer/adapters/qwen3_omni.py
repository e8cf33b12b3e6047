"""Qwen3-Omni's thinker (``Qwen3OmniMoeThinkerForConditionalGeneration``): t2t and s2t.

The thinker is Qwen3-Omni's language model (a mixture of experts) with its audio and vision
encoders; the talker and code2wav, which turn its text into speech, play no part in scoring. Given
a whole Qwen3-Omni checkpoint (config ``qwen3_omni_moe``) only the thinker is loaded: its
sub-config and its ``thinker.`` weights (transformers maps them); a thinker-only checkpoint
(``qwen3_omni_moe_thinker``) loads as it is. This is Qwen2.5-Omni's loading, with other classes.

t2t scores ``separator + candidate`` after ``text_prefix + context``. s2t puts
``speech_prefix + <|audio_start|><|audio_pad|><|audio_end|>`` where the text context was (the
tokenizer's own ``audio_bos_token``, ``audio_token`` and ``audio_eos_token``, as
``Qwen3OmniMoeProcessor`` takes them), the ``<|audio_pad|>`` repeated once per output frame of the
audio encoder (13 per 100 mel frames, about 12.5 a second), then the same candidates. Scoring is
:class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s shared-prefix scoring: with audio alone the
thinker's multimodal RoPE gives every position one index, counted along the sequence as in a text
model, so the candidates' explicit position ids are the same.

``Qwen3OmniMoeProcessor`` cannot be built without torchvision (its image and video processors), so
:class:`~s2sbench.scorer.adapters.qwen2_5_omni.OmniAudioProcessor` does the audio half of its work
with the checkpoint's ``WhisperFeatureExtractor`` and tokenizer, as that processor calls them: a
clip is not padded to a window nor cut (``padding=True``, ``truncation=False``), so the whole clip
is heard; the encoder convolves it in 1 s chunks and attends within windows of ``n_window_infer``
mel frames. In a batch, clips of different lengths are padded to the longest, as the processor pads
them; the encoder takes only each clip's own frames (its feature mask).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters.audio_llm import AudioLLM, AudioLLMFamily, register_family
from s2sbench.scorer.adapters.causal_lm import right_pad
from s2sbench.scorer.adapters.qwen2_5_omni import QWEN2_5_OMNI, OmniAudioProcessor, load_omni_thinker

FAMILY = "Qwen3-Omni"
WHOLE, THINKER = "qwen3_omni_moe", "qwen3_omni_moe_thinker"  # config model types
MODEL_CLASS = "Qwen3OmniMoeThinkerForConditionalGeneration"


def qwen3_omni_processor(feature_extractor: Any, tokenizer: Any, config: Any) -> OmniAudioProcessor:
    """Qwen3-Omni's: the tokenizer's named audio tokens, each clip whole (see the module)."""
    from transformers.models.qwen3_omni_moe.processing_qwen3_omni_moe import _get_feat_extract_output_lengths

    names = ("audio_token", "audio_bos_token", "audio_eos_token")
    tokens = tuple(getattr(tokenizer, name, None) for name in names)
    if None in tokens:
        missing = ", ".join(name for name, token in zip(names, tokens, strict=True) if token is None)
        raise EngineError(f"its tokenizer ({type(tokenizer).__name__}) names no {missing}: not a {FAMILY} tokenizer")
    # The encoder's chunking, which the token count must follow, is the model's (the processor's n_window must match it).
    frames = partial(_get_feat_extract_output_lengths, n_window=config.audio_config.n_window)
    return OmniAudioProcessor(feature_extractor, tokenizer, tokens, frames, padding="longest")


def load_qwen3_omni(model: str, device: str, dtype) -> tuple[Any, OmniAudioProcessor]:
    """(thinker, audio processor) from a hub id or a directory of a whole or thinker-only checkpoint."""
    return load_omni_thinker(model, device, dtype, MODEL_CLASS, FAMILY, (WHOLE, THINKER), qwen3_omni_processor)


QWEN3_OMNI = AudioLLMFamily(
    name="qwen3-omni",
    family=FAMILY,
    model_class=MODEL_CLASS,
    model_types=(WHOLE, THINKER),
    processor_attributes=QWEN2_5_OMNI.processor_attributes,
    markup=(("audio_bos_token", "<|audio_start|>"), ("audio_token", "<|audio_pad|>"), ("audio_eos_token", "<|audio_end|>")),
    feature_keys=QWEN2_5_OMNI.feature_keys,
    hears=lambda processor: None,  # no window: the whole clip
    load=load_qwen3_omni,
)


@register_family
class Qwen3Omni(AudioLLM):
    entry = QWEN3_OMNI

    def collate(self, encoded: list[dict[str, Any]]) -> dict[str, Any]:
        """Several items' inputs as one batch: the ids right-padded, and the clips' features (each as
        long as its clip) right-padded along time to the longest, as the processor pads a batch."""
        import torch

        ids, mask = right_pad([inputs["input_ids"][0].tolist() for inputs in encoded], self.pad_id, self.device)
        width = max(inputs["input_features"].shape[-1] for inputs in encoded)

        def pad(tensor: Any) -> Any:
            return torch.nn.functional.pad(tensor, (0, width - tensor.shape[-1]))

        features = torch.cat([pad(inputs["input_features"]) for inputs in encoded])
        frames = torch.cat([pad(inputs["feature_attention_mask"]) for inputs in encoded])  # padding: 0, not heard
        return {"input_ids": ids, "attention_mask": mask, "input_features": features, "feature_attention_mask": frames}
