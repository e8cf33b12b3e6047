"""The Gemma 3n adapter on a tiny random Gemma 3n: shared-prefix scoring against S2SBench's
per-candidate procedure, batches, the audio heard, the logit soft cap, auto detection, and a whole
``score`` run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, gemma3n, load_adapter, model_types
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_trained_bpe,
)
from tests.models_gemma3n import AUDIO_SOFT_TOKENS, NAMED_TOKENS, SOFT_CAP, build_tiny_gemma3n

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = Prompt.from_profile(load_profile("en"))


@pytest.fixture(scope="module")
def tiny_gemma3n(tmp_path_factory) -> Path:
    return build_tiny_gemma3n(tmp_path_factory.mktemp("gemma3n"))


@pytest.fixture(scope="module")
def adapter(tiny_gemma3n):
    return load_adapter(AdapterSpec(str(tiny_gemma3n), device="cpu", dtype="float32"), "gemma-3n")


def test_tiny_model_loads_back_offline(tiny_gemma3n):
    from transformers import AutoConfig, AutoProcessor, Gemma3nForConditionalGeneration, Gemma3nProcessor, GemmaTokenizer

    processor = AutoProcessor.from_pretrained(tiny_gemma3n)
    assert isinstance(processor, Gemma3nProcessor) and isinstance(processor.tokenizer, GemmaTokenizer)
    config = AutoConfig.from_pretrained(tiny_gemma3n)
    assert config.model_type == "gemma3n" and config.text_config.final_logit_softcapping == SOFT_CAP
    tokenizer = processor.tokenizer
    for name, token in NAMED_TOKENS.items():
        assert getattr(tokenizer, name) == token
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
    model = Gemma3nForConditionalGeneration.from_pretrained(tiny_gemma3n)
    # the layout the model's embedders rely on: audio tokens past the vision block, past the text vocabulary
    assert model.config.audio_token_id == tokenizer.audio_token_id >= config.audio_config.vocab_offset > config.vision_config.vocab_offset
    assert tokenizer.convert_tokens_to_ids(tokenizer.boa_token) < config.text_config.vocab_size_per_layer_input  # a text token
    assert_trained_bpe(tokenizer, "<bos>")


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_shared_prefix_matches_naive(adapter, items, mode):
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(adapter, item, mode, PROMPT)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_batches_of_eight_equal_one_at_a_time_and_naive(adapter, ten_items, mode):
    # ten_items' clips are 2 to 12 s: in a batch, clips padded to the longest
    assert_batches_equal_one_at_a_time_and_naive(adapter, ten_items, mode, PROMPT)


def test_s2t_hears_the_audio_as_a_block_of_188_tokens(adapter, items):
    item = next(i for i in items if len(i.candidates) == 4)
    inputs = adapter.encode_speech(item, PROMPT)
    ids = inputs["input_ids"][0].tolist()
    tokenizer = adapter.tokenizer
    audio, boa, eoa = (tokenizer.convert_tokens_to_ids(t) for t in (tokenizer.audio_token, tokenizer.boa_token, tokenizer.eoa_token))
    newlines = tokenizer("\n\n", add_special_tokens=False)["input_ids"]
    prefix = tokenizer(PROMPT.speech_prefix)["input_ids"]  # with <bos>, as the tokenizer starts text
    assert ids[0] == tokenizer.bos_token_id
    block = newlines + [boa] + [audio] * AUDIO_SOFT_TOKENS + [eoa] + newlines
    assert ids == prefix + block  # the audio block ends the prefix
    # other audio, other losses (the candidates are the same tokens)
    other = next(i for i in items if i.id != item.id and i.context_audio)
    heard, elsewhere = adapter.score(item, "s2t", PROMPT), adapter.score(replace(item, context_audio=other.context_audio), "s2t", PROMPT)
    assert [a.n_tokens for a in heard] == [b.n_tokens for b in elsewhere]
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in elsewhere], abs=1e-3)


def test_the_head_applies_the_soft_cap(adapter, items):
    """Without the cap the shared path would differ from the model's own forward: the tiny model's
    cap (2) is below its largest logits' reach, so it moves every loss."""
    import torch

    item = items[0]
    capped = adapter.score(item, "t2t", PROMPT)
    head = adapter.head
    assert head.cap == SOFT_CAP
    try:
        adapter.head = head.head  # the plain LM head
        uncapped = adapter.score(item, "t2t", PROMPT)
    finally:
        adapter.head = head
    assert [a.loss for a in capped] != pytest.approx([b.loss for b in uncapped], abs=1e-3)
    with torch.inference_mode():
        logits = head(torch.randn(3, adapter.model.config.text_config.hidden_size) * 50)
    assert float(logits.abs().max()) <= SOFT_CAP


def test_modes_it_cannot_score_are_errors(adapter, items):
    with pytest.raises(EngineError, match="gemma-3n cannot score mode 's2s'"):
        adapter.score(items[0], "s2s", PROMPT)
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_a_clip_past_30_s_is_a_warning(adapter, items, tmp_path):
    import numpy as np
    import soundfile as sf

    long_clip = tmp_path / "long.wav"
    sf.write(long_clip, np.zeros(16000 * 31, dtype="float32"), 16000)
    with pytest.warns(UserWarning, match="hears only 30 s"):
        adapter.read_context_audio(replace(items[0], context_audio=str(long_clip)))


def test_without_timm_loading_names_the_extra(tiny_gemma3n, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "timm" else find_spec(name, *a))
    with pytest.raises(EngineError, match=r"needs timm .*pip install 's2sbench\[gemma3n\]'"):
        load_adapter(AdapterSpec(str(tiny_gemma3n), device="cpu", dtype="float32"), "gemma-3n")


def test_auto_detection(tiny_gemma3n):
    assert model_types()["gemma3n"] == "gemma-3n"
    adapter = load_adapter(AdapterSpec(str(tiny_gemma3n)))
    assert type(adapter) is gemma3n.Gemma3n
    assert adapter.modes == ("t2t", "s2t")
    identity = adapter.identity()
    assert identity["adapter"] == "gemma-3n" and identity["model"] == str(tiny_gemma3n)
    assert identity["bos"] == {"policy": "auto", "tokens": [adapter.tokenizer.bos_token_id]}  # Gemma's tokenizer starts text with <bos>


def test_score_run_writes_both_modes_and_degradation(tiny_gemma3n, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(tiny_gemma3n), device="cpu"))
    assert_results_directory(output, "gemma-3n", items)
