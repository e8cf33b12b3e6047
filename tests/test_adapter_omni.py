"""The Qwen2.5-Omni thinker adapter on a tiny random Qwen2.5-Omni: shared-prefix scoring against
S2SBench's per-candidate procedure, a whole checkpoint loading only its thinker, the audio inputs
against Qwen2_5OmniProcessor's, auto detection, and a whole ``s2s score`` run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, load_adapter, model_types, qwen2_5_omni  # qwen2_5_omni: registers it
from s2sbench.scorer.results import read_scores
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_named_special_tokens,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_tokenizer_round_trips,
)
from tests.models_omni import NAMED_TOKENS, build_tiny_qwen2_5_omni

PROMPT = Prompt.from_profile(load_profile("en"))


@pytest.fixture(scope="session")
def tiny_omni(tmp_path_factory) -> Path:
    """A thinker-only checkpoint (config ``qwen2_5_omni_thinker``)."""
    return build_tiny_qwen2_5_omni(tmp_path_factory.mktemp("tiny-qwen2.5-omni"))


@pytest.fixture(scope="session")
def tiny_omni_whole(tmp_path_factory) -> Path:
    """The same thinker in a whole Qwen2.5-Omni checkpoint (config ``qwen2_5_omni``, ``thinker.`` weights)."""
    return build_tiny_qwen2_5_omni(tmp_path_factory.mktemp("tiny-qwen2.5-omni-whole"), full=True)


@pytest.fixture(scope="module")
def adapter(tiny_omni):
    return load_adapter(AdapterSpec(str(tiny_omni), device="cpu", dtype="float32"), "qwen2.5-omni")


def test_tiny_model_loads_back_offline(tiny_omni, tiny_omni_whole):
    from transformers import AutoConfig, AutoTokenizer

    config, whole = AutoConfig.from_pretrained(tiny_omni), AutoConfig.from_pretrained(tiny_omni_whole)
    assert (config.model_type, whole.model_type) == ("qwen2_5_omni_thinker", "qwen2_5_omni")
    tokenizer = AutoTokenizer.from_pretrained(tiny_omni)
    assert_named_special_tokens(tokenizer, NAMED_TOKENS)
    assert config.audio_token_id == tokenizer.convert_tokens_to_ids("<|AUDIO|>") == whole.thinker_config.audio_token_id
    assert_tokenizer_round_trips(tokenizer)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_shared_prefix_matches_naive(adapter, items, mode):
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(adapter, item, mode, PROMPT)


@pytest.mark.parametrize("mode", ["t2t", "s2t"])
def test_batches_of_eight_equal_one_at_a_time_and_naive(adapter, ten_items, mode):
    assert_batches_equal_one_at_a_time_and_naive(adapter, ten_items, mode, PROMPT)


def test_whole_checkpoint_loads_only_the_thinker(adapter, tiny_omni_whole, items):
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    whole = load_adapter(AdapterSpec(str(tiny_omni_whole), device="cpu", dtype="float32"), "qwen2.5-omni")
    assert type(whole.model) is Qwen2_5OmniThinkerForConditionalGeneration
    item = next(i for i in items if len(i.candidates) == 4)
    for mode in ("t2t", "s2t"):  # the thinker's weights were found under "thinker.", not left random
        assert [s.loss for s in whole.score(item, mode, PROMPT)] == pytest.approx([s.loss for s in adapter.score(item, mode, PROMPT)], abs=1e-6)


def test_audio_inputs_match_qwen2_5_omni_processor(adapter, tiny_omni, items):
    """Qwen2_5OmniProcessor itself needs torchvision (its video processor); where it is installed,
    the adapter's audio inputs must be exactly the processor's."""
    pytest.importorskip("torchvision")
    import torch
    from transformers import AutoFeatureExtractor, AutoTokenizer, Qwen2_5OmniProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from s2sbench.scorer.adapters.qwen2_audio import read_audio

    processor = Qwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessor(), video_processor=Qwen2VLVideoProcessor(),
        feature_extractor=AutoFeatureExtractor.from_pretrained(tiny_omni), tokenizer=AutoTokenizer.from_pretrained(tiny_omni),
    )
    for item in items:
        ours = adapter.encode_speech(item, PROMPT)
        theirs = processor(text=PROMPT.speech_prefix + adapter.audio_markup, audio=read_audio(item.context_audio), return_tensors="pt")
        assert set(ours) == {"input_ids", "attention_mask", "input_features", "feature_attention_mask"}
        for key, value in ours.items():
            assert torch.equal(value, theirs[key]), key


def test_s2t_hears_the_audio_not_the_text(adapter, items):
    import soundfile as sf

    item = items[0]
    inputs = adapter.encode_speech(item, PROMPT)
    tokenizer = adapter.tokenizer
    ids = inputs["input_ids"][0].tolist()
    frames = int(sf.info(item.context_audio).frames) // 160
    expected = (((frames - 1) // 2 + 1) - 2) // 2 + 1  # the encoder's output frames: 25 per second
    audio_id = tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert abs(ids.count(audio_id) - expected) <= 1
    prefix = tokenizer(PROMPT.speech_prefix, add_special_tokens=False)["input_ids"]
    assert ids[: len(prefix)] == prefix
    assert ids[len(prefix)] == tokenizer.convert_tokens_to_ids("<|audio_bos|>")
    assert ids[len(prefix) + 1 : -1] == [audio_id] * ids.count(audio_id)
    assert ids[-1] == tokenizer.convert_tokens_to_ids("<|audio_eos|>")
    assert inputs["feature_attention_mask"].sum().item() == pytest.approx(frames, abs=1)  # the padding is masked out
    # the candidates are the same tokens in both modes; the losses differ because the context does
    t2t, s2t = adapter.score(item, "t2t", PROMPT), adapter.score(item, "s2t", PROMPT)
    assert [a.n_tokens for a in t2t] == [b.n_tokens for b in s2t]
    assert [a.loss for a in t2t] != pytest.approx([b.loss for b in s2t], abs=1e-6)
    # other audio, same text: other losses
    other = replace(item, context_audio=items[1].context_audio)
    assert [a.loss for a in adapter.score(other, "s2t", PROMPT)] != pytest.approx([b.loss for b in s2t], abs=1e-6)


def test_s2t_without_audio_is_an_error(adapter, items):
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_another_model_is_refused(tmp_path):
    from transformers import Qwen2Config

    Qwen2Config(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path)
    with pytest.raises(EngineError, match="'qwen2', not a Qwen2.5-Omni checkpoint"):
        load_adapter(AdapterSpec(str(tmp_path), device="cpu"), "qwen2.5-omni")


def test_auto_detection(tiny_omni, tiny_omni_whole):
    assert model_types()["qwen2_5_omni"] == model_types()["qwen2_5_omni_thinker"] == "qwen2.5-omni"
    for directory in (tiny_omni, tiny_omni_whole):
        adapter = load_adapter(AdapterSpec(str(directory), device="cpu"))
        assert isinstance(adapter, qwen2_5_omni.Qwen2_5Omni)
        assert adapter.modes == ("t2t", "s2t")
        identity = adapter.identity()
        assert identity == {"adapter": "qwen2.5-omni", "model": str(directory), "dtype": "float32", "device": "cpu", "bos": {"policy": "auto", "tokens": []}}


def test_score_command_writes_both_modes_and_degradation(tiny_omni, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    result = CliRunner().invoke(app, ["score", str(spoken_build), "--model", str(tiny_omni), "-o", str(output), "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "| story | s2t |" in result.output and "| question | t2t |" in result.output
    assert_results_directory(output, "qwen2.5-omni", items)  # picked by --adapter auto, the default


def test_score_run_with_batch_size_one_equals_eight(tiny_omni, ten_build, tmp_path):
    for size in (1, 8):
        score(ScoreOptions(source=str(ten_build), output=tmp_path / str(size), model=str(tiny_omni), device="cpu", batch_size=size))
    one, eight = read_scores(tmp_path / "1"), read_scores(tmp_path / "8")
    assert one.keys() == eight.keys() and len(one) == 20  # 10 items, 2 modes
    for key, entry in one.items():
        assert entry["n_tokens"] == eight[key]["n_tokens"]
        assert [entry["losses"][k] for k in sorted(entry["losses"])] == pytest.approx([eight[key]["losses"][k] for k in sorted(entry["losses"])], abs=1e-4)
