"""The Phi-4-multimodal adapter on a tiny random Phi-4-multimodal: shared-prefix scoring against
S2SBench's per-candidate procedure, batches, the audio heard, the speech LoRA without peft, auto
detection, and a whole ``score`` run."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, load_adapter, model_types, phi4_multimodal  # phi4_multimodal: registers it
from s2sbench.scorer.adapters.audio_llm import min_peft_version, read_audio
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_named_special_tokens,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_trained_bpe,
)
from tests.models_phi4 import END, NAMED_TOKENS, build_tiny_phi4_multimodal

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = Prompt.from_profile(load_profile("en"))
AUDIO_TOKEN = NAMED_TOKENS["audio_token"]


@pytest.fixture(scope="module")
def tiny_phi4(tmp_path_factory) -> Path:
    return build_tiny_phi4_multimodal(tmp_path_factory.mktemp("tiny-phi4-multimodal"))


@pytest.fixture(scope="module")
def adapter(tiny_phi4):
    return load_adapter(AdapterSpec(str(tiny_phi4), device="cpu", dtype="float32"), "phi-4-multimodal")


def test_tiny_model_loads_back_offline(tiny_phi4):
    from transformers import AutoConfig, AutoFeatureExtractor, AutoTokenizer, Phi4MultimodalFeatureExtractor

    config = AutoConfig.from_pretrained(tiny_phi4)
    assert config.model_type == "phi4_multimodal"
    assert isinstance(AutoFeatureExtractor.from_pretrained(tiny_phi4), Phi4MultimodalFeatureExtractor)
    tokenizer = AutoTokenizer.from_pretrained(tiny_phi4)
    assert_named_special_tokens(tokenizer, NAMED_TOKENS)
    assert tokenizer.audio_token_id == config.audio_config.audio_token_id
    assert tokenizer.bos_token == tokenizer.eos_token == tokenizer.pad_token == END
    assert_trained_bpe(tokenizer)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_shared_prefix_matches_naive(adapter, items, mode):
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(adapter, item, mode, PROMPT)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_batches_of_eight_equal_one_at_a_time_and_naive(adapter, ten_items, mode):
    # ten_items' clips are 2 to 12 s: a batch holds clips of different lengths, each encoded on its own
    assert_batches_equal_one_at_a_time_and_naive(adapter, ten_items, mode, PROMPT)


def test_s2t_hears_the_audio(adapter, items):
    item = next(i for i in items if len(i.candidates) == 4)
    inputs = adapter.encode_speech(item, PROMPT)
    ids = inputs["input_ids"][0].tolist()
    tokenizer = adapter.tokenizer
    audio_id = tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    prefix = tokenizer(PROMPT.speech_prefix, add_special_tokens=False)["input_ids"]
    assert ids[: len(prefix)] == prefix
    mel_frames = (read_audio(item.context_audio).size - 400) // 160 + 1  # 25 ms windows every 10 ms
    assert ids[len(prefix) :] == [audio_id] * math.ceil(mel_frames / 8)  # the audio ends the prefix, one token per 8 frames
    assert inputs["audio_input_features"].shape[1] == mel_frames
    # other audio, other losses (the candidates are the same tokens)
    other = next(i for i in items if i.id != item.id and i.context_audio)
    heard, elsewhere = adapter.score(item, "s2t", PROMPT), adapter.score(replace(item, context_audio=other.context_audio), "s2t", PROMPT)
    assert [a.n_tokens for a in heard] == [b.n_tokens for b in elsewhere]
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in elsewhere], abs=1e-3)
    text = adapter.score(item, "t2t", PROMPT)
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in text], abs=1e-3)


def test_audio_inputs_match_phi4_multimodal_processor(adapter, tiny_phi4, items):
    """Phi4MultimodalProcessor itself needs torchvision (its image processor); where it is
    installed, the adapter's audio inputs must be exactly the processor's."""
    pytest.importorskip("torchvision")
    import torch
    from transformers import AutoFeatureExtractor, AutoTokenizer, Phi4MultimodalImageProcessor, Phi4MultimodalProcessor

    processor = Phi4MultimodalProcessor(
        image_processor=Phi4MultimodalImageProcessor(), audio_processor=AutoFeatureExtractor.from_pretrained(tiny_phi4),
        tokenizer=AutoTokenizer.from_pretrained(tiny_phi4),
    )
    for item in items:
        ours = adapter.encode_speech(item, PROMPT)
        theirs = processor(text=PROMPT.speech_prefix + adapter.audio_markup, audio=[read_audio(item.context_audio)], return_tensors="pt")
        for key, value in ours.items():
            assert torch.equal(value, theirs[key]), key


def test_modes_it_cannot_score_are_errors(adapter, items):
    with pytest.raises(EngineError, match="phi-4-multimodal cannot score mode 's2s'"):
        adapter.score(items[0], "s2s", PROMPT)
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_another_model_is_refused(tmp_path):
    from transformers import Qwen2Config

    Qwen2Config(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path)
    with pytest.raises(EngineError, match="'qwen2', not a Phi-4-multimodal checkpoint"):
        load_adapter(AdapterSpec(str(tmp_path), device="cpu"), "phi-4-multimodal")


def test_a_speech_lora_checkpoint_without_peft_scores_t2t_and_refuses_s2t(tmp_path, adapter, items):
    import importlib.util

    if importlib.util.find_spec("peft") is not None:
        pytest.skip("peft is installed: it would load the LoRA this checkpoint has no weights for")
    directory = build_tiny_phi4_multimodal(tmp_path / "lora", speech_lora=True)
    with_lora = load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32"), "phi-4-multimodal")
    assert with_lora.identity()["lora"] is False
    item = items[0]
    assert [s.loss for s in with_lora.score(item, "t2t", PROMPT)] == pytest.approx([s.loss for s in adapter.score(item, "t2t", PROMPT)], abs=1e-6)
    with pytest.raises(EngineError, match=re.escape(f"pip install 'peft>={min_peft_version()}'")):
        with_lora.score(item, "s2t", PROMPT)


def test_auto_detection(tiny_phi4):
    assert model_types()["phi4_multimodal"] == "phi-4-multimodal"
    adapter = load_adapter(AdapterSpec(str(tiny_phi4)))
    assert type(adapter) is phi4_multimodal.Phi4Multimodal
    assert adapter.modes == ("t2t", "s2t")
    identity = adapter.identity()
    assert identity["adapter"] == "phi-4-multimodal" and identity["model"] == str(tiny_phi4)
    assert identity["bos"] == {"policy": "auto", "tokens": []}  # GPT2Tokenizer puts nothing before text
    assert identity["lora"] is False


def test_score_run_writes_both_modes_and_degradation(tiny_phi4, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(tiny_phi4), device="cpu"))
    assert_results_directory(output, "phi-4-multimodal", items)


def test_an_audio_token_other_than_the_models_is_refused(tmp_path):
    import json

    directory = build_tiny_phi4_multimodal(tmp_path / "other-token")
    config = json.loads((directory / "config.json").read_text())
    config["audio_config"]["audio_token_id"] += 1  # the encoder's frames would replace another token: its own embedding would be scored
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(EngineError, match="the processor's audio token '<\\|endoftext11\\|>' is"):
        load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32"), "phi-4-multimodal")
