"""``--prompt-style chat``: the context as the user's turn of the model's chat template, each
candidate as the assistant's reply; on a text causal LM, Qwen2-Audio (a processor template that
places the clip) and Voxtral (mistral-common's format), against the templates' own output and the
per-candidate reference; refusals before any work."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import EngineError, S2SBenchError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, load_adapter
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import assert_batches_equal_one_at_a_time_and_naive, assert_shared_prefix_matches_naive
from tests.models import build_tiny_causal_lm, sample_texts
from tests.models_speech import QWEN_CHAT_TEMPLATE, build_tiny_qwen2_audio

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RAW = Prompt.from_profile(load_profile("en"))
CHAT = Prompt.from_profile(load_profile("en"), style="chat")


@pytest.fixture(scope="module")
def chat_lm(tmp_path_factory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("chat-lm"), sample_texts(), chat_template=QWEN_CHAT_TEMPLATE)


@pytest.fixture(scope="module")
def chat_qwen2_audio(tmp_path_factory):
    """The qwen2-audio adapter on a tiny Qwen2-Audio with Qwen's chat templates."""
    directory = build_tiny_qwen2_audio(tmp_path_factory.mktemp("chat-qwen2-audio"), chat=True)
    return load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32"), "qwen2-audio")


def test_a_text_lm_reads_the_context_as_a_user_turn_and_the_candidate_as_its_reply(chat_lm, items):
    adapter = load_adapter(AdapterSpec(str(chat_lm), device="cpu"))
    tokenizer = adapter.tokenizer
    item = items[0]
    prefix, continuations = adapter.encode_parts(item.context, item.candidates, CHAT)
    turn = [{"role": "user", "content": CHAT.text_prefix + item.context}]
    assert prefix == tokenizer.apply_chat_template(turn, add_generation_prompt=True, tokenize=True)["input_ids"]
    assert tokenizer.decode(prefix).endswith("<|im_start|>assistant\n")
    assert continuations == [tokenizer(text, add_special_tokens=False)["input_ids"] for text in item.candidates]  # no separator
    for each in items:
        shared, naive = adapter.score(each, "t2t", CHAT), adapter.naive_score(each, CHAT)
        assert [s.loss for s in shared] == pytest.approx([n.loss for n in naive], abs=1e-4)
    raw = adapter.score(item, "t2t", RAW)
    assert [s.loss for s in adapter.score(item, "t2t", CHAT)] != pytest.approx([s.loss for s in raw], abs=1e-3)


def test_qwen2_audio_hears_the_clip_where_its_chat_template_puts_it(chat_qwen2_audio, items):
    adapter = chat_qwen2_audio
    item = next(i for i in items if len(i.candidates) == 4)
    inputs = adapter.encode_speech(item, CHAT)
    content = [{"type": "text", "text": CHAT.speech_prefix}, {"type": "audio", "audio": item.context_audio}]
    rendered = adapter.processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False)
    assert "Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>" in rendered and rendered.endswith("<|im_start|>assistant\n")
    expected = adapter.processor(text=rendered, audio=adapter.read_context_audio(item), sampling_rate=16000, return_tensors="pt")
    assert inputs["input_ids"][0].tolist() == expected["input_ids"][0].tolist()
    for mode in ("t2t", "s2t"):
        for each in items:
            assert_shared_prefix_matches_naive(adapter, each, mode, CHAT)
    raw = adapter.score(item, "s2t", RAW)
    assert [s.loss for s in adapter.score(item, "s2t", CHAT)] != pytest.approx([s.loss for s in raw], abs=1e-3)


def test_chat_batches_equal_one_at_a_time(chat_qwen2_audio, ten_items):
    assert_batches_equal_one_at_a_time_and_naive(chat_qwen2_audio, ten_items, "s2t", CHAT)


def test_voxtral_takes_its_own_chat_format(tmp_path_factory, items):
    from tests.models_voxtral import AUDIO_TOKEN_ID, BEGIN_AUDIO_ID, TOKENS_PER_WINDOW, build_tiny_voxtral

    directory = build_tiny_voxtral(tmp_path_factory.mktemp("voxtral-chat"))
    adapter = load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32"), "voxtral")
    adapter.check_prompt_style("chat")  # mistral-common carries the format: nothing to refuse
    tokenizer = adapter.tokenizer
    begin, end = (tokenizer.convert_tokens_to_ids(t) for t in ("[INST]", "[/INST]"))
    item = next(i for i in items if len(i.candidates) == 4)
    ids = adapter.encode_speech(item, CHAT)["input_ids"][0].tolist()
    assert ids[:2] == [tokenizer.bos_token_id, begin] and ids[-1] == end
    assert ids.count(AUDIO_TOKEN_ID) == TOKENS_PER_WINDOW and BEGIN_AUDIO_ID in ids
    assert adapter.encode_text(item.context, CHAT)[-1] == end
    for mode in ("t2t", "s2t"):
        for each in items:
            assert_shared_prefix_matches_naive(adapter, each, mode, CHAT)


def test_a_model_without_a_chat_template_is_refused_before_any_item(spoken_build, tmp_path):
    plain = build_tiny_causal_lm(tmp_path / "plain", sample_texts())
    with pytest.raises(EngineError, match="has no chat template; score it with --prompt-style raw"):
        score(ScoreOptions(source=str(spoken_build), output=tmp_path / "r", model=str(plain), modes=("t2t",), device="cpu", prompt_style="chat"))
    assert not (tmp_path / "r" / "scores.jsonl").exists()


def test_an_adapter_without_chat_and_an_unknown_style_are_refused_before_loading(spoken_build, tmp_path):
    config_only = tmp_path / "config-only"  # a model directory as the resolver reads it; no weights: the checks come before loading
    config_only.mkdir()
    (config_only / "config.json").write_text('{"model_type": "qwen2"}')
    with pytest.raises(S2SBenchError, match="adapter moshi scores only --prompt-style raw"):
        score(ScoreOptions(source=str(spoken_build), output=tmp_path / "m", model=str(config_only), adapter="moshi", modes=("t2t",), prompt_style="chat"))
    with pytest.raises(S2SBenchError, match="--prompt-style must be one of raw, chat, not 'fancy'"):
        score(ScoreOptions(source=str(spoken_build), output=tmp_path / "f", model=str(config_only), prompt_style="fancy"))


def test_the_style_is_recorded_and_another_style_is_another_run(chat_lm, spoken_build, tmp_path):
    output = tmp_path / "results"
    runner = CliRunner()
    args = ["score", str(spoken_build), "-m", str(chat_lm), "--modes", "t2t", "--device", "cpu", "-o", str(output), "-q", "--log-samples"]
    result = runner.invoke(app, [*args, "--prompt-style", "chat"])
    assert result.exit_code == 0, result.output
    run = json.loads((output / "run.json").read_text())
    assert run["prompt_style"] == "chat" and all(p["style"] == "chat" for p in run["prompts"].values())
    sample = json.loads((output / "samples.jsonl").read_text().splitlines()[0])
    assert sample["prompt_style"] == "chat" and not sample["candidates"][0].startswith(" ")
    again = runner.invoke(app, args)  # raw into the chat run's directory
    assert again.exit_code == 2 and "differs in prompt_style" in again.output


def test_raw_runs_record_no_style(chat_lm, spoken_build, tmp_path):
    """A raw run's run.json is as before the option existed, so older results directories resume."""
    output = tmp_path / "raw"
    score(ScoreOptions(source=str(spoken_build), output=output, model=str(chat_lm), modes=("t2t",), device="cpu"))
    assert "prompt_style" not in json.loads((output / "run.json").read_text())
    assert replace(CHAT, style="raw") == RAW
