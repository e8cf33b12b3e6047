"""The Moshi adapter's own checks on a tiny random Moshi: s2s over Mimi codes, its time line, the
codebooks scored (the semantic one, or all), the spoken candidates and context heard, its refusals,
and whole ``score`` runs. What every adapter must do (t2t and s2s with the semantic codebook among
it) is checked in tests/test_adapter_families.py."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import EngineError, S2SBenchError
from s2sbench.scorer.adapters.moshi import delayed, scored_mask
from s2sbench.scorer.run import ScoreOptions, score
from tests.adapter_checks import assert_batches_equal_one_at_a_time_and_naive, assert_results_directory, assert_shared_prefix_matches_naive
from tests.models_moshi import CODEBOOK_SIZE, NUM_CODEBOOKS
from tests.test_adapter_families import PROMPT, family_named

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MOSHI = family_named("moshi")
FRAME = 1920  # samples of one Mimi frame at 24 kHz (12.5 frames a second)


@pytest.fixture(scope="module", params=["semantic", "all"])
def codebooks(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, codebooks):
    return MOSHI.adapter(tmp_path_factory, s2s_codebooks=codebooks)


def frames_of(path: str) -> int:
    """Mimi frames of a clip: one per 1920 samples at 24 kHz, the last one partial."""
    import soundfile as sf

    info = sf.info(path)
    return math.ceil(round(info.frames * 24000 / info.samplerate) / FRAME)


def test_tiny_model_loads_back_offline(tmp_path_factory, items):
    from transformers import AutoConfig, AutoTokenizer

    directory = MOSHI.directory(tmp_path_factory)
    config = AutoConfig.from_pretrained(directory)
    assert config.model_type == "moshi" and config.num_codebooks == NUM_CODEBOOKS and config.audio_vocab_size == CODEBOOK_SIZE
    tokenizer = AutoTokenizer.from_pretrained(directory)
    assert tokenizer.pad_token_id == config.pad_token_id == 3  # Moshi's text padding id
    text = "Anna wanted to bake cookies for her friends."
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    codes = MOSHI.adapter(tmp_path_factory).encode_clip(items[0].context_audio)
    assert codes.shape == (NUM_CODEBOOKS, frames_of(items[0].context_audio))
    assert all(len(set(row.tolist())) > 2 for row in codes)  # the random codebooks are in use, not one code


def test_the_time_line_holds_moshis_start_and_delays():
    import torch

    codes = torch.tensor([[1, 2, 3], [4, 5, 6]])
    pad = 9
    assert delayed(codes, pad).tolist() == [[9, 1, 2, 3, 9], [9, 9, 4, 5, 6]]  # codebook 0 at f + 1, the others at f + 2
    # 5 frames, 3 of the context: codebook 0 of frames 3, 4 (steps 4, 5); the others of frames 3, 4 (steps 5, 6)
    assert scored_mask(2, 3, 5, every_codebook=False).tolist() == [[True, False], [True, False], [False, False]]
    assert scored_mask(2, 3, 5, every_codebook=True).tolist() == [[True, False], [True, True], [False, True]]


def test_every_codebook_shared_prefix_matches_naive_and_batches(tmp_path_factory, items, ten_items):
    every = MOSHI.adapter(tmp_path_factory, s2s_codebooks="all")
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(every, item, "s2s", PROMPT)
    # ten_items' clips are 2 to 12 s: a batch holds contexts and candidates of different lengths
    assert_batches_equal_one_at_a_time_and_naive(every, ten_items, "s2s", PROMPT)


def test_codebooks_scored_are_each_candidate_frames_semantic_code_or_all(adapter, codebooks, items):
    item = next(i for i in items if len(i.candidates) == 4)
    per_frame = 1 if codebooks == "semantic" else NUM_CODEBOOKS
    assert [s.n_tokens for s in adapter.score(item, "s2s", PROMPT)] == [per_frame * frames_of(path) for path in item.candidate_audio]
    assert adapter.identity()["s2s_codebooks"] == codebooks
    assert adapter.identity()["s2s_scored_codebooks"] == list(range(per_frame))


def test_s2s_hears_the_candidates_and_the_context(adapter, items):
    item = next(i for i in items if len(i.candidates) == 4)
    heard = adapter.score(item, "s2s", PROMPT)
    # the same clip in two places scores the same; another clip, of the same candidate text, otherwise
    same = replace(item, candidate_audio=[item.candidate_audio[0]] * 2, candidates=item.candidates[:2])
    twice = adapter.score(same, "s2s", PROMPT)
    assert twice[0].loss == pytest.approx(twice[1].loss, abs=1e-5) and twice[0].loss == pytest.approx(heard[0].loss, abs=1e-4)
    swapped = replace(item, candidate_audio=[item.candidate_audio[1], *item.candidate_audio[1:]])
    moved = adapter.score(swapped, "s2s", PROMPT)[0]
    assert moved.loss != pytest.approx(heard[0].loss, abs=1e-3) and moved.loss == pytest.approx(heard[1].loss, abs=1e-4)  # the clip's, not the text's
    other = next(i for i in items if i.id != item.id)
    elsewhere = adapter.score(replace(item, context_audio=other.context_audio), "s2s", PROMPT)
    assert [a.n_tokens for a in heard] == [b.n_tokens for b in elsewhere]
    assert [a.loss for a in heard] != pytest.approx([b.loss for b in elsewhere], abs=1e-3)


def test_what_it_cannot_score_is_refused(tmp_path_factory, items, tmp_path, spoken_build):
    directory = MOSHI.directory(tmp_path_factory)
    with pytest.raises(EngineError, match="spoken candidates"):
        MOSHI.adapter(tmp_path_factory).score(replace(items[0], candidate_audio=None), "s2s", PROMPT)
    with pytest.raises(S2SBenchError, match=r"adapter moshi cannot score mode\(s\) s2t \(it scores t2t, s2s\): pass --modes t2t"):
        score(ScoreOptions(source=str(spoken_build), output=tmp_path / "r", model=str(directory), device="cpu"))  # the default t2t,s2t
    with pytest.raises(S2SBenchError, match="--s2s-codebooks must be one of semantic, all"):
        score(ScoreOptions(source=str(spoken_build), output=tmp_path / "r", model=str(directory), modes=("s2s",), s2s_codebooks="acoustic"))


def test_score_run_writes_s2s_and_its_degradation(tmp_path_factory, spoken_build, items, tmp_path):
    directory, output = MOSHI.directory(tmp_path_factory), tmp_path / "results"
    result = CliRunner().invoke(app, ["score", str(spoken_build), "-m", str(directory), "--modes", "t2t,s2s", "--s2s-codebooks", "all",
                                      "--device", "cpu", "-o", str(output), "-q"])
    assert result.exit_code == 0, result.output
    run = json.loads((output / "run.json").read_text())
    assert run["s2s_codebooks"] == "all" and run["modes"] == ["t2t", "s2s"]
    assert_results_directory(output, "moshi", items, modes=("t2t", "s2s"))
    records = [json.loads(line) for line in (output / "scores.jsonl").read_text().splitlines()]
    for item in items:
        s2s = [r for r in records if r["id"] == item.id and r["mode"] == "s2s"]
        assert [r["n_tokens"] for r in s2s] == [NUM_CODEBOOKS * frames_of(path) for path in item.candidate_audio]
    # other codebooks are another run: refused, not mixed into these scores
    with pytest.raises(S2SBenchError, match="differs in s2s_codebooks"):
        score(ScoreOptions(source=str(spoken_build), output=output, model=str(directory), device="cpu", modes=("t2t", "s2s")))


def test_codebooks_option_is_refused_for_adapters_that_score_no_codes(spoken_build, tmp_path):
    lm = tmp_path / "lm"  # a model directory as the resolver reads it (its config); refused before any weight is loaded
    lm.mkdir()
    (lm / "config.json").write_text('{"model_type": "qwen2"}')
    with pytest.raises(S2SBenchError, match=r"--s2s-codebooks applies to adapters that score codec codes \(moshi\), not to cascade"):
        score(ScoreOptions(source=str(spoken_build), output=tmp_path / "r", model=f"cascade:faster-whisper:base+{lm}", modes=("s2s",),
                           s2s_codebooks="all"))
    assert not (tmp_path / "r").exists()
