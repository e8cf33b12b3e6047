"""The Granite Speech adapters on a tiny random Granite Speech and Granite Speech Plus: shared-prefix
scoring against S2SBench's per-candidate procedure, batches, the audio heard, auto detection, and a
whole ``score`` run."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, granite_speech, load_adapter, model_types  # granite_speech: registers it
from s2sbench.scorer.adapters.audio_llm import min_peft_version, speech_lm_class
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    assert_trained_bpe,
)
from tests.models_granite import AUDIO_TOKEN, END, build_tiny_granite_speech

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = Prompt.from_profile(load_profile("en"))


# adapter name -> (its class, the config model_type, a Granite Speech Plus?)
FAMILIES = {
    "granite-speech": (granite_speech.GraniteSpeech, "granite_speech", False),
    "granite-speech-plus": (granite_speech.GraniteSpeechPlus, "granite_speech_plus", True),
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def tiny_granite(tmp_path_factory, name) -> Path:
    return build_tiny_granite_speech(tmp_path_factory.mktemp(name), plus=FAMILIES[name][2])


@pytest.fixture(scope="module")
def adapter(tiny_granite, name):
    return load_adapter(AdapterSpec(str(tiny_granite), device="cpu", dtype="float32"), name)


def test_tiny_model_loads_back_offline(tiny_granite, name):
    from transformers import AutoConfig, AutoProcessor, GPT2Tokenizer, GraniteSpeechProcessor

    processor = AutoProcessor.from_pretrained(tiny_granite)
    assert isinstance(processor, GraniteSpeechProcessor) and isinstance(processor.tokenizer, GPT2Tokenizer)
    assert processor.audio_token == AUDIO_TOKEN
    assert AutoConfig.from_pretrained(tiny_granite).model_type == FAMILIES[name][1]
    model = speech_lm_class(FAMILIES[name][0].entry.model_class, name).from_pretrained(tiny_granite)
    tokenizer = processor.tokenizer
    assert model.config.audio_token_id == tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    for token in (AUDIO_TOKEN, "<|start_of_role|>", END):
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
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
    import soundfile as sf

    item = next(i for i in items if len(i.candidates) == 4)
    inputs = adapter.encode_speech(item, PROMPT)
    ids = inputs["input_ids"][0].tolist()
    tokenizer = adapter.tokenizer
    audio_id = tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    prefix = tokenizer(PROMPT.speech_prefix, add_special_tokens=False)["input_ids"]
    assert ids[: len(prefix)] == prefix
    assert ids[len(prefix) :] == [audio_id] * ids.count(audio_id)  # the audio ends the prefix
    seconds = sf.info(item.context_audio).duration
    assert ids.count(audio_id) == pytest.approx(10 * seconds, abs=3)  # 10 a second, in steps of 3
    # other audio, other losses (the candidates are the same tokens)
    other = next(i for i in items if i.id != item.id and i.context_audio)
    heard, elsewhere = adapter.score(item, "s2t", PROMPT), adapter.score(replace(item, context_audio=other.context_audio), "s2t", PROMPT)
    assert [a.n_tokens for a in heard] == [b.n_tokens for b in elsewhere]
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in elsewhere], abs=1e-3)
    text = adapter.score(item, "t2t", PROMPT)
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in text], abs=1e-3)


def test_modes_it_cannot_score_are_errors(adapter, name, items):
    with pytest.raises(EngineError, match=f"{name} cannot score mode 's2s'"):
        adapter.score(items[0], "s2s", PROMPT)
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), "s2t", PROMPT)


def test_a_lora_checkpoint_without_peft_scores_t2t_and_refuses_s2t(tmp_path, name, items):
    import importlib.util

    if importlib.util.find_spec("peft") is not None:
        pytest.skip("peft is installed: transformers would look for the LoRA this checkpoint lacks")
    directory = build_tiny_granite_speech(tmp_path / "lora", lora=True, plus=FAMILIES[name][2])
    adapter = load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32"), name)
    assert len(adapter.score(items[0], "t2t", PROMPT)) == len(items[0].candidates)
    with pytest.raises(EngineError, match=re.escape(f"pip install 'peft>={min_peft_version()}'")):
        adapter.score(items[0], "s2t", PROMPT)


def test_auto_detection(tiny_granite, name):
    adapter_class, model_type, _ = FAMILIES[name]
    assert model_types()[model_type] == name
    adapter = load_adapter(AdapterSpec(str(tiny_granite)))
    assert type(adapter) is adapter_class
    assert adapter.modes == ("t2t", "s2t")
    identity = adapter.identity()
    assert identity["adapter"] == name and identity["model"] == str(tiny_granite)
    assert identity["bos"] == {"policy": "auto", "tokens": []}  # GPT2Tokenizer puts nothing before text
    assert identity["lora"] is False


def test_score_run_writes_both_modes_and_degradation(tiny_granite, name, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(tiny_granite), device="cpu"))
    assert_results_directory(output, name, items)
