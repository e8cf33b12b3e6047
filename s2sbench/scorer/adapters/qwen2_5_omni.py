"""Qwen2.5-Omni's thinker (``Qwen2_5OmniThinkerForConditionalGeneration``): t2t and s2t.

The thinker is Qwen2.5-Omni's language model with its audio and vision encoders; the talker and the
vocoder, which turn its text into speech, play no part in scoring. Given a whole Qwen2.5-Omni
checkpoint (config ``qwen2_5_omni``) only the thinker is loaded: its sub-config and its
``thinker.`` weights (transformers maps them); a thinker-only checkpoint (``qwen2_5_omni_thinker``)
loads as it is.

The prompt is Qwen2-Audio's: t2t scores ``separator + candidate`` after ``text_prefix + context``;
s2t puts ``speech_prefix + <|audio_bos|><|AUDIO|><|audio_eos|>`` where the text context was, the
``<|AUDIO|>`` repeated once per output frame of the audio encoder (25 a second). Scoring is
:class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s shared-prefix scoring: the thinker's
text model has the same layout, and with audio alone its multimodal RoPE gives every position one
index, counted along the sequence as in a text model, so the candidates' explicit position ids are
the same.

``Qwen2_5OmniProcessor`` cannot be built without torchvision (its video processor needs it, even for
audio alone), so :class:`OmniAudioProcessor` does the audio half of its work with the same parts
from the checkpoint: the ``WhisperFeatureExtractor`` (padding every clip to its window, 300 s in the
released checkpoints, as the processor does; the encoder drops the padding) and the tokenizer.
"""

from __future__ import annotations

from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters.audio_llm import AudioLLM, AudioLLMFamily, loading_error, model_source, register_family, speech_lm_class
from s2sbench.scorer.adapters.qwen2_audio import QWEN2_AUDIO

FAMILY = "Qwen2.5-Omni"
WHOLE, THINKER = "qwen2_5_omni", "qwen2_5_omni_thinker"  # config model types


class OmniAudioProcessor:
    """The audio half of ``Qwen2_5OmniProcessor``: mel features of a clip padded to the feature
    extractor's window with their frame mask, and the text with its audio token repeated once per
    encoder output frame, tokenized."""

    def __init__(self, feature_extractor: Any, tokenizer: Any, config: Any):
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        # From the thinker's config, which the weights were trained with, not the tokenizer's names.
        token = tokenizer.convert_ids_to_tokens
        self.audio_token = token(config.audio_token_id)
        self.audio_bos_token = token(config.audio_start_token_id)
        self.audio_eos_token = token(config.audio_end_token_id)

    def __call__(self, text: str, audio: Any, sampling_rate: int, return_tensors: str = "pt") -> dict[str, Any]:
        from transformers.models.qwen2_5_omni.processing_qwen2_5_omni import _get_feat_extract_output_lengths

        features = self.feature_extractor(
            [audio], sampling_rate=sampling_rate, padding="max_length", return_attention_mask=True, return_tensors=return_tensors
        )
        frames = int(_get_feat_extract_output_lengths(features["attention_mask"].sum(-1))[0])
        inputs = self.tokenizer(text.replace(self.audio_token, self.audio_token * frames), return_tensors=return_tensors)
        return {**inputs, "input_features": features["input_features"], "feature_attention_mask": features["attention_mask"]}


def load_qwen2_5_omni(model: str, device: str, dtype) -> tuple[Any, OmniAudioProcessor]:
    """(thinker, audio processor) from a hub id or a directory of a whole or thinker-only checkpoint."""
    network_class = speech_lm_class("Qwen2_5OmniThinkerForConditionalGeneration", FAMILY)
    from transformers import AutoConfig, AutoFeatureExtractor, AutoTokenizer

    source = model_source(model)
    try:
        config = AutoConfig.from_pretrained(source)
    except Exception as exc:
        raise loading_error(FAMILY, model, exc) from exc
    if config.model_type not in (WHOLE, THINKER):
        raise EngineError(f"{model!r}: its config is a {config.model_type!r}, not a {FAMILY} checkpoint")
    try:
        # From a whole checkpoint transformers takes the thinker's config and its "thinker." weights alone.
        network = network_class.from_pretrained(source, dtype=dtype).to(device).eval()
        processor = OmniAudioProcessor(AutoFeatureExtractor.from_pretrained(source), AutoTokenizer.from_pretrained(source), network.config)
    except Exception as exc:
        raise loading_error(FAMILY, model, exc) from exc
    return network, processor


# Qwen2-Audio's prompt and inputs; its own loading, and the window of its feature extractor (300 s).
QWEN2_5_OMNI = AudioLLMFamily(
    name="qwen2.5-omni",
    family=FAMILY,
    model_class="Qwen2_5OmniThinkerForConditionalGeneration",
    model_types=(WHOLE, THINKER),
    processor_attributes=("feature_extractor", "tokenizer", "audio_token"),
    markup=QWEN2_AUDIO.markup,
    feature_keys=QWEN2_AUDIO.feature_keys,
    hears=QWEN2_AUDIO.hears,
    load=load_qwen2_5_omni,
)


@register_family
class Qwen2_5Omni(AudioLLM):
    entry = QWEN2_5_OMNI
