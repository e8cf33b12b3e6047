"""The Qwen3-Omni thinker adapter's own checks on a tiny random Qwen3-Omni (a mixture of experts):
the thinker-only and the whole checkpoint as reloaded, and the audio features as
Qwen3OmniMoeProcessor makes them. What every adapter must do is checked in
tests/test_adapter_families.py."""

from __future__ import annotations

import pytest

from s2sbench.scorer.adapters.audio_llm import read_audio
from tests.adapter_checks import assert_named_special_tokens, assert_tokenizer_round_trips
from tests.models_qwen3_omni import EXPERTS, NAMED_TOKENS
from tests.test_adapter_families import PROMPT, family_named

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QWEN3_OMNI = family_named("qwen3-omni")


def test_tiny_model_loads_back_offline(tmp_path_factory):
    from transformers import AutoConfig, AutoTokenizer

    thinker, whole = QWEN3_OMNI.directory(tmp_path_factory), QWEN3_OMNI.directory(tmp_path_factory, **QWEN3_OMNI.whole)
    config, whole_config = AutoConfig.from_pretrained(thinker), AutoConfig.from_pretrained(whole)
    assert (config.model_type, whole_config.model_type) == ("qwen3_omni_moe_thinker", "qwen3_omni_moe")
    assert config.text_config.num_experts == EXPERTS  # a mixture of experts, as the released thinker is
    tokenizer = AutoTokenizer.from_pretrained(thinker)
    assert_named_special_tokens(tokenizer, NAMED_TOKENS)
    assert config.audio_token_id == tokenizer.convert_tokens_to_ids("<|audio_pad|>") == whole_config.thinker_config.audio_token_id
    assert_tokenizer_round_trips(tokenizer)


def test_audio_inputs_follow_qwen3_omni_processor(tmp_path_factory, items):
    """The features are the feature extractor's called as Qwen3OmniMoeProcessor calls it (its
    declared audio defaults: the clip whole, neither padded to a window nor cut)."""
    import torch
    from transformers import Qwen3OmniMoeProcessor

    adapter = QWEN3_OMNI.adapter(tmp_path_factory)
    for item in items:
        samples = read_audio(item.context_audio)
        ours = adapter.encode_speech(item, PROMPT)
        theirs = adapter.processor.feature_extractor([samples], return_tensors="pt", **Qwen3OmniMoeProcessor.audio_kwargs)
        assert torch.equal(ours["input_features"], theirs["input_features"])
        assert torch.equal(ours["feature_attention_mask"], theirs["attention_mask"])
        assert ours["input_features"].shape[-1] == samples.size // 160  # 100 mel frames a second, no padding
