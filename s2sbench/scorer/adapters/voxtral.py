"""Voxtral (``VoxtralForConditionalGeneration`` + ``VoxtralProcessor``, config ``voxtral``): t2t and s2t.

t2t scores ``separator + candidate`` after ``text_prefix + context`` on Voxtral's own language model
(Llama in Voxtral Mini, Mistral Small in Voxtral Small), which starts text with ``<s>`` as its
tekken tokenizer does. s2t puts ``speech_prefix + [BEGIN_AUDIO]`` and one ``[AUDIO]`` per audio
token where the text context was, then the same candidates: the audio block Voxtral's own chat
template (mistral-common's audio encoder) makes for a clip, without the ``[INST]`` markers around
it. The clip is padded to whole 30 s windows; each window goes through the Whisper encoder on its
own (1500 frames), and the projector turns every 4 frames into one audio token, so a clip of up to
30 s is 375 tokens, up to 60 s 750, and so on: the token count follows from the model's config
(encoder positions x encoder width / projector input), exactly as its forward consumes them.

``VoxtralProcessor`` refuses text that holds its audio token (audio goes only through its chat
template), so the adapter makes the same inputs itself: the features from the processor's
``WhisperFeatureExtractor`` as the processor calls it (padded to a multiple of 30 s, cut into
windows of 3000 mel frames, stacked), and the ids from the tokenizer (tested against the chat
template's audio block). Scoring is :class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s
shared-prefix scoring; a batch stacks every item's windows in item order, as the processor stacks
several clips'.

The tokenizer is mistral-common's (``MistralCommonBackend``): ``pip install 's2sbench[voxtral]'``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import Prompt, ScoreItem
from s2sbench.scorer.adapters.audio_llm import SAMPLE_RATE, AudioLLM, AudioLLMFamily, load_speech_lm, register_family

FAMILY = "Voxtral"
MODEL_CLASS = "VoxtralForConditionalGeneration"
WINDOW_SAMPLES = 480000  # 30 s at 16 kHz: the processor pads a clip to a multiple of it
BEGIN_AUDIO = "[BEGIN_AUDIO]"


def load_voxtral(model: str, device: str, dtype) -> tuple[Any, Any]:
    """(model, processor); one line naming the extra when mistral-common, its tokenizer, is missing."""
    if importlib.util.find_spec("mistral_common") is None:
        raise EngineError(f"{FAMILY}'s tokenizer needs mistral-common: pip install 's2sbench[voxtral]'")
    return load_speech_lm(model, device, dtype, MODEL_CLASS, FAMILY, VOXTRAL.processor_attributes)


VOXTRAL = AudioLLMFamily(
    name="voxtral",
    family=FAMILY,
    model_class=MODEL_CLASS,
    model_types=("voxtral",),
    processor_attributes=("feature_extractor", "tokenizer", "audio_token", "apply_transcription_request"),
    markup=(),  # the audio block is made here, not by the processor (see the module)
    feature_keys=("input_features",),
    hears=lambda processor: None,  # the whole clip, in 30 s windows
    load=load_voxtral,
)


@register_family
class Voxtral(AudioLLM):
    entry = VOXTRAL

    def __init__(self, spec):
        super().__init__(spec)
        audio = self.model.config.audio_config
        # encoder frames per window x their width, regrouped by the projector into tokens of its input width
        self.tokens_per_window = audio.max_source_positions * audio.hidden_size // audio.intermediate_size
        self.mel_frames_per_window = 2 * audio.max_source_positions  # the encoder's stride-2 convolution halves them
        self.begin_audio_id = self.tokenizer.convert_tokens_to_ids(BEGIN_AUDIO)
        self.audio_id = self.tokenizer.convert_tokens_to_ids(self.processor.audio_token)
        if self.begin_audio_id in (None, self.tokenizer.unk_token_id):
            raise EngineError(f"{spec.model!r}: its tokenizer has no {BEGIN_AUDIO} token: not a {FAMILY} tokenizer")

    def audio_features(self, samples: Any) -> Any:
        """The clip's log-mel windows (windows x mel bins x 3000), as ``VoxtralProcessor`` makes them."""
        extractor = self.processor.feature_extractor
        features = extractor(samples, sampling_rate=SAMPLE_RATE, padding=True, truncation=False, pad_to_multiple_of=WINDOW_SAMPLES,
                             return_tensors="pt")["input_features"]
        return features.reshape(extractor.feature_size, -1, self.mel_frames_per_window).transpose(0, 1)

    def audio_block(self, windows: int) -> list[int]:
        """``[BEGIN_AUDIO]`` and the audio tokens of a clip of ``windows`` 30 s windows."""
        return [self.begin_audio_id] + [self.audio_id] * (windows * self.tokens_per_window)

    def check_prompt_style(self, style: str) -> None:
        """Every style: mistral-common's tokenizer carries Voxtral's chat format itself (no jinja template)."""

    def encode_speech(self, item: ScoreItem, prompt: Prompt) -> dict[str, Any]:
        import torch

        if prompt.chat:  # Voxtral's own chat format: [INST], the text, the audio block, [/INST]
            return self.encode_speech_chat(item, prompt)
        features = self.audio_features(self.read_context_audio(item))
        prefix = self.start.before(self.tokenizer(prompt.speech_prefix, add_special_tokens=False)["input_ids"])
        ids = torch.tensor([prefix + self.audio_block(features.shape[0])], device=self.device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "input_features": features.to(self.device, self.dtype)}

    def encode_speech_chat(self, item: ScoreItem, prompt: Prompt) -> dict[str, Any]:
        """The user's turn (``speech_prefix``, then the clip) as ``VoxtralProcessor.apply_chat_template`` makes it."""
        clip = self.context_audio(item)  # the template reads the clip itself (Voxtral hears it whole: nothing to warn of)
        parts = [{"type": "text", "text": prompt.speech_prefix}] if prompt.speech_prefix else []
        conversation = [{"role": "user", "content": [*parts, {"type": "audio", "path": clip}]}]
        inputs = self.processor.apply_chat_template(conversation, tokenize=True, return_dict=True)
        ids = inputs["input_ids"].to(self.device)
        return {"input_ids": ids, "attention_mask": inputs["attention_mask"].to(self.device),
                "input_features": inputs["input_features"].to(self.device, self.dtype)}
