"""Granite Speech (``GraniteSpeechForConditionalGeneration`` + ``GraniteSpeechProcessor``): t2t and s2t.

Also Granite Speech Plus (``GraniteSpeechPlusForConditionalGeneration``, config ``granite_speech_plus``),
whose projector reads some of the encoder's intermediate outputs beside its last one; its prompt,
processor and text model are Granite Speech's, so it is one more table entry.

t2t scores ``separator + candidate`` after ``text_prefix + context``, exactly as the text causal LM
does, on Granite Speech's own language model (Granite). s2t puts the context audio where the text
context was: ``speech_prefix + <|audio|>``, the ``<|audio|>`` expanded by the processor to one token
per output of the projector (10 a second: 100 mel frames a second, stacked in pairs for the
conformer encoder, whose frames a Q-Former reads in windows of 15, 3 queries each), the projected
frames replacing those tokens' embeddings. Then the same candidates. Each part is tokenized
separately, so a candidate's tokens never merge with what precedes it.

Scoring is :class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s shared-prefix scoring (Granite's
text model has the same layout), with one difference in batches: every clip goes through the
encoder in a call of its own. The processor does not pad clips to a window, and the conformer's
block attention and convolutions have no padding mask, so a clip padded to a longer one's length
would be encoded with its padding; the prefixes then run right-padded in one forward as elsewhere.

There is no window: the whole clip is heard, up to the text model's positions. A checkpoint whose
config sets ``has_lora_adapter`` (the config's default) carries a LoRA that its ``generate`` applies
to prompts with audio only; transformers loads it only when peft is installed. So t2t runs with the LoRA off and s2t
with it on, as ``generate`` does, and s2t on such a checkpoint without peft is refused with a line
saying what to install, rather than scored by a model that was never trained that way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from s2sbench.scorer.adapters.audio_llm import AudioLLMFamily, SpeechLoRA, register_family
from s2sbench.scorer.adapters.causal_lm import right_pad

GRANITE_SPEECH = AudioLLMFamily(
    name="granite-speech",
    family="Granite Speech",
    model_class="GraniteSpeechForConditionalGeneration",
    model_types=("granite_speech",),
    processor_attributes=("audio_processor", "tokenizer", "audio_token"),
    markup=(("audio_token", "<|audio|>"),),
    feature_keys=("input_features", "input_features_mask"),
    hears=lambda processor: None,  # no window: the whole clip
    processor_takes_rate=False,  # its feature extractor assumes 16 kHz; clips are resampled to it first
)


@register_family
class GraniteSpeech(SpeechLoRA):
    entry = GRANITE_SPEECH

    def has_lora(self) -> bool:
        return bool(getattr(self.model.config, "has_lora_adapter", False))

    def lora_source(self) -> str:
        return "its config says it has a LoRA (has_lora_adapter)"

    def run_speech_prefixes(self, encoded: list[dict[str, Any]]) -> tuple[Any, Any]:
        """One forward of several items' s2t prefixes, each clip encoded on its own (see the module)."""
        import torch

        network = self.model.model
        ids, mask = right_pad([inputs["input_ids"][0].tolist() for inputs in encoded], self.pad_id, self.device)
        frames = [network.get_audio_features(inputs["input_features"]).pooler_output[inputs["input_features_mask"]] for inputs in encoded]
        embeddings = network.get_merged_audio_embeddings(ids, torch.cat(frames))  # in item order, as the audio tokens are
        return self.decoder(inputs_embeds=embeddings, attention_mask=mask, use_cache=True), mask


GRANITE_SPEECH_PLUS = replace(
    GRANITE_SPEECH, name="granite-speech-plus", family="Granite Speech Plus",
    model_class="GraniteSpeechPlusForConditionalGeneration", model_types=("granite_speech_plus",),
)


@register_family
class GraniteSpeechPlus(GraniteSpeech):
    entry = GRANITE_SPEECH_PLUS
