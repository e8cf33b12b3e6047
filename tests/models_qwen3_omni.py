"""A tiny, randomly initialised Qwen3-Omni thinker built in code for tests and benchmarks (no downloads).

``build_tiny_qwen3_omni(directory)`` writes a complete transformers model directory: weights and
config of a ``Qwen3OmniMoeThinkerForConditionalGeneration`` (audio encoder: 2 layers, d_model 32,
128 mel bins, its convolutions over 100-frame chunks and attention in 400-frame windows; a 1-block
vision encoder, which the thinker always holds; text model: a mixture of experts, 2 layers, hidden
32, 4 experts of which each token takes 2, multimodal RoPE split 2/1/1 over its 4 rotary
frequencies), Qwen3-Omni's feature extractor (``WhisperFeatureExtractor``, 128 bins) and a
``Qwen2Tokenizer`` that carries Qwen3-Omni's named multimodal tokens (``audio_token``
``<|audio_pad|>``, ``audio_bos_token`` ``<|audio_start|>``, ...). With ``full=True`` it writes a
whole ``Qwen3OmniMoeForConditionalGeneration`` checkpoint instead (config ``qwen3_omni_moe``,
weights under ``thinker.``; the talker and code2wav are left out, as ``enable_audio_output=False``
does), holding the same thinker weights for the same seed.

The tokenizer is the byte-level BPE of ``tests/models_speech.py`` (trained the Qwen2 way, so its
merges survive a reload). Its outputs are random; its shapes, prompt format and audio-token
expansion are Qwen3-Omni's. About 1 MB, built in about a second.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import TEXT_INIT_STD, build_from_command_line, sample_texts
from tests.models_speech import qwen2_tokenizer, tiny_text_config, whisper_features_128

# Qwen3-Omni's own names for its multimodal tokens (its tokenizer_config.json).
NAMED_TOKENS = {
    "audio_token": "<|audio_pad|>",
    "audio_bos_token": "<|audio_start|>",
    "audio_eos_token": "<|audio_end|>",
    "image_token": "<|image_pad|>",
    "video_token": "<|video_pad|>",
    "vision_bos_token": "<|vision_start|>",
    "vision_eos_token": "<|vision_end|>",
}
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *NAMED_TOKENS.values()]
EXPERTS, EXPERTS_PER_TOKEN = 4, 2


def build_tiny_qwen3_omni(directory: Path, seed: int = 0, texts: list[str] | None = None, full: bool = False) -> Path:
    """Build and save a tiny random Qwen3-Omni thinker (model, feature extractor, tokenizer) into
    ``directory``; returns it. ``full``: as a whole Qwen3-Omni checkpoint holding that thinker.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    """
    import torch
    from transformers import (
        Qwen3OmniMoeConfig,
        Qwen3OmniMoeForConditionalGeneration,
        Qwen3OmniMoeThinkerConfig,
        Qwen3OmniMoeThinkerForConditionalGeneration,
    )

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer, ids = qwen2_tokenizer(texts, SPECIAL_TOKENS, NAMED_TOKENS)
    feature_extractor = whisper_features_128()

    eos = ids["<|endoftext|>"]
    config = Qwen3OmniMoeThinkerConfig(
        audio_config={
            "d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 64, "num_mel_bins": 128,
            "max_source_positions": 1500, "n_window": 50, "n_window_infer": 400, "output_dim": 32, "downsample_hidden_size": 8,
        },
        vision_config={
            "depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 32, "deepstack_visual_indexes": [],
        },
        text_config={
            **tiny_text_config(len(tokenizer), eos),
            "moe_intermediate_size": 32, "num_experts": EXPERTS, "num_experts_per_tok": EXPERTS_PER_TOKEN, "head_dim": 8,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 1, 1], "mrope_interleaved": True},
        },
        audio_token_id=ids["<|audio_pad|>"],
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        audio_start_token_id=ids["<|audio_start|>"],
        initializer_range=TEXT_INIT_STD,  # peaked predictions (see tests/models.py); the thinker initializes every part from its own
        vision_start_token_id=ids["<|vision_start|>"],  # not a declared field, but the thinker's RoPE reads it (released configs have it)
    )
    torch.manual_seed(seed)
    thinker = Qwen3OmniMoeThinkerForConditionalGeneration(config).eval()
    if full:
        whole = Qwen3OmniMoeForConditionalGeneration(Qwen3OmniMoeConfig(thinker_config=config.to_dict(), enable_audio_output=False))
        whole.thinker.load_state_dict(thinker.state_dict())
        whole.save_pretrained(directory)
    else:
        thinker.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    feature_extractor.save_pretrained(directory)
    return directory


if __name__ == "__main__":  # python -m tests.models_qwen3_omni DIR
    build_from_command_line(build_tiny_qwen3_omni, "tiny-qwen3-omni")
