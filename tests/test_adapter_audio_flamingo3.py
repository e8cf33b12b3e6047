"""The Audio Flamingo 3 adapter on a tiny random AF3: shared-prefix scoring against S2SBench's
per-candidate procedure, auto detection, and a whole ``score`` run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, audio_flamingo3, load_adapter, model_types  # audio_flamingo3: registers it
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_tokenizer_round_trips,
)
from tests.models_af3 import AUDIO_TOKEN, build_tiny_audio_flamingo3

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_af3(tmp_path_factory) -> Path:
    return build_tiny_audio_flamingo3(tmp_path_factory.mktemp("tiny-audio-flamingo-3"))


@pytest.fixture(scope="module")
def adapter(tiny_af3):
    return load_adapter(AdapterSpec(str(tiny_af3), device="cpu", dtype="float32"), "audio-flamingo-3")


PROMPT = Prompt.from_profile(load_profile("en"))


def test_tiny_model_loads_back_offline(tiny_af3):
    from transformers import AudioFlamingo3ForConditionalGeneration, AudioFlamingo3Processor, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_af3)
    assert isinstance(processor, AudioFlamingo3Processor)
    assert processor.audio_token == AUDIO_TOKEN
    model = AudioFlamingo3ForConditionalGeneration.from_pretrained(tiny_af3)
    tokenizer = processor.tokenizer
    assert model.config.audio_token_id == tokenizer.convert_tokens_to_ids(AUDIO_TOKEN) == processor.audio_token_id
    for token in (AUDIO_TOKEN, "<|im_start|>", "<|endoftext|>"):
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
    assert_tokenizer_round_trips(tokenizer)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_shared_prefix_matches_naive(adapter, items, mode):
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(adapter, item, mode, PROMPT)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_batches_of_eight_equal_one_at_a_time_and_naive(adapter, ten_items, mode):
    assert_batches_equal_one_at_a_time_and_naive(adapter, ten_items, mode, PROMPT)


def test_naive_features_once_matches(adapter, items):
    item = next(i for i in items if len(i.candidates) == 4)
    per_candidate = adapter.naive_score(item, "s2t", PROMPT)
    once = adapter.naive_score(item, "s2t", PROMPT, features_per_candidate=False)
    assert [a.loss for a in per_candidate] == pytest.approx([b.loss for b in once], abs=1e-6)


def test_s2t_hears_the_audio_not_the_text(adapter, items):
    import soundfile as sf

    item = items[0]
    inputs = adapter.encode_speech(item, PROMPT)
    tokenizer = adapter.tokenizer
    ids = inputs["input_ids"][0].tolist()
    frames = int(sf.info(item.context_audio).frames) // 160
    expected = (((frames - 1) // 2 + 1) - 2) // 2 + 1  # the encoder's frames after pooling: 25 per second
    audio_id = tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    assert abs(ids.count(audio_id) - expected) <= 1
    prefix = tokenizer(PROMPT.speech_prefix, add_special_tokens=False)["input_ids"]
    assert ids[: len(prefix)] == prefix
    assert ids[len(prefix) :] == [audio_id] * ids.count(audio_id)  # the audio ends the prefix
    assert tokenizer.decode(ids).count(item.context[:20]) == 0
    assert tuple(inputs["input_features"].shape) == (1, 128, 3000)  # one 30 s window
    # the candidates are the same tokens in both modes; the losses differ because the context does
    t2t, s2t = adapter.score(item, "t2t", PROMPT), adapter.score(item, "s2t", PROMPT)
    assert [a.n_tokens for a in t2t] == [b.n_tokens for b in s2t]
    assert [a.loss for a in t2t] != pytest.approx([b.loss for b in s2t], abs=1e-6)


def test_long_audio_is_windowed(adapter, items, tmp_path):
    """A 35 s clip: two 30 s windows, encoded separately, their frames concatenated."""
    import numpy as np
    import soundfile as sf

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


def test_s2t_without_audio_is_an_error(adapter, items):
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_auto_detection(tiny_af3):
    assert model_types()["audioflamingo3"] == "audio-flamingo-3"
    adapter = load_adapter(AdapterSpec(str(tiny_af3)))
    assert isinstance(adapter, audio_flamingo3.AudioFlamingo3)
    assert adapter.modes == ("t2t", "s2t")
    identity = adapter.identity()
    assert identity["adapter"] == "audio-flamingo-3" and identity["model"] == str(tiny_af3)
    if identity["device"] == "cpu":
        assert identity["dtype"] == "float32"


def test_score_run_writes_both_modes_and_degradation(tiny_af3, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(tiny_af3), device="cpu"))
    assert_results_directory(output, "audio-flamingo-3", items)
