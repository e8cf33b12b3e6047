"""The Audio Flamingo 3 adapter's own checks on a tiny random AF3: the model as reloaded, and clips
of 30 s windows, one or several. What every adapter must do is checked in
tests/test_adapter_families.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.adapter_checks import assert_shared_prefix_matches_naive, assert_tokenizer_round_trips
from tests.models_af3 import AUDIO_TOKEN
from tests.test_adapter_families import PROMPT, family_named

pytestmark = pytest.mark.usefixtures("one_torch_thread")

AUDIO_FLAMINGO3 = family_named("audio-flamingo-3")


def test_tiny_model_loads_back_offline(tmp_path_factory):
    from transformers import AudioFlamingo3ForConditionalGeneration, AudioFlamingo3Processor, AutoProcessor

    directory = AUDIO_FLAMINGO3.directory(tmp_path_factory)
    processor = AutoProcessor.from_pretrained(directory)
    assert isinstance(processor, AudioFlamingo3Processor)
    assert processor.audio_token == AUDIO_TOKEN
    model = AudioFlamingo3ForConditionalGeneration.from_pretrained(directory)
    tokenizer = processor.tokenizer
    assert model.config.audio_token_id == tokenizer.convert_tokens_to_ids(AUDIO_TOKEN) == processor.audio_token_id
    for token in (AUDIO_TOKEN, "<|im_start|>", "<|endoftext|>"):
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
    assert_tokenizer_round_trips(tokenizer)


def test_a_short_clip_is_one_30_s_window(tmp_path_factory, items):
    assert tuple(AUDIO_FLAMINGO3.adapter(tmp_path_factory).encode_speech(items[0], PROMPT)["input_features"].shape) == (1, 128, 3000)


def test_long_audio_is_windowed(tmp_path_factory, items, tmp_path):
    """A 35 s clip: two 30 s windows, encoded separately, their frames concatenated."""
    import numpy as np
    import soundfile as sf

    adapter = AUDIO_FLAMINGO3.adapter(tmp_path_factory)
    item = next(i for i in items if len(i.candidates) == 4)
    samples, rate = sf.read(item.context_audio, dtype="float32")
    long = np.resize(samples, 35 * rate)
    path = tmp_path / "long.wav"
    sf.write(path, long, rate)
    long_item = replace(item, context_audio=str(path))
    inputs = adapter.encode_speech(long_item, PROMPT)
    assert inputs["input_features"].shape[0] == 2
    assert (inputs["input_ids"] == adapter.model.config.audio_token_id).sum().item() == pytest.approx(35 * 25, abs=2)
    assert_shared_prefix_matches_naive(adapter, long_item, "s2t", PROMPT)
    # s2t hears the audio: other audio, other losses
    other, original = adapter.score(long_item, "s2t", PROMPT), adapter.score(item, "s2t", PROMPT)
    assert [a.loss for a in other] != pytest.approx([b.loss for b in original], abs=1e-6)
