"""A tiny, randomly initialised Moshi built in code for tests (no downloads).

``build_tiny_moshi(directory)`` writes a complete transformers model directory: weights and config of
a ``MoshiForConditionalGeneration`` whose audio encoder is a tiny Mimi (24 kHz, Mimi's real strides
[8, 6, 5, 4] and downsampling, so 1920 samples a frame, 12.5 frames a second; 16 filters' worth of
hidden size, 1 transformer layer, 4 quantizers of 64 codes, the first semantic), a temporal
transformer of 2 layers (hidden 32) and a depth decoder of 1 layer (hidden 16), over the 4 codebooks
of each of its two audio streams; and a tokenizer that ``AutoTokenizer.from_pretrained(directory)``
loads back with ``HF_HUB_OFFLINE=1``.

The tokenizer is a byte-level BPE trained with ``tokenizers``; its special tokens ``<unk>``, ``<s>``,
``</s>``, ``<pad>`` come first, so that ``<pad>`` is id 3, the text padding token of Moshi's
checkpoints (``existing_text_padding_id``), which the config names as ``pad_token_id``. Its outputs
are random; its shapes, streams, codebooks and delays are Moshi's. About 0.5 MB, built in a second.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import TEXT_INIT_STD, build_from_command_line, sample_texts

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]
NUM_CODEBOOKS = 4  # per stream; Moshi's checkpoints have 8
CODEBOOK_SIZE = 64  # Moshi's: 2048
CODEBOOK_STD = 0.1  # of the random Mimi codebook vectors: of the scale of its latents, so that clips use many codes
FLEXIBLE_LINEAR_SCALE = 0.02  # of the depth decoder's per-codebook input projections and heads


def moshi_tokenizer(texts: list[str]):
    """A byte-level BPE tokenizer trained on ``texts``, ``<pad>`` being id 3 as in Moshi's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    assert tokenizer.pad_token_id == 3, tokenizer.pad_token_id
    return tokenizer


def tiny_mimi_config() -> dict:
    return {
        "model_type": "mimi", "sampling_rate": 24000, "hidden_size": 16, "num_filters": 4, "upsampling_ratios": [8, 6, 5, 4],
        "codebook_size": CODEBOOK_SIZE, "codebook_dim": 8, "vector_quantization_hidden_dimension": 8, "num_quantizers": NUM_CODEBOOKS,
        "num_semantic_quantizers": 1, "upsample_groups": 16, "num_hidden_layers": 1, "intermediate_size": 32, "num_attention_heads": 2,
        "num_key_value_heads": 2, "sliding_window": 250,
    }


def build_tiny_moshi(directory: Path, seed: int = 0, texts: list[str] | None = None) -> Path:
    """Build and save a tiny random Moshi (model + tokenizer) into ``directory``; returns it."""
    import torch
    from transformers import MoshiConfig, MoshiForConditionalGeneration

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = moshi_tokenizer(texts if texts is not None else sample_texts())
    config = MoshiConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, ffn_dim=64,
        max_position_embeddings=3000, sliding_window=3000, num_codebooks=NUM_CODEBOOKS, pad_token_id=tokenizer.pad_token_id,
        initializer_range=TEXT_INIT_STD, audio_encoder_config=tiny_mimi_config(),
        depth_decoder_config={"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "ffn_dim": 32,
                              "max_position_embeddings": NUM_CODEBOOKS + 1, "sliding_window": NUM_CODEBOOKS + 1,
                              "initializer_range": TEXT_INIT_STD},
    )
    torch.manual_seed(seed)
    model = MoshiForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, buffer in model.audio_encoder.named_buffers():
            if name.endswith("embed_sum"):  # initialised to zeros, which would make every code 0
                buffer.copy_(torch.randn_like(buffer) * CODEBOOK_STD)
        for module in (model.depth_decoder.input_projections, model.depth_decoder.lm_heads):
            module.weight.mul_(FLEXIBLE_LINEAR_SCALE)  # initialised N(0, 1): losses of hundreds of nats
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


if __name__ == "__main__":  # python -m tests.models_moshi DIR
    build_from_command_line(build_tiny_moshi, "tiny-moshi")
