"""A tiny, randomly initialised Phi-4-multimodal built in code for tests and benchmarks (no downloads).

``build_tiny_phi4_multimodal(directory)`` writes a complete transformers model directory: weights
and config of a ``Phi4MultimodalForCausalLM`` (audio encoder: a conformer of 2 blocks, hidden 32,
over 80-bin mel frames subsampled 8 times by its convolutions; a 1-layer vision tower, which the
model always holds; text model: Phi-3 style, 2 layers, hidden 32, LongRoPE on 3/4 of each head as
the released model has), its ``Phi4MultimodalFeatureExtractor`` and a ``GPT2Tokenizer`` that
carries Phi-4-multimodal's named tokens (``audio_token`` ``<|endoftext11|>``, ``image_token``
``<|endoftext10|>``). ``speech_lora=True`` adds a ``speech-lora/adapter_config.json`` as the
released checkpoint's speech LoRA has (which loads only with peft), without weights to load.

The tokenizer is a byte-level BPE trained with ``tokenizers`` using GPT-2's own pre-tokenizer, as
``GPT2Tokenizer`` rebuilds it in code (see ``tests/models_granite.py``). ``<|endoftext|>`` is bos,
eos and pad, and is not put before text. Its outputs are random; its shapes, prompt format and
audio-token expansion (one token per 8 mel frames, 12.5 a second) are Phi-4-multimodal's. About
0.5 MB, built in about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.models import TEXT_INIT_STD, build_from_command_line, sample_texts
from tests.models_speech import train_byte_level_bpe

END = "<|endoftext|>"
NAMED_TOKENS = {"image_token": "<|endoftext10|>", "audio_token": "<|endoftext11|>"}
SPECIAL_TOKENS = [END, "<|user|>", "<|assistant|>", "<|end|>", *NAMED_TOKENS.values()]
SPEECH_LORA = "speech-lora"


def phi4_tokenizer(texts: list[str]):
    """A GPT2Tokenizer trained on ``texts`` with Phi-4-multimodal's special tokens first; returns (tokenizer, ids)."""
    from tokenizers import AddedToken, pre_tokenizers
    from transformers import GPT2Tokenizer

    vocab, merges = train_byte_level_bpe(texts, SPECIAL_TOKENS, pre_tokenizers.ByteLevel(add_prefix_space=False))
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges, unk_token=END, bos_token=END, eos_token=END, pad_token=END, **NAMED_TOKENS)
    tokenizer.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True) for t in SPECIAL_TOKENS[1:]]})
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    assert ids == {token: vocab[token] for token in SPECIAL_TOKENS}, ids
    return tokenizer, ids


def build_tiny_phi4_multimodal(directory: Path, seed: int = 0, texts: list[str] | None = None, speech_lora: bool = False) -> Path:
    """Build and save a tiny random Phi-4-multimodal (model, feature extractor, tokenizer) into ``directory``; returns it.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    """
    import torch
    from transformers import Phi4MultimodalConfig, Phi4MultimodalFeatureExtractor, Phi4MultimodalForCausalLM

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer, ids = phi4_tokenizer(texts)
    end = ids[END]
    rotary_half = 8 * 3 // 4 // 2  # head 8, 3/4 of it rotated: 3 frequencies
    config = Phi4MultimodalConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=8192, original_max_position_embeddings=4096,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
                         "short_factor": [1.0] * rotary_half, "long_factor": [2.0] * rotary_half},
        bos_token_id=end, eos_token_id=end, pad_token_id=end, initializer_range=TEXT_INIT_STD,
        audio_config={
            "hidden_size": 32, "intermediate_size": 64, "num_blocks": 2, "num_attention_heads": 2, "ext_pw_out_channel": 32,
            "depthwise_separable_out_channel": 32, "nemo_conv_channels": 16, "input_size": 80, "time_reduction": 8,
            "audio_token_id": ids[NAMED_TOKENS["audio_token"]],
        },
        vision_config={
            "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 56,
            "patch_size": 14, "crop_size": 56, "image_token_id": ids[NAMED_TOKENS["image_token"]],
        },
    )
    torch.manual_seed(seed)
    model = Phi4MultimodalForCausalLM(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    Phi4MultimodalFeatureExtractor().save_pretrained(directory)
    if speech_lora:
        lora = directory / SPEECH_LORA
        lora.mkdir(exist_ok=True)
        (lora / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["qkv_proj"]}))
    return directory


if __name__ == "__main__":  # python -m tests.models_phi4 DIR
    build_from_command_line(build_tiny_phi4_multimodal, "tiny-phi4-multimodal")
