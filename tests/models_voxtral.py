"""A tiny, randomly initialised Voxtral built in code for tests and benchmarks (no downloads).

``build_tiny_voxtral(directory)`` writes a complete transformers model directory: weights and config
of a ``VoxtralForConditionalGeneration`` (audio encoder: Voxtral's Whisper encoder, 2 layers, d_model
32, 128 mel bins, a full 30 s window of 1500 positions; projector: every 4 encoder frames into one
text embedding, so 375 audio tokens per 30 s window; text model: Llama, 2 layers, hidden 32), and a
``VoxtralProcessor`` (``WhisperFeatureExtractor`` + ``MistralCommonBackend``) that
``AutoProcessor.from_pretrained(directory)`` loads back with ``HF_HUB_OFFLINE=1``.

The tokenizer is a tekken file (``tekken.json``, as Mistral ships them): Mistral's special tokens
first, in their order, so that ``[AUDIO]`` is id 24 and ``[BEGIN_AUDIO]`` 25 as ``VoxtralProcessor``
and the released checkpoints have them; then a byte-level BPE trained with ``tokenizers`` under
tekken's own split pattern, written as tiktoken ranks (the 256 bytes, then each merge in the order
it was learnt); and Voxtral's audio section (16 kHz, 12.5 tokens a second, audio padded to 30 s
windows), from which mistral-common's audio encoder makes ``[BEGIN_AUDIO]`` + ``[AUDIO]`` x 375 per
window. ``<s>`` is put before text, as Mistral's tokenizers do. Its outputs are random; its shapes,
prompt format and audio-token count are Voxtral's. About 1 MB, built in a few seconds.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.models import TEXT_INIT_STD, build_from_command_line, sample_texts, save_random
from tests.models_speech import whisper_features_128

# Mistral's special tokens, in their ids' order (mistral_common SpecialTokens; Voxtral's tekken.json).
SPECIAL_TOKENS = [
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]",
    "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]", "[ARGS]", "[CALL_ID]", "<SPECIAL_22>", "<SPECIAL_23>", "[AUDIO]", "[BEGIN_AUDIO]", "[TRANSCRIBE]",
]
NUM_SPECIAL_TOKENS = 32  # the rest are fillers (<SPECIAL_27>, ...), as in a released file's 1000
AUDIO_TOKEN_ID, BEGIN_AUDIO_ID = 24, 25
TOKENS_PER_WINDOW = 375  # 1500 encoder frames of a 30 s window, 4 per token
# Tekken's split pattern (tiktoken pat_str), from the released tekken.json files.
TEKKEN_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"
    r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def tekken_vocab(texts: list[str]) -> list[dict]:
    """Tekken's vocabulary entries (rank, base64 bytes, text) of a byte-level BPE trained on ``texts``:
    the 256 bytes, then each merge's token in the order the merges were learnt (tiktoken's ranks)."""
    from tokenizers import Regex, pre_tokenizers

    from tests.models_speech import train_byte_level_bpe

    pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(TEKKEN_PATTERN), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    _, merges = train_byte_level_bpe(texts, [], pre_tokenizer)
    # tokenizers writes bytes as GPT-2's printable characters: map them back
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    to_byte = {char: value for value, char in enumerate(_bytes_to_unicode())}
    assert set(to_byte) == set(alphabet)
    tokens = [bytes([value]) for value in range(256)]
    seen = set(tokens)
    for left, right in merges:
        token = bytes(to_byte[c] for c in left + right)
        if token not in seen:
            seen.add(token)
            tokens.append(token)
    return [{"rank": rank, "token_bytes": base64.b64encode(token).decode(), "token_str": token.decode("utf-8", "replace")}
            for rank, token in enumerate(tokens)]


def _bytes_to_unicode() -> list[str]:
    """GPT-2's printable character for each byte value, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for value in range(256):
        if value in printable:
            chars.append(chr(value))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tekken(path: Path, texts: list[str]) -> int:
    """Write a tiny tekken.json with Voxtral's audio section; returns its vocabulary size."""
    vocab = tekken_vocab(texts)
    special = [{"rank": rank, "token_str": token, "is_control": True} for rank, token in enumerate(SPECIAL_TOKENS)]
    size = NUM_SPECIAL_TOKENS + len(vocab)
    model = {
        "config": {"pattern": TEKKEN_PATTERN, "num_vocab_tokens": len(vocab), "default_vocab_size": size,
                   "default_num_special_tokens": NUM_SPECIAL_TOKENS, "version": "v7"},
        "vocab": vocab,
        "special_tokens": special,
        "audio": {"sampling_rate": 16000, "frame_rate": 12.5, "chunk_length_s": 30.0,
                  "audio_encoding_config": {"num_mel_bins": 128, "hop_length": 160, "window_size": 400}},
        "version": 1,
        "type": "Tekken",
    }
    path.write_text(json.dumps(model), encoding="utf-8")
    return size


def build_tiny_voxtral(directory: Path, seed: int = 0, texts: list[str] | None = None) -> Path:
    """Build and save a tiny random Voxtral (model + processor) into ``directory``; returns it.

    ``texts``: what the BPE is trained on (default: every text of the bundled samples).
    """
    from transformers import MistralCommonBackend, VoxtralConfig, VoxtralForConditionalGeneration, VoxtralProcessor

    if texts is None:
        texts = sample_texts()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tekken = directory / "tekken.json"
    size = write_tekken(tekken, texts)
    tokenizer = MistralCommonBackend.from_pretrained(directory)
    processor = VoxtralProcessor(feature_extractor=whisper_features_128(), tokenizer=tokenizer)
    config = VoxtralConfig(
        audio_config={
            "hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "num_mel_bins": 128,
            "max_source_positions": 1500, "vocab_size": size,
        },
        text_config={
            "model_type": "llama", "vocab_size": size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": 4096,
            "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 11, "initializer_range": TEXT_INIT_STD,
        },
        audio_token_id=AUDIO_TOKEN_ID,
        projector_hidden_act="gelu",
    )
    return save_random(VoxtralForConditionalGeneration, config, processor, directory, seed)


if __name__ == "__main__":  # python -m tests.models_voxtral DIR
    build_from_command_line(build_tiny_voxtral, "tiny-voxtral")
