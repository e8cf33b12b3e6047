"""A tiny, randomly initialised Qwen2.5-Omni thinker built in code for tests and benchmarks (no downloads).

``build_tiny_qwen2_5_omni(directory)`` writes a complete transformers model directory: weights and
config of a ``Qwen2_5OmniThinkerForConditionalGeneration`` (audio encoder: 2 layers, d_model 32, 128
mel bins, 100-frame attention windows; a 1-block vision encoder, which the thinker always holds;
text model: 2 layers, hidden 32, multimodal RoPE split 2/1/1 over its 4 rotary frequencies), the
Qwen2.5-Omni feature extractor (``WhisperFeatureExtractor``, 30 s here where the real one pads to
300 s) and a ``Qwen2Tokenizer`` that carries Qwen2.5-Omni's named multimodal tokens (``audio_token``
``<|AUDIO|>``, ``audio_bos_token`` ``<|audio_bos|>``, ...). With ``full=True`` it writes a whole
``Qwen2_5OmniForConditionalGeneration`` checkpoint instead (config ``qwen2_5_omni``, weights under
``thinker.``; the talker and vocoder are left out, as ``enable_audio_output=False`` does), holding
the same thinker weights for the same seed.

The tokenizer is the byte-level BPE of ``tests/models_speech.py`` (trained the Qwen2 way, so its
merges survive a reload). Its outputs are random; its shapes, prompt format and audio-token
expansion are Qwen2.5-Omni's. About 1 MB, built in about a second.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import build_from_command_line, sample_texts
from tests.models_speech import qwen2_tokenizer, tiny_text_config, whisper_features_128

# Qwen2.5-Omni's own names for its multimodal tokens (its tokenizer_config.json).
NAMED_TOKENS = {
    "audio_token": "<|AUDIO|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
}
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *NAMED_TOKENS.values()]

# Qwen/Qwen2.5-Omni-7B's thinker shapes (its config.json): a random model of real size for GPU
# benchmarks. The vision encoder, which audio scoring never runs, stays one tiny block (its output
# sized for the text model): about 8.3B parameters, not the thinker's 8.9B.
QWEN2_5_OMNI_7B_SHAPES = {
    "audio_config": {"d_model": 1280, "encoder_layers": 32, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120, "output_dim": 3584},
    "vision_config": {"out_hidden_size": 3584},
    "text_config": {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                    "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 32768,
                    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]}},
}


def build_tiny_qwen2_5_omni(directory: Path, seed: int = 0, texts: list[str] | None = None, full: bool = False,
                            shapes: dict | None = None) -> Path:
    """Build and save a tiny random Qwen2.5-Omni thinker (model, feature extractor, tokenizer) into
    ``directory``; returns it. ``full``: as a whole Qwen2.5-Omni checkpoint holding that thinker.
    ``shapes``: ``audio_config``/``vision_config``/``text_config`` entries replacing the tiny ones
    (e.g. :data:`QWEN2_5_OMNI_7B_SHAPES`); such a model is made in bfloat16, on the GPU when there is one.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    """
    import torch
    from transformers import (
        Qwen2_5OmniConfig,
        Qwen2_5OmniForConditionalGeneration,
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
    )

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer, ids = qwen2_tokenizer(texts, SPECIAL_TOKENS, NAMED_TOKENS)
    feature_extractor = whisper_features_128()

    eos = ids["<|endoftext|>"]
    parts = {
        "audio_config": {
            "d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 64, "num_mel_bins": 128,
            "max_source_positions": 1500, "n_window": 100, "output_dim": 32,
        },
        "vision_config": {
            "depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 32, "fullatt_block_indexes": [0],
        },
        "text_config": {
            **tiny_text_config(len(tokenizer), eos),
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 1, 1]},
        },
    }
    for part, values in (shapes or {}).items():  # into the dicts, so that what the config derives follows
        parts[part].update({key: max(value, len(tokenizer)) if key == "vocab_size" else value for key, value in values.items()})
    config = Qwen2_5OmniThinkerConfig(
        **parts,
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"],
        vision_start_token_id=ids["<|vision_bos|>"],  # not a declared field, but the thinker's RoPE reads it (released configs have it)
        vision_end_token_id=ids["<|vision_eos|>"],
    )
    torch.manual_seed(seed)
    if shapes:
        with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # initializing 7B on a CPU takes minutes
            thinker = Qwen2_5OmniThinkerForConditionalGeneration._from_config(config, dtype=torch.bfloat16).eval()
    else:
        thinker = Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
    if full:
        whole = Qwen2_5OmniForConditionalGeneration(Qwen2_5OmniConfig(thinker_config=config.to_dict(), enable_audio_output=False))
        whole.thinker.load_state_dict(thinker.state_dict())
        whole.save_pretrained(directory)
    else:
        thinker.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    feature_extractor.save_pretrained(directory)
    return directory


if __name__ == "__main__":  # python -m tests.models_omni DIR
    build_from_command_line(build_tiny_qwen2_5_omni, "tiny-qwen2.5-omni")
