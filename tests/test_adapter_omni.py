"""The Qwen2.5-Omni thinker adapter's own checks on a tiny random Qwen2.5-Omni: the thinker-only and
the whole checkpoint as reloaded, the audio inputs the thinker takes, and a ``score`` run's batch
size. What every adapter must do is checked in tests/test_adapter_families.py."""

from __future__ import annotations

import pytest

from s2sbench.scorer.results import read_scores
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import assert_named_special_tokens, assert_tokenizer_round_trips
from tests.models_omni import NAMED_TOKENS
from tests.test_adapter_families import PROMPT, family_named, mel_frames

pytestmark = pytest.mark.usefixtures("one_torch_thread")

OMNI = family_named("qwen2.5-omni")


def test_tiny_model_loads_back_offline(tmp_path_factory):
    from transformers import AutoConfig, AutoTokenizer

    thinker, whole = OMNI.directory(tmp_path_factory), OMNI.directory(tmp_path_factory, **OMNI.whole)
    config, whole_config = AutoConfig.from_pretrained(thinker), AutoConfig.from_pretrained(whole)
    assert (config.model_type, whole_config.model_type) == ("qwen2_5_omni_thinker", "qwen2_5_omni")
    tokenizer = AutoTokenizer.from_pretrained(thinker)
    assert_named_special_tokens(tokenizer, NAMED_TOKENS)
    assert config.audio_token_id == tokenizer.convert_tokens_to_ids("<|AUDIO|>") == whole_config.thinker_config.audio_token_id
    assert_tokenizer_round_trips(tokenizer)


def test_the_thinker_takes_the_features_and_their_mask(tmp_path_factory, items):
    adapter = OMNI.adapter(tmp_path_factory)
    for item in items:
        inputs = adapter.encode_speech(item, PROMPT)
        assert set(inputs) == {"input_ids", "attention_mask", "input_features", "feature_attention_mask"}
        assert inputs["feature_attention_mask"].sum().item() == pytest.approx(mel_frames(item.context_audio), abs=1)  # the padding is masked out


def test_score_run_with_batch_size_one_equals_eight(tmp_path_factory, ten_build, tmp_path):
    for size in (1, 8):
        score(ScoreOptions(source=str(ten_build), output=tmp_path / str(size), model=str(OMNI.directory(tmp_path_factory)), device="cpu",
                           batch_size=size))
    one, eight = read_scores(tmp_path / "1"), read_scores(tmp_path / "8")
    assert one.keys() == eight.keys() and len(one) == 20  # 10 items, 2 modes
    for key, entry in one.items():
        assert entry["n_tokens"] == eight[key]["n_tokens"]
        assert [entry["losses"][k] for k in sorted(entry["losses"])] == pytest.approx([eight[key]["losses"][k] for k in sorted(entry["losses"])], abs=1e-4)
