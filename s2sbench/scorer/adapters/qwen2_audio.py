"""Qwen2-Audio (``Qwen2AudioForConditionalGeneration`` + ``Qwen2AudioProcessor``): t2t and s2t.

t2t scores ``separator + candidate`` after ``text_prefix + context``, exactly as the text causal LM
does, on Qwen2-Audio's own language model. s2t puts the context audio where the text context was:
``speech_prefix + <|audio_bos|><|AUDIO|><|audio_eos|>``, the ``<|AUDIO|>`` expanded by the processor
to one token per audio frame of the encoder (25 a second), then the same candidates. Each part is
tokenized separately, so a candidate's tokens never merge with what precedes it.

Scoring is :class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s: the prefix (and in s2t the
audio, encoded once per item) runs once with the KV cache, the cache is expanded to the K
candidates, which run as one right-padded batch with explicit position ids. Qwen2-Audio's forward
has no ``logits_to_keep``, so the LM head is applied there, to the scored positions only.
:meth:`~s2sbench.scorer.adapters.audio_llm.AudioLLM.naive_score` is S2SBench's procedure, the
reference the shared path is tested against.

Qwen2-Audio hears at most 30 s: the processor pads every clip to a 30 s window and cuts longer ones
(a warning says so).
"""

from __future__ import annotations

from s2sbench.scorer.adapters.audio_llm import SAMPLE_RATE, AudioLLM, AudioLLMFamily, read_audio, register_family

__all__ = ["QWEN2_AUDIO", "Qwen2Audio", "read_audio"]

QWEN2_AUDIO = AudioLLMFamily(
    name="qwen2-audio",
    family="Qwen2-Audio",
    model_class="Qwen2AudioForConditionalGeneration",
    model_types=("qwen2_audio",),
    processor_attributes=("feature_extractor", "tokenizer"),
    markup=(("audio_bos_token", "<|audio_bos|>"), ("audio_token", "<|AUDIO|>"), ("audio_eos_token", "<|audio_eos|>")),
    feature_keys=("input_features", "feature_attention_mask"),
    hears=lambda processor: processor.feature_extractor.n_samples / SAMPLE_RATE,  # its one window
)


@register_family
class Qwen2Audio(AudioLLM):
    entry = QWEN2_AUDIO
