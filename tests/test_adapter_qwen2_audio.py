"""The Qwen2-Audio adapter on a tiny random Qwen2-Audio: shared-prefix scoring against S2SBench's
per-candidate procedure, auto detection, and a whole ``score`` run."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, load_adapter, model_types, qwen2_audio  # qwen2_audio: registers it
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_tokenizer_round_trips,
)
from tests.models_speech import build_tiny_qwen2_audio


@pytest.fixture(scope="module")
def tiny_qwen2_audio(tmp_path_factory) -> Path:
    return build_tiny_qwen2_audio(tmp_path_factory.mktemp("tiny-qwen2-audio"))


@pytest.fixture(scope="module")
def adapter(tiny_qwen2_audio):
    return load_adapter(AdapterSpec(str(tiny_qwen2_audio), device="cpu", dtype="float32"), "qwen2-audio")


PROMPT = Prompt.from_profile(load_profile("en"))


def test_tiny_model_loads_back_offline(tiny_qwen2_audio):
    from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor

    processor = AutoProcessor.from_pretrained(tiny_qwen2_audio)
    assert isinstance(processor, Qwen2AudioProcessor)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_qwen2_audio)
    tokenizer = processor.tokenizer
    assert model.config.audio_token_id == tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    for token in ("<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>", "<|endoftext|>"):
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
    expected = (((frames - 1) // 2 + 1) - 2) // 2 + 1  # the encoder's frames: 25 per second
    assert abs(ids.count(tokenizer.convert_tokens_to_ids("<|AUDIO|>")) - expected) <= 1
    prefix = tokenizer(PROMPT.speech_prefix, add_special_tokens=False)["input_ids"]
    assert ids[: len(prefix)] == prefix
    assert ids[len(prefix)] == tokenizer.convert_tokens_to_ids("<|audio_bos|>")
    assert ids[-1] == tokenizer.convert_tokens_to_ids("<|audio_eos|>")
    assert tokenizer.decode(ids).count(item.context[:20]) == 0
    assert inputs["input_features"].shape[-1] == 3000  # the 30 s window
    # the candidates are the same tokens in both modes; the losses differ because the context does
    t2t, s2t = adapter.score(item, "t2t", PROMPT), adapter.score(item, "s2t", PROMPT)
    assert [a.n_tokens for a in t2t] == [b.n_tokens for b in s2t]
    assert [a.loss for a in t2t] != pytest.approx([b.loss for b in s2t], abs=1e-6)


def test_s2t_without_audio_is_an_error(adapter, items):
    from dataclasses import replace

    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_auto_detection(tiny_qwen2_audio):
    assert model_types()["qwen2_audio"] == "qwen2-audio"
    adapter = load_adapter(AdapterSpec(str(tiny_qwen2_audio)))
    assert isinstance(adapter, qwen2_audio.Qwen2Audio)
    assert adapter.modes == ("t2t", "s2t")
    identity = adapter.identity()
    assert identity["adapter"] == "qwen2-audio" and identity["model"] == str(tiny_qwen2_audio)
    if identity["device"] == "cpu":
        assert identity["dtype"] == "float32"


def test_score_run_writes_both_modes_and_degradation(tiny_qwen2_audio, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(tiny_qwen2_audio), device="cpu"))
    assert_results_directory(output, "qwen2-audio", items)
