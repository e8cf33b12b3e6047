"""A tiny, randomly initialised Gemma 3n built in code for tests and benchmarks (no downloads).

``build_tiny_gemma3n(directory)`` writes a complete transformers model directory: weights and config
of a ``Gemma3nForConditionalGeneration`` (audio encoder: Gemma 3n's conformer, 2 blocks, hidden 32,
the real 128 mel bins, its two stride-2 convolutions and a reduction by 4, so one output per 160 ms;
a vision tower that is timm's ``test_efficientnet``, built because the model always holds one and
never called here; text model: Gemma 3n's, 4 layers (sliding and full attention, the last 2 reading
the keys and values of earlier ones), hidden 32, AltUp over 2 streams, per-layer inputs of 8, a
final logit soft cap of 2 so that the cap changes every loss), and a ``Gemma3nProcessor``
(``Gemma3nAudioFeatureExtractor``, ``SiglipImageProcessor``, ``GemmaTokenizer``) that
``AutoProcessor.from_pretrained(directory)`` loads back with ``HF_HUB_OFFLINE=1``.

The vocabulary is laid out as Gemma 3n's: text tokens first (the per-layer table covers only
them), then the vision tokens (``<end_of_image>`` first, then ``<image_soft_token>``), then the
audio tokens (``<end_of_audio>``, then ``<audio_soft_token>``), whose embeddings come from the
model's vision and audio embedders; ``<start_of_audio>`` is a text token, as in the released
tokenizer. The text part is a BPE with byte fallback trained with ``tokenizers`` under Gemma's own
normalizer (spaces as ``▁``) and pre-tokenizer, as ``GemmaTokenizer`` rebuilds them in code. bos
``<bos>`` is put before text, as Gemma's tokenizer does. The processor puts 188 audio soft tokens
for any clip (30 s at most), as the released one does. Its outputs are random; its shapes, prompt
format and audio-token layout are Gemma 3n's. About 2 MB, built in a few seconds.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import TEXT_INIT_STD, build_from_command_line, sample_texts, save_random

# Gemma's own names and order: pad 0, eos 1, bos 2, unk 3, mask 4.
BASE_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
TEXT_SPECIAL = ["<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<start_of_audio>"]
BYTE_TOKENS = [f"<0x{value:02X}>" for value in range(256)]
# The multimodal blocks after the text vocabulary; the real ones hold 128 tokens each.
BLOCK = 8
VISION_TOKENS = ["<end_of_image>", "<image_soft_token>"] + [f"<unused_vision_{i}>" for i in range(BLOCK - 2)]
AUDIO_TOKENS = ["<end_of_audio>", "<audio_soft_token>"] + [f"<unused_audio_{i}>" for i in range(BLOCK - 2)]
NAMED_TOKENS = {
    "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>",
    "boa_token": "<start_of_audio>", "eoa_token": "<end_of_audio>", "audio_token": "<audio_soft_token>",
}
AUDIO_SOFT_TOKENS = 188  # per clip, whatever its length (Gemma 3n's audio_soft_tokens_per_image)
SOFT_CAP = 2.0
_BPE_VOCAB_SIZE = 900


def gemma_bpe(texts: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary (Gemma's base tokens, its text special tokens and the 256 byte-fallback tokens
    first) and merges of a BPE trained under GemmaTokenizer's normalizer and pre-tokenizer."""
    import json

    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tokenizer.normalizer = normalizers.Replace(" ", "▁")
    tokenizer.pre_tokenizer = pre_tokenizers.Split(pattern=" ", behavior="merged_with_previous", invert=False)
    specials = BASE_TOKENS + TEXT_SPECIAL + BYTE_TOKENS
    trainer = trainers.BpeTrainer(vocab_size=_BPE_VOCAB_SIZE, special_tokens=specials, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) for merge in model["merges"]]
    return dict(model["vocab"]), merges


def gemma_tokenizer(texts: list[str]):
    """A GemmaTokenizer trained on ``texts``, the vision and audio blocks after its text vocabulary;
    returns (tokenizer, size of the text vocabulary)."""
    from tokenizers import AddedToken
    from transformers import GemmaTokenizer

    vocab, merges = gemma_bpe(texts)
    text_size = len(vocab)
    for token in VISION_TOKENS + AUDIO_TOKENS:
        vocab[token] = len(vocab)
    tokenizer = GemmaTokenizer(vocab=vocab, merges=merges, add_bos_token=True, **NAMED_TOKENS)
    tokenizer.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True) for t in TEXT_SPECIAL + VISION_TOKENS + AUDIO_TOKENS]})
    for token in BASE_TOKENS + TEXT_SPECIAL + VISION_TOKENS + AUDIO_TOKENS:
        assert tokenizer.convert_tokens_to_ids(token) == vocab[token], token
    return tokenizer, text_size


def build_tiny_gemma3n(directory: Path, seed: int = 0, texts: list[str] | None = None) -> Path:
    """Build and save a tiny random Gemma 3n (model + processor) into ``directory``; returns it.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    """
    from transformers import (
        Gemma3nAudioFeatureExtractor,
        Gemma3nConfig,
        Gemma3nForConditionalGeneration,
        Gemma3nProcessor,
        SiglipImageProcessor,
    )

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer, text_size = gemma_tokenizer(texts)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in NAMED_TOKENS.values()}
    image_processor = SiglipImageProcessor(size={"height": 32, "width": 32})
    processor = Gemma3nProcessor(Gemma3nAudioFeatureExtractor(), image_processor, tokenizer, audio_seq_length=AUDIO_SOFT_TOKENS, image_seq_length=4)
    config = Gemma3nConfig(
        text_config={
            "vocab_size": text_size + 2 * BLOCK, "vocab_size_per_layer_input": text_size, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
            "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"], "sliding_window": 64,
            "num_kv_shared_layers": 2, "hidden_size_per_layer_input": 8, "altup_num_inputs": 2, "laurel_rank": 4,
            "activation_sparsity_pattern": [0.0] * 4, "max_position_embeddings": 2048, "final_logit_softcapping": SOFT_CAP,
            "pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 2, "initializer_range": TEXT_INIT_STD,
        },
        vision_config={"architecture": "test_efficientnet", "hidden_size": 16, "vocab_size": BLOCK, "vocab_offset": text_size},
        audio_config={
            "input_feat_size": 128, "hidden_size": 32, "conf_num_attention_heads": 2, "conf_num_hidden_layers": 2,
            "sscp_conv_channel_size": [8, 4], "vocab_size": BLOCK, "vocab_offset": text_size + BLOCK,
        },
        audio_soft_tokens_per_image=AUDIO_SOFT_TOKENS,
        vision_soft_tokens_per_image=4,
        boi_token_id=ids["<start_of_image>"], eoi_token_id=ids["<end_of_image>"], image_token_id=ids["<image_soft_token>"],
        boa_token_id=ids["<start_of_audio>"], eoa_token_id=ids["<end_of_audio>"], audio_token_id=ids["<audio_soft_token>"],
        initializer_range=TEXT_INIT_STD,
    )
    return save_random(Gemma3nForConditionalGeneration, config, processor, directory, seed)


if __name__ == "__main__":  # python -m tests.models_gemma3n DIR
    build_from_command_line(build_tiny_gemma3n, "tiny-gemma3n")
