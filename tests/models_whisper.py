"""A tiny, randomly initialised Whisper built in code for tests and benchmarks (no downloads).

``build_tiny_whisper(directory)`` writes a complete transformers model directory (weights, config,
generation config, byte-level BPE tokenizer with Whisper's special tokens, 80-bin feature extractor)
that ``transformers.pipeline("automatic-speech-recognition", model=str(directory))`` loads with
``HF_HUB_OFFLINE=1``. Its transcripts are random text; its shapes, prompts and decoding are Whisper's.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import build_from_command_line

# Text the byte-level BPE merges are learnt from: a little English and Chinese, nothing more is needed.
_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Which of the following is the capital of France? Paris, London, Berlin or Madrid.",
    "Answer with the letter of the correct option: A, B, C or D.",
    "Speech to speech benchmarks read questions aloud and check the transcripts.",
    "One two three four five six seven eight nine ten.",
    "下列哪一个是法国的首都？巴黎、伦敦、柏林还是马德里。",
    "请用正确选项的字母回答。",
]
# Base-vocabulary size: 256 byte symbols plus learnt merges (Whisper's special tokens come after).
_BPE_VOCAB_SIZE = 384


def _byte_level_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and merges of a byte-level BPE trained on ``_CORPUS``; deterministic."""
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_BPE_VOCAB_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[], show_progress=False
    )
    tokenizer.train_from_iterator(_CORPUS, trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) for merge in model["merges"]]
    return dict(model["vocab"]), merges


def build_tiny_whisper(directory: Path, seed: int = 0, init_std: float = 1.0) -> Path:
    """Build and save a tiny random multilingual Whisper into ``directory``; returns ``directory``.

    d_model 64, 2 encoder and 2 decoder layers, 2 heads, 80 mel bins, 1500 source positions (a full
    30 s window), 448 target positions (so ``max_new_tokens`` up to ~440 is accepted, as for real
    Whisper). All of Whisper's languages are in the vocabulary, so any ``language=`` code works.
    ``init_std`` 1.0 (Whisper's is 0.02) makes the random transcripts depend on the audio: at 0.02
    every input decodes to the same text, which would make batched-vs-unbatched checks vacuous.
    About 1.5 MB, built in about a second.
    """
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    # Tokenizer: byte-level BPE, then Whisper's special tokens in Whisper's order, <|notimestamps|> last.
    vocab, merges = _byte_level_bpe()
    languages = [f"<|{code}|>" for code in LANGUAGES]
    specials = (
        ["<|endoftext|>", "<|startoftranscript|>"]
        + languages
        + ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]
    )
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})  # <|endoftext|> is already bos/eos/unk/pad
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in specials}
    assert len(set(ids.values())) == len(specials) and ids["<|notimestamps|>"] == max(ids.values()), ids
    eot, sot, no_timestamps = ids["<|endoftext|>"], ids["<|startoftranscript|>"], ids["<|notimestamps|>"]

    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        init_std=init_std,
        suppress_tokens=[],
        begin_suppress_tokens=[tokenizer.convert_tokens_to_ids("Ġ"), eot],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()

    generation = GenerationConfig(
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=config.max_target_positions,
        begin_suppress_tokens=config.begin_suppress_tokens,
        suppress_tokens=[],
        forced_decoder_ids=None,
        is_multilingual=True,
        lang_to_id={token: ids[token] for token in languages},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=no_timestamps,
        prev_sot_token_id=ids["<|startofprev|>"],
        return_timestamps=False,
        alignment_heads=[[1, 0], [1, 1]],
    )
    model.generation_config = generation

    feature_extractor = WhisperFeatureExtractor(feature_size=80, sampling_rate=16000, hop_length=160, chunk_length=30, n_fft=400)
    model.save_pretrained(directory)
    WhisperProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(directory)
    return directory


if __name__ == "__main__":  # python -m tests.models_whisper DIR
    build_from_command_line(build_tiny_whisper, "tiny-whisper")
