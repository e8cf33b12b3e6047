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

from collections.abc import Callable
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters.audio_llm import AudioLLM, AudioLLMFamily, loading_error, model_source, register_family, speech_lm_class
from s2sbench.scorer.adapters.qwen2_audio import QWEN2_AUDIO

FAMILY = "Qwen2.5-Omni"
WHOLE, THINKER = "qwen2_5_omni", "qwen2_5_omni_thinker"  # config model types


class OmniAudioProcessor:
    """The audio half of an Omni processor (``Qwen2_5OmniProcessor``, ``Qwen3OmniMoeProcessor``): mel
    features of a clip (padded as the processor pads them) with their frame mask, and the text with
    its audio token repeated once per encoder output frame, tokenized.

    ``tokens``: the audio token and the markers around it; ``output_frames``: the encoder's output
    frames for a clip's mel frame count; ``padding``: the feature extractor's (``max_length``: to
    its window).
    """

    def __init__(self, feature_extractor: Any, tokenizer: Any, tokens: tuple[str, str, str], output_frames: Callable[[Any], Any], padding: str = "max_length"):
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.audio_token, self.audio_bos_token, self.audio_eos_token = tokens
        self.output_frames = output_frames
        self.padding = padding

    def __call__(self, text: str, audio: Any, sampling_rate: int, return_tensors: str = "pt") -> dict[str, Any]:
        features = self.feature_extractor(
            [audio], sampling_rate=sampling_rate, padding=self.padding, truncation=self.padding == "max_length",
            return_attention_mask=True, return_tensors=return_tensors,
        )
        frames = int(self.output_frames(features["attention_mask"].sum(-1))[0])
        inputs = self.tokenizer(text.replace(self.audio_token, self.audio_token * frames), return_tensors=return_tensors)
        return {**inputs, "input_features": features["input_features"], "feature_attention_mask": features["attention_mask"]}


def qwen2_5_omni_processor(feature_extractor: Any, tokenizer: Any, config: Any) -> OmniAudioProcessor:
    """Qwen2.5-Omni's: every clip padded to the feature extractor's window, as its processor does."""
    from transformers.models.qwen2_5_omni.processing_qwen2_5_omni import _get_feat_extract_output_lengths

    # From the thinker's config, which the weights were trained with, not the tokenizer's names.
    token = tokenizer.convert_ids_to_tokens
    tokens = (token(config.audio_token_id), token(config.audio_start_token_id), token(config.audio_end_token_id))
    return OmniAudioProcessor(feature_extractor, tokenizer, tokens, _get_feat_extract_output_lengths)


def load_omni_thinker(model: str, device: str, dtype, model_class: str, family: str, model_types: tuple[str, ...],
                      make_processor: Callable[[Any, Any, Any], OmniAudioProcessor]) -> tuple[Any, OmniAudioProcessor]:
    """(thinker, audio processor) of ``family`` from a hub id or a directory of a whole or thinker-only
    checkpoint (its config one of ``model_types``); ``make_processor(feature_extractor, tokenizer,
    thinker config)`` builds the audio processor."""
    network_class = speech_lm_class(model_class, family)
    from transformers import AutoConfig, AutoFeatureExtractor, AutoTokenizer

    source = model_source(model)
    try:
        config = AutoConfig.from_pretrained(source)
    except Exception as exc:
        raise loading_error(family, model, exc) from exc
    if config.model_type not in model_types:
        raise EngineError(f"{model!r}: its config is a {config.model_type!r}, not a {family} checkpoint")
    try:
        # From a whole checkpoint transformers takes the thinker's config and its "thinker." weights alone.
        network = network_class.from_pretrained(source, dtype=dtype).to(device).eval()
        processor = make_processor(AutoFeatureExtractor.from_pretrained(source), AutoTokenizer.from_pretrained(source), network.config)
    except EngineError:
        raise
    except Exception as exc:
        raise loading_error(family, model, exc) from exc
    return network, processor


def load_qwen2_5_omni(model: str, device: str, dtype) -> tuple[Any, OmniAudioProcessor]:
    """(thinker, audio processor) from a hub id or a directory of a whole or thinker-only checkpoint."""
    return load_omni_thinker(model, device, dtype, "Qwen2_5OmniThinkerForConditionalGeneration", FAMILY, (WHOLE, THINKER), qwen2_5_omni_processor)


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
