"""A tiny, randomly initialised Qwen2-Audio built in code for tests and benchmarks (no downloads).

``build_tiny_qwen2_audio(directory)`` writes a complete transformers model directory: weights and
config of a ``Qwen2AudioForConditionalGeneration`` (audio encoder: 2 layers, d_model 32, 128 mel
bins, a full 30 s window of 1500 positions; text model: Qwen2, 2 layers, hidden 32), and a
``Qwen2AudioProcessor`` (``WhisperFeatureExtractor`` + ``Qwen2Tokenizer``) that
``AutoProcessor.from_pretrained(directory)`` loads back with ``HF_HUB_OFFLINE=1``.

The tokenizer is a byte-level BPE trained with ``tokenizers`` using Qwen2's own normalizer (NFC) and
pre-tokenizer (Qwen2's split regex, then byte level): in transformers 5 ``Qwen2Tokenizer`` rebuilds
both in code and keeps only the vocabulary and merges of the saved file, so training with anything
else would give merges the reloaded tokenizer never applies. Qwen2-Audio's special tokens
(``<|endoftext|>`` = eos = pad, no bos, ``<|audio_bos|>``, ``<|AUDIO|>``, ``<|audio_eos|>``, the chat
markers) are in the vocabulary. Its outputs are random; its shapes, prompt format and audio-token
expansion are Qwen2-Audio's. About 1 MB, built in about a second.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import TEXT_INIT_STD, build_from_command_line, sample_texts

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"]
_BPE_VOCAB_SIZE = 800


def train_byte_level_bpe(texts: list[str], special_tokens: list[str], pre_tokenizer, normalizer=None) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary (special tokens first) and merges of a byte-level BPE trained on ``texts`` with the
    target tokenizer class's own ``normalizer`` and ``pre_tokenizer`` (which the class rebuilds in code)."""
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_BPE_VOCAB_SIZE, special_tokens=special_tokens, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) for merge in model["merges"]]
    return dict(model["vocab"]), merges


def _qwen2_bpe(texts: list[str], special_tokens: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary (special tokens first) and merges of a byte-level BPE trained the Qwen2 way."""
    from tokenizers import Regex, normalizers, pre_tokenizers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    return train_byte_level_bpe(texts, special_tokens, pre_tokenizer, normalizers.NFC())


def qwen2_tokenizer(texts: list[str], special_tokens: list[str], named_tokens: dict[str, str] | None = None):
    """A Qwen2Tokenizer trained on ``texts`` whose special tokens (the first is end-of-text, eos and
    pad) come first in the vocabulary; returns (tokenizer, special token ids).

    ``named_tokens``: model-specific token attributes (``{"audio_token": "<|AUDIO|>"}`` gives
    ``tokenizer.audio_token``), saved in its tokenizer_config.json; each must be a special token.
    """
    from tokenizers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    vocab, merges = _qwen2_bpe(texts, special_tokens)
    end = special_tokens[0]
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=end, eos_token=end, pad_token=end, **(named_tokens or {}))
    tokenizer.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True) for t in special_tokens[1:]]})
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special_tokens}
    assert ids == {token: vocab[token] for token in special_tokens}, ids
    return tokenizer, ids


# Qwen/Qwen2-Audio-7B's shapes (its config.json): a random model of real size for GPU benchmarks.
QWEN2_AUDIO_7B_SHAPES = {
    "audio_config": {"d_model": 1280, "encoder_layers": 32, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120},
    "text_config": {"vocab_size": 156032, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                    "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 8192},
}


def tiny_text_config(vocab_size: int, eos: int) -> dict:
    """The tiny Qwen2 decoder that every tiny speech LLM here shares."""
    return {
        "vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 2048, "eos_token_id": eos, "pad_token_id": eos, "bos_token_id": None,
        "initializer_range": TEXT_INIT_STD,
    }


def whisper_features_128():
    """Whisper-large-v3's feature extractor (128 mel bins, 30 s windows), which these models use."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160, chunk_length=30, n_fft=400)


# Qwen's chat templates (ChatML, a default system turn first): the tokenizer's, for text, and
# Qwen2-Audio-Instruct's processor's, which numbers each clip of a turn ("Audio 1: ...").
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant."
    "<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN2_AUDIO_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'audio' or 'audio_url' in content %}{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_qwen2_audio(directory: Path, seed: int = 0, texts: list[str] | None = None, shapes: dict | None = None,
                           chat: bool = False) -> Path:
    """Build and save a tiny random Qwen2-Audio (model + processor) into ``directory``; returns it.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    ``shapes``: ``audio_config``/``text_config`` entries replacing the tiny ones (e.g.
    :data:`QWEN2_AUDIO_7B_SHAPES`); such a model is made in bfloat16, on the GPU when there is one.
    ``chat``: with Qwen's chat templates (:data:`QWEN_CHAT_TEMPLATE` on the tokenizer,
    :data:`QWEN2_AUDIO_CHAT_TEMPLATE` on the processor), as the Instruct checkpoint has them.
    """
    import torch
    from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer, ids = qwen2_tokenizer(texts, SPECIAL_TOKENS)
    feature_extractor = whisper_features_128()
    if chat:
        tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    processor = Qwen2AudioProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer,
                                    chat_template=QWEN2_AUDIO_CHAT_TEMPLATE if chat else None)

    eos = ids["<|endoftext|>"]
    config = Qwen2AudioConfig(
        audio_config={
            "model_type": "qwen2_audio_encoder", "d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64, "num_mel_bins": 128, "max_source_positions": 1500,
        },
        text_config={"model_type": "qwen2", **tiny_text_config(len(tokenizer), eos)},
        audio_token_index=ids["<|AUDIO|>"],
    )
    torch.manual_seed(seed)
    if shapes:
        for part, values in shapes.items():
            for key, value in values.items():
                setattr(getattr(config, part), key, max(value, len(tokenizer)) if key == "vocab_size" else value)
        with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # initializing 7B on a CPU takes minutes
            model = Qwen2AudioForConditionalGeneration._from_config(config, dtype=torch.bfloat16).eval()
    else:
        model = Qwen2AudioForConditionalGeneration(config).eval()
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


if __name__ == "__main__":  # python -m tests.models_speech DIR
    build_from_command_line(build_tiny_qwen2_audio, "tiny-qwen2-audio")
