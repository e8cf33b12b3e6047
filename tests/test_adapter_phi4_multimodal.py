"""The Phi-4-multimodal adapter's own checks on a tiny random Phi-4-multimodal: the model as
reloaded, its audio features, and an audio token other than the model's. What every adapter must
do is checked in tests/test_adapter_families.py."""

from __future__ import annotations

import json

import pytest

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import AdapterSpec, load_adapter
from s2sbench.scorer.adapters.audio_llm import read_audio
from tests.adapter_checks import assert_named_special_tokens, assert_trained_bpe
from tests.models_phi4 import END, NAMED_TOKENS, build_tiny_phi4_multimodal
from tests.test_adapter_families import PROMPT, family_named

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PHI4 = family_named("phi-4-multimodal")


def test_tiny_model_loads_back_offline(tmp_path_factory):
    from transformers import AutoConfig, AutoFeatureExtractor, AutoTokenizer, Phi4MultimodalFeatureExtractor

    directory = PHI4.directory(tmp_path_factory)
    config = AutoConfig.from_pretrained(directory)
    assert config.model_type == "phi4_multimodal"
    assert isinstance(AutoFeatureExtractor.from_pretrained(directory), Phi4MultimodalFeatureExtractor)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    assert_named_special_tokens(tokenizer, NAMED_TOKENS)
    assert tokenizer.audio_token_id == config.audio_config.audio_token_id
    assert tokenizer.bos_token == tokenizer.eos_token == tokenizer.pad_token == END
    assert_trained_bpe(tokenizer)


def test_the_features_are_the_clips_mel_frames(tmp_path_factory, items):
    adapter = PHI4.adapter(tmp_path_factory)
    for item in items:
        mel_frames = (read_audio(item.context_audio).size - 400) // 160 + 1  # 25 ms windows every 10 ms
        assert adapter.encode_speech(item, PROMPT)["audio_input_features"].shape[1] == mel_frames


def test_an_audio_token_other_than_the_models_is_refused(tmp_path):
    directory = build_tiny_phi4_multimodal(tmp_path / "other-token")
    config = json.loads((directory / "config.json").read_text())
    config["audio_config"]["audio_token_id"] += 1  # the encoder's frames would replace another token: its own embedding would be scored
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(EngineError, match="the processor's audio token '<\\|endoftext11\\|>' is"):
        load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32"), "phi-4-multimodal")
