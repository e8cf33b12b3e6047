"""A tiny, randomly initialised Granite Speech built in code for tests and benchmarks (no downloads).

``build_tiny_granite_speech(directory)`` writes a complete transformers model directory: weights and
config of a ``GraniteSpeechForConditionalGeneration`` (conformer encoder: 2 blocks, hidden 32, the
real 160 inputs, two stacked 80-bin mel frames, and 200-frame attention blocks; a 1-layer Q-Former
projector over 15-frame windows, 3 queries each; text model: Granite, 2 layers, hidden 32), and a
``GraniteSpeechProcessor`` (``GraniteSpeechFeatureExtractor`` + ``GPT2Tokenizer``) that
``AutoProcessor.from_pretrained(directory)`` loads back with ``HF_HUB_OFFLINE=1``.

The tokenizer is a byte-level BPE trained with ``tokenizers`` using GPT-2's own pre-tokenizer
(byte level with its split regex, no normalizer), as Granite's ``GPT2Tokenizer`` rebuilds it in code
and keeps only the vocabulary and merges of the saved file. Granite's special tokens
(``<|end_of_text|>`` = bos = eos = pad, not added before text; the role markers; the audio
placeholder ``<|audio|>``, which the processor repeats once per projector output, 10 a second) are in
the vocabulary. ``lora=True`` marks the config ``has_lora_adapter`` as the released checkpoints are
(their LoRA, applied to audio prompts, loads only with peft), without a LoRA to load. Its outputs are
random; its shapes, prompt format and audio-token expansion are Granite Speech's. About 0.6 MB,
built in about a second.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import TEXT_INIT_STD, build_from_command_line, sample_texts, save_random
from tests.models_speech import train_byte_level_bpe

AUDIO_TOKEN = "<|audio|>"
END = "<|end_of_text|>"
SPECIAL_TOKENS = [END, "<|start_of_role|>", "<|end_of_role|>", AUDIO_TOKEN]


def gpt2_tokenizer(texts: list[str]):
    """A GPT2Tokenizer trained on ``texts`` with Granite's special tokens first; returns (tokenizer, ids)."""
    from tokenizers import AddedToken, pre_tokenizers
    from transformers import GPT2Tokenizer

    vocab, merges = train_byte_level_bpe(texts, SPECIAL_TOKENS, pre_tokenizers.ByteLevel(add_prefix_space=False))
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges, unk_token=END, bos_token=END, eos_token=END, pad_token=END)
    tokenizer.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True) for t in SPECIAL_TOKENS[1:]]})
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    assert ids == {token: vocab[token] for token in SPECIAL_TOKENS}, ids
    return tokenizer, ids


def build_tiny_granite_speech(directory: Path, seed: int = 0, texts: list[str] | None = None, lora: bool = False, plus: bool = False) -> Path:
    """Build and save a tiny random Granite Speech (model + processor) into ``directory``; returns it.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    ``plus``: a Granite Speech Plus instead (config ``granite_speech_plus``), whose projector reads the
    encoder's first block's output beside its last one's.
    """
    import transformers
    from transformers import GraniteSpeechFeatureExtractor, GraniteSpeechProcessor

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer, ids = gpt2_tokenizer(texts)
    processor = GraniteSpeechProcessor(audio_processor=GraniteSpeechFeatureExtractor(), tokenizer=tokenizer, audio_token=AUDIO_TOKEN)
    end = ids[END]
    name = "GraniteSpeechPlus" if plus else "GraniteSpeech"
    config_class, model_class = getattr(transformers, f"{name}Config"), getattr(transformers, f"{name}ForConditionalGeneration")
    concatenated = {"cat_hidden_layers": [1]} if plus else {}
    config = config_class(
        text_config={
            "model_type": "granite", "vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096, "eos_token_id": end,
            "pad_token_id": end, "bos_token_id": end, "initializer_range": TEXT_INIT_STD,
        },
        encoder_config={
            "input_dim": 160, "num_layers": 2, "hidden_dim": 32, "num_heads": 2, "output_dim": 8, "context_size": 200,
            "max_pos_emb": 512, "conv_kernel_size": 15, "feedforward_mult": 2, **concatenated,
        },
        projector_config={
            "model_type": "blip_2_qformer", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 64, "encoder_hidden_size": 64 if plus else 32, "cross_attention_frequency": 1,
        },
        audio_token_index=ids[AUDIO_TOKEN],
        has_lora_adapter=lora,
        initializer_range=TEXT_INIT_STD,
    )
    return save_random(model_class, config, processor, directory, seed)


if __name__ == "__main__":  # python -m tests.models_granite DIR
    build_from_command_line(build_tiny_granite_speech, "tiny-granite-speech")
