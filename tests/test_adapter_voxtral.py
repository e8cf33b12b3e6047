"""The Voxtral adapter's own checks on a tiny random Voxtral: the model as reloaded, the audio block
against Voxtral's own chat template, and windows of 30 s. What every adapter must do is checked in
tests/test_adapter_families.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.adapter_checks import assert_shared_prefix_matches_naive, assert_trained_bpe
from tests.models_voxtral import AUDIO_TOKEN_ID, BEGIN_AUDIO_ID, TOKENS_PER_WINDOW
from tests.test_adapter_families import PROMPT, family_named

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VOXTRAL = family_named("voxtral")


def test_tiny_model_loads_back_offline(tmp_path_factory):
    from transformers import AutoConfig, AutoProcessor, MistralCommonBackend, VoxtralForConditionalGeneration, VoxtralProcessor

    directory = VOXTRAL.directory(tmp_path_factory)
    processor = AutoProcessor.from_pretrained(directory)
    assert isinstance(processor, VoxtralProcessor) and isinstance(processor.tokenizer, MistralCommonBackend)
    assert AutoConfig.from_pretrained(directory).model_type == "voxtral"
    tokenizer = processor.tokenizer
    assert processor.audio_token == "[AUDIO]" and tokenizer.convert_tokens_to_ids("[AUDIO]") == AUDIO_TOKEN_ID
    assert tokenizer.convert_tokens_to_ids("[BEGIN_AUDIO]") == BEGIN_AUDIO_ID
    model = VoxtralForConditionalGeneration.from_pretrained(directory)
    assert model.config.audio_token_id == AUDIO_TOKEN_ID
    assert_trained_bpe(tokenizer, "<s>")


def test_the_audio_block_is_the_one_voxtrals_chat_template_makes(tmp_path_factory, items):
    """The adapter's [BEGIN_AUDIO] [AUDIO]x375 and features equal what VoxtralProcessor.apply_chat_template
    (mistral-common's audio encoder) makes of the same clip."""
    import torch

    adapter = VOXTRAL.adapter(tmp_path_factory)
    item = next(i for i in items if len(i.candidates) == 4)
    inputs = adapter.encode_speech(item, PROMPT)
    block = [BEGIN_AUDIO_ID] + [AUDIO_TOKEN_ID] * TOKENS_PER_WINDOW
    assert inputs["input_ids"][0].tolist()[-len(block) :] == block
    conversation = [{"role": "user", "content": [{"type": "audio", "path": item.context_audio}]}]
    template = adapter.processor.apply_chat_template(conversation, tokenize=True, return_dict=True)
    template_ids = template["input_ids"][0].tolist()
    start = template_ids.index(BEGIN_AUDIO_ID)
    assert template_ids[start : start + len(block) + 1] == block + [adapter.tokenizer.convert_tokens_to_ids("[/INST]")]
    assert torch.allclose(inputs["input_features"], template["input_features"], atol=1e-5)


def test_a_clip_past_30_s_is_two_windows(tmp_path_factory, items, tmp_path):
    import numpy as np
    import soundfile as sf

    adapter = VOXTRAL.adapter(tmp_path_factory)
    clip = tmp_path / "long.wav"
    sf.write(clip, (np.random.RandomState(0).randn(16000 * 31) * 0.1).astype("float32"), 16000)
    long_item = replace(items[0], context_audio=str(clip))
    inputs = adapter.encode_speech(long_item, PROMPT)
    assert tuple(inputs["input_features"].shape) == (2, 128, 3000)
    assert inputs["input_ids"][0].tolist().count(AUDIO_TOKEN_ID) == 2 * TOKENS_PER_WINDOW
    assert_shared_prefix_matches_naive(adapter, long_item, "s2t", PROMPT)
