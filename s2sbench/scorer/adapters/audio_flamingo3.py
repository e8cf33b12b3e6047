"""Audio Flamingo 3 (``AudioFlamingo3ForConditionalGeneration`` + ``AudioFlamingo3Processor``): t2t and s2t.

t2t scores ``separator + candidate`` after ``text_prefix + context``, exactly as the text causal LM
does, on AF3's own language model (Qwen2). s2t puts the context audio where the text context was:
``speech_prefix + <sound>``, the ``<sound>`` expanded by the processor to one token per output frame
of the audio encoder (25 a second: 100 mel frames a second, halved by Whisper's strided conv and
again by AF3's average pooling), the encoder's projected frames replacing those tokens' embeddings
in place. Then the same candidates.
Each part is tokenized separately, so a candidate's tokens never merge with what precedes it.

Scoring is :class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s shared-prefix scoring (AF3's
text model has Qwen2-Audio's layout); only the table entry differs: the markup, the processor
called with lists, its ``input_features_mask``. The processor's audio token is checked against the
model's ``audio_token_id`` at load.

AF3 hears long audio in 30 s windows, each encoded separately, up to ``max_audio_len`` (600 s by
default); the processor cuts longer clips (a warning says so).
"""

from __future__ import annotations

from s2sbench.scorer.adapters.audio_llm import AudioLLM, AudioLLMFamily, register_family

AUDIO_FLAMINGO_3 = AudioLLMFamily(
    name="audio-flamingo-3",
    family="Audio Flamingo 3",
    model_class="AudioFlamingo3ForConditionalGeneration",
    model_types=("audioflamingo3",),
    processor_attributes=("feature_extractor", "tokenizer", "audio_token"),
    markup=(("audio_token", "<sound>"),),
    feature_keys=("input_features", "input_features_mask"),
    hears=lambda processor: getattr(processor, "max_audio_len", None),
    processor_takes_lists=True,
)


@register_family
class AudioFlamingo3(AudioLLM):
    entry = AUDIO_FLAMINGO_3
