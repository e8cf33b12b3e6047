"""The Qwen3-Omni thinker adapter on a tiny random Qwen3-Omni (a mixture of experts): shared-prefix
scoring against S2SBench's per-candidate procedure, batches, a whole checkpoint loading only its
thinker, the audio inputs as Qwen3OmniMoeProcessor makes them, auto detection, and a whole
``score`` run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, load_adapter, model_types, qwen3_omni  # qwen3_omni: registers it
from s2sbench.scorer.adapters.audio_llm import read_audio
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_named_special_tokens,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_tokenizer_round_trips,
)
from tests.models_qwen3_omni import EXPERTS, NAMED_TOKENS, build_tiny_qwen3_omni

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = Prompt.from_profile(load_profile("en"))


@pytest.fixture(scope="module")
def tiny_qwen3_omni(tmp_path_factory) -> Path:
    """A thinker-only checkpoint (config ``qwen3_omni_moe_thinker``)."""
    return build_tiny_qwen3_omni(tmp_path_factory.mktemp("tiny-qwen3-omni"))


@pytest.fixture(scope="module")
def tiny_qwen3_omni_whole(tmp_path_factory) -> Path:
    """The same thinker in a whole Qwen3-Omni checkpoint (config ``qwen3_omni_moe``, ``thinker.`` weights)."""
    return build_tiny_qwen3_omni(tmp_path_factory.mktemp("tiny-qwen3-omni-whole"), full=True)


@pytest.fixture(scope="module")
def adapter(tiny_qwen3_omni):
    return load_adapter(AdapterSpec(str(tiny_qwen3_omni), device="cpu", dtype="float32"), "qwen3-omni")


def test_tiny_model_loads_back_offline(tiny_qwen3_omni, tiny_qwen3_omni_whole):
    from transformers import AutoConfig, AutoTokenizer

    config, whole = AutoConfig.from_pretrained(tiny_qwen3_omni), AutoConfig.from_pretrained(tiny_qwen3_omni_whole)
    assert (config.model_type, whole.model_type) == ("qwen3_omni_moe_thinker", "qwen3_omni_moe")
    assert config.text_config.num_experts == EXPERTS  # a mixture of experts, as the released thinker is
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3_omni)
    assert_named_special_tokens(tokenizer, NAMED_TOKENS)
    assert config.audio_token_id == tokenizer.convert_tokens_to_ids("<|audio_pad|>") == whole.thinker_config.audio_token_id
    assert_tokenizer_round_trips(tokenizer)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_shared_prefix_matches_naive(adapter, items, mode):
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(adapter, item, mode, PROMPT)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_batches_of_eight_equal_one_at_a_time_and_naive(adapter, ten_items, mode):
    # ten_items' clips are 2 to 12 s: a batch pads shorter clips' features, which the encoder must not hear
    assert_batches_equal_one_at_a_time_and_naive(adapter, ten_items, mode, PROMPT)


def test_whole_checkpoint_loads_only_the_thinker(adapter, tiny_qwen3_omni_whole, items):
    from transformers import Qwen3OmniMoeThinkerForConditionalGeneration

    whole = load_adapter(AdapterSpec(str(tiny_qwen3_omni_whole), device="cpu", dtype="float32"), "qwen3-omni")
    assert type(whole.model) is Qwen3OmniMoeThinkerForConditionalGeneration
    item = next(i for i in items if len(i.candidates) == 4)
    for mode in ("t2t", "s2t"):  # the thinker's weights were found under "thinker.", not left random
        assert [s.loss for s in whole.score(item, mode, PROMPT)] == pytest.approx([s.loss for s in adapter.score(item, mode, PROMPT)], abs=1e-6)


def test_audio_inputs_follow_qwen3_omni_processor(adapter, items):
    """The features are the feature extractor's called as Qwen3OmniMoeProcessor calls it (its
    declared audio defaults: the clip whole, neither padded to a window nor cut)."""
    import torch
    from transformers import Qwen3OmniMoeProcessor

    for item in items:
        samples = read_audio(item.context_audio)
        ours = adapter.encode_speech(item, PROMPT)
        theirs = adapter.processor.feature_extractor([samples], return_tensors="pt", **Qwen3OmniMoeProcessor.audio_kwargs)
        assert torch.equal(ours["input_features"], theirs["input_features"])
        assert torch.equal(ours["feature_attention_mask"], theirs["attention_mask"])
        assert ours["input_features"].shape[-1] == samples.size // 160  # 100 mel frames a second, no padding


def test_audio_inputs_match_qwen3_omni_processor(adapter, tiny_qwen3_omni, items):
    """Qwen3OmniMoeProcessor itself needs torchvision (its image and video processors); where it is
    installed, the adapter's audio inputs must be exactly the processor's."""
    pytest.importorskip("torchvision")
    import torch
    from transformers import AutoFeatureExtractor, AutoTokenizer, Qwen2VLImageProcessor, Qwen2VLVideoProcessor, Qwen3OmniMoeProcessor

    processor = Qwen3OmniMoeProcessor(
        image_processor=Qwen2VLImageProcessor(), video_processor=Qwen2VLVideoProcessor(),
        feature_extractor=AutoFeatureExtractor.from_pretrained(tiny_qwen3_omni), tokenizer=AutoTokenizer.from_pretrained(tiny_qwen3_omni),
    )
    for item in items:
        ours = adapter.encode_speech(item, PROMPT)
        theirs = processor(text=PROMPT.speech_prefix + adapter.audio_markup, audio=[read_audio(item.context_audio)], return_tensors="pt")
        for key, value in ours.items():
            assert torch.equal(value, theirs[key]), key


def test_s2t_hears_the_audio_not_the_text(adapter, items):
    import soundfile as sf

    item = items[0]
    ids = adapter.encode_speech(item, PROMPT)["input_ids"][0].tolist()
    tokenizer = adapter.tokenizer
    frames = int(sf.info(item.context_audio).frames) // 160
    rest = (frames % 100 - 1) // 2 + 1  # the last partial 1 s chunk through three stride-2 convolutions
    expected = (frames // 100) * 13 + ((rest - 1) // 2 + 1 - 1) // 2 + 1  # 13 output frames per full chunk
    audio_id = tokenizer.convert_tokens_to_ids("<|audio_pad|>")
    assert ids.count(audio_id) == expected
    prefix = tokenizer(PROMPT.speech_prefix, add_special_tokens=False)["input_ids"]
    assert ids[: len(prefix)] == prefix
    assert ids[len(prefix)] == tokenizer.convert_tokens_to_ids("<|audio_start|>")
    assert ids[len(prefix) + 1 : -1] == [audio_id] * expected
    assert ids[-1] == tokenizer.convert_tokens_to_ids("<|audio_end|>")
    # the candidates are the same tokens in both modes; the losses differ because the context does
    t2t, s2t = adapter.score(item, "t2t", PROMPT), adapter.score(item, "s2t", PROMPT)
    assert [a.n_tokens for a in t2t] == [b.n_tokens for b in s2t]
    assert [a.loss for a in t2t] != pytest.approx([b.loss for b in s2t], abs=1e-3)
    # other audio, same text: other losses
    other = replace(item, context_audio=items[1].context_audio)
    assert [a.loss for a in adapter.score(other, "s2t", PROMPT)] != pytest.approx([b.loss for b in s2t], abs=1e-3)


def test_modes_it_cannot_score_are_errors(adapter, items):
    with pytest.raises(EngineError, match="qwen3-omni cannot score mode 's2s'"):
        adapter.score(items[0], "s2s", PROMPT)
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_another_model_is_refused(tmp_path):
    from transformers import Qwen2Config

    Qwen2Config(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path)
    with pytest.raises(EngineError, match="'qwen2', not a Qwen3-Omni checkpoint"):
        load_adapter(AdapterSpec(str(tmp_path), device="cpu"), "qwen3-omni")


def test_auto_detection(tiny_qwen3_omni, tiny_qwen3_omni_whole):
    assert model_types()["qwen3_omni_moe"] == model_types()["qwen3_omni_moe_thinker"] == "qwen3-omni"
    for directory in (tiny_qwen3_omni, tiny_qwen3_omni_whole):
        adapter = load_adapter(AdapterSpec(str(directory), device="cpu"))
        assert type(adapter) is qwen3_omni.Qwen3Omni
        assert adapter.modes == ("t2t", "s2t")
        identity = adapter.identity()
        assert identity == {"adapter": "qwen3-omni", "model": str(directory), "dtype": "float32", "device": "cpu", "bos": {"policy": "auto", "tokens": []}}


def test_score_run_writes_both_modes_and_degradation(tiny_qwen3_omni, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(tiny_qwen3_omni), device="cpu"))
    assert_results_directory(output, "qwen3-omni", items)  # picked by --adapter auto, the default
