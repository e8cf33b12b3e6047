"""The Voxtral adapter on a tiny random Voxtral: shared-prefix scoring against S2SBench's
per-candidate procedure, batches, the audio block against Voxtral's own chat template, windows of
30 s, auto detection, and a whole ``score`` run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, load_adapter, model_types, voxtral
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_trained_bpe,
)
from tests.models_voxtral import AUDIO_TOKEN_ID, BEGIN_AUDIO_ID, TOKENS_PER_WINDOW, build_tiny_voxtral

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = Prompt.from_profile(load_profile("en"))


@pytest.fixture(scope="module")
def tiny_voxtral(tmp_path_factory) -> Path:
    return build_tiny_voxtral(tmp_path_factory.mktemp("voxtral"))


@pytest.fixture(scope="module")
def adapter(tiny_voxtral):
    return load_adapter(AdapterSpec(str(tiny_voxtral), device="cpu", dtype="float32"), "voxtral")


def test_tiny_model_loads_back_offline(tiny_voxtral):
    from transformers import AutoConfig, AutoProcessor, MistralCommonBackend, VoxtralForConditionalGeneration, VoxtralProcessor

    processor = AutoProcessor.from_pretrained(tiny_voxtral)
    assert isinstance(processor, VoxtralProcessor) and isinstance(processor.tokenizer, MistralCommonBackend)
    assert AutoConfig.from_pretrained(tiny_voxtral).model_type == "voxtral"
    tokenizer = processor.tokenizer
    assert processor.audio_token == "[AUDIO]" and tokenizer.convert_tokens_to_ids("[AUDIO]") == AUDIO_TOKEN_ID
    assert tokenizer.convert_tokens_to_ids("[BEGIN_AUDIO]") == BEGIN_AUDIO_ID
    model = VoxtralForConditionalGeneration.from_pretrained(tiny_voxtral)
    assert model.config.audio_token_id == AUDIO_TOKEN_ID
    assert_trained_bpe(tokenizer, "<s>")


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_shared_prefix_matches_naive(adapter, items, mode):
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(adapter, item, mode, PROMPT)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_batches_of_eight_equal_one_at_a_time_and_naive(adapter, ten_items, mode):
    assert_batches_equal_one_at_a_time_and_naive(adapter, ten_items, mode, PROMPT)


def test_the_audio_block_is_the_one_voxtrals_chat_template_makes(adapter, items):
    """The adapter's [BEGIN_AUDIO] [AUDIO]x375 and features equal what VoxtralProcessor.apply_chat_template
    (mistral-common's audio encoder) makes of the same clip."""
    import torch

    item = next(i for i in items if len(i.candidates) == 4)
    inputs = adapter.encode_speech(item, PROMPT)
    ids = inputs["input_ids"][0].tolist()
    tokenizer = adapter.tokenizer
    prefix = tokenizer(PROMPT.speech_prefix)["input_ids"]  # with <s>, as the tokenizer starts text
    block = [BEGIN_AUDIO_ID] + [AUDIO_TOKEN_ID] * TOKENS_PER_WINDOW
    assert ids == prefix + block
    conversation = [{"role": "user", "content": [{"type": "audio", "path": item.context_audio}]}]
    template = adapter.processor.apply_chat_template(conversation, tokenize=True, return_dict=True)
    template_ids = template["input_ids"][0].tolist()
    start = template_ids.index(BEGIN_AUDIO_ID)
    assert template_ids[start : start + len(block) + 1] == block + [tokenizer.convert_tokens_to_ids("[/INST]")]
    assert torch.allclose(inputs["input_features"], template["input_features"], atol=1e-5)


def test_a_clip_past_30_s_is_two_windows(adapter, items, tmp_path):
    import numpy as np
    import soundfile as sf

    clip = tmp_path / "long.wav"
    sf.write(clip, (np.random.RandomState(0).randn(16000 * 31) * 0.1).astype("float32"), 16000)
    long_item = replace(items[0], context_audio=str(clip))
    inputs = adapter.encode_speech(long_item, PROMPT)
    assert tuple(inputs["input_features"].shape) == (2, 128, 3000)
    assert inputs["input_ids"][0].tolist().count(AUDIO_TOKEN_ID) == 2 * TOKENS_PER_WINDOW
    assert_shared_prefix_matches_naive(adapter, long_item, "s2t", PROMPT)


def test_s2t_hears_the_audio(adapter, items):
    item = next(i for i in items if len(i.candidates) == 4)
    other = next(i for i in items if i.id != item.id and i.context_audio)
    heard, elsewhere = adapter.score(item, "s2t", PROMPT), adapter.score(replace(item, context_audio=other.context_audio), "s2t", PROMPT)
    assert [a.n_tokens for a in heard] == [b.n_tokens for b in elsewhere]
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in elsewhere], abs=1e-3)
    text = adapter.score(item, "t2t", PROMPT)
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in text], abs=1e-3)


def test_modes_it_cannot_score_are_errors(adapter, items):
    with pytest.raises(EngineError, match="voxtral cannot score mode 's2s'"):
        adapter.score(items[0], "s2s", PROMPT)
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_without_mistral_common_loading_names_the_extra(tiny_voxtral, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mistral_common" else find_spec(name, *a))
    with pytest.raises(EngineError, match=r"needs mistral-common: pip install 's2sbench\[voxtral\]'"):
        load_adapter(AdapterSpec(str(tiny_voxtral), device="cpu", dtype="float32"), "voxtral")


def test_auto_detection(tiny_voxtral):
    assert model_types()["voxtral"] == "voxtral"
    adapter = load_adapter(AdapterSpec(str(tiny_voxtral)))
    assert type(adapter) is voxtral.Voxtral
    assert adapter.modes == ("t2t", "s2t")
    identity = adapter.identity()
    assert identity["adapter"] == "voxtral" and identity["model"] == str(tiny_voxtral)
    assert identity["bos"] == {"policy": "auto", "tokens": [adapter.tokenizer.bos_token_id]}  # tekken starts text with <s>


def test_score_run_writes_both_modes_and_degradation(tiny_voxtral, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(tiny_voxtral), device="cpu"))
    assert_results_directory(output, "voxtral", items)
