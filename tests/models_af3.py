"""A tiny, randomly initialised Audio Flamingo 3 built in code for tests and benchmarks (no downloads).

``build_tiny_audio_flamingo3(directory)`` writes a complete transformers model directory: weights
and config of an ``AudioFlamingo3ForConditionalGeneration`` (audio encoder: 2 layers, d_model 32,
128 mel bins, a full 30 s window of 1500 positions, as the encoder adds its position table to the
whole window; projector; text model: Qwen2, 2 layers, hidden 32), and an ``AudioFlamingo3Processor``
(``WhisperFeatureExtractor`` + ``Qwen2Tokenizer``) that ``AutoProcessor.from_pretrained(directory)``
loads back with ``HF_HUB_OFFLINE=1``.

The tokenizer is a byte-level BPE trained with ``tokenizers`` using Qwen2's own normalizer (NFC) and
pre-tokenizer (Qwen2's split regex, then byte level): in transformers 5 ``Qwen2Tokenizer`` rebuilds
both in code and keeps only the vocabulary and merges of the saved file (see
``tests/models_speech.py``). AF3's special tokens (``<|endoftext|>`` = eos = pad, no bos, the chat
markers, and the audio placeholder ``<sound>``, which the processor repeats once per encoder output
frame, 25 a second) are in the vocabulary. Its outputs are random; its shapes, prompt format and
audio-token expansion are AF3's. About 0.7 MB, built in about a second.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import build_from_command_line, sample_texts, save_random
from tests.models_speech import qwen2_tokenizer, tiny_text_config, whisper_features_128

AUDIO_TOKEN = "<sound>"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", AUDIO_TOKEN]


def build_tiny_audio_flamingo3(directory: Path, seed: int = 0, texts: list[str] | None = None) -> Path:
    """Build and save a tiny random Audio Flamingo 3 (model + processor) into ``directory``; returns it.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    """
    from transformers import AudioFlamingo3Config, AudioFlamingo3ForConditionalGeneration, AudioFlamingo3Processor

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer, ids = qwen2_tokenizer(texts, SPECIAL_TOKENS)
    feature_extractor = whisper_features_128()
    processor = AudioFlamingo3Processor(feature_extractor=feature_extractor, tokenizer=tokenizer, audio_token=AUDIO_TOKEN)

    eos = ids["<|endoftext|>"]
    config = AudioFlamingo3Config(
        audio_config={
            "model_type": "audioflamingo3_encoder", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 64, "num_mel_bins": 128, "max_source_positions": 1500,
        },
        text_config={"model_type": "qwen2", **tiny_text_config(len(tokenizer), eos)},
        audio_token_id=ids[AUDIO_TOKEN],
    )
    return save_random(AudioFlamingo3ForConditionalGeneration, config, processor, directory, seed)


if __name__ == "__main__":  # python -m tests.models_af3 DIR
    build_from_command_line(build_tiny_audio_flamingo3, "tiny-audio-flamingo-3")
