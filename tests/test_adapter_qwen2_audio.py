"""The Qwen2-Audio adapter's own checks on a tiny random Qwen2-Audio: the model as reloaded and its
one 30 s feature window. What every adapter must do is checked in tests/test_adapter_families.py."""

from __future__ import annotations

from tests.adapter_checks import assert_tokenizer_round_trips
from tests.test_adapter_families import PROMPT, family_named

QWEN2_AUDIO = family_named("qwen2-audio")


def test_tiny_model_loads_back_offline(tmp_path_factory):
    from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor

    directory = QWEN2_AUDIO.directory(tmp_path_factory)
    processor = AutoProcessor.from_pretrained(directory)
    assert isinstance(processor, Qwen2AudioProcessor)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(directory)
    tokenizer = processor.tokenizer
    assert model.config.audio_token_id == tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    for token in ("<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>", "<|endoftext|>"):
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
    assert_tokenizer_round_trips(tokenizer)


def test_the_features_are_one_30_s_window(tmp_path_factory, items):
    assert QWEN2_AUDIO.adapter(tmp_path_factory).encode_speech(items[0], PROMPT)["input_features"].shape[-1] == 3000
