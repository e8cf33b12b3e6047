"""The spoken half inside lm-evaluation-harness: the task files s2s push writes (both modes, a group, prompts
that stay text whatever they hold), and lm-eval's ``--model s2sbench`` giving s2s score's log-likelihoods.

lm-eval (0.4.13, from requirements/peer.txt) is installed by ``make test``; a test that needs it skips
without it only outside CI (``.ci/run`` sets ``S2S_REQUIRE_PEER=1``: it fails instead).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from s2sbench import BuildOptions, build
from s2sbench.publish import PushOptions, push
from s2sbench.scorer.run import ScoreOptions, score
from tests.models import build_tiny_causal_lm, sample_texts
from tests.models_speech import build_tiny_qwen2_audio
from tests.profiles import ENGLISH_SPEECH_PREFIX, english_profile_with

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4  # the bar for a log-likelihood from lm-eval against s2s score's (float32 on CPU; measured: under 2e-5)
# Prompts that would escape a task file that wraps them in a raw block, or that Jinja's lexer would change
# (a raw newline in a literal, a backslash escape), or that a YAML or JSON writer could mangle.
HOSTILE_TEXT_PREFIX = '{% endraw %}{{ 7*7 }}{% raw %} "a" \'b\' \\n \\ {# c #} %} }} 下面 😀\r\n\t: '
HOSTILE_SPEECH_PREFIX = "{% endraw %}{{ context }}{%- if true %}x{% endif %} "
TEXT_PREFIX = "Story: "  # a text prefix of its own, so that t2t and s2t prompts differ and a transcribing adapter must be told it


@pytest.fixture(scope="module")
def lm_eval():
    """lm-evaluation-harness, or a skip where it is not installed (never under CI)."""
    try:
        import lm_eval
    except ImportError:
        if os.environ.get("S2S_REQUIRE_PEER"):  # .ci/run sets it: make test installs lm-eval, so a missing one is a fault
            raise
        pytest.skip("lm-eval is not installed: make peer")
    return lm_eval


@pytest.fixture(scope="module")
def hostile_export(tmp_path_factory) -> Path:
    """An export of 2 spoken stories built with :data:`HOSTILE_TEXT_PREFIX` and :data:`HOSTILE_SPEECH_PREFIX`."""
    base = tmp_path_factory.mktemp("hostile")
    profile = english_profile_with(base / "hostile.toml", HOSTILE_TEXT_PREFIX, HOSTILE_SPEECH_PREFIX)
    build(BuildOptions(source="sample:en", lang="en", profile=str(profile), output=base / "build", limit=2, seed=5, validate=False, speak="context"))
    push(PushOptions(builds=[base / "build"], to_dir=base / "export"))
    return base / "export"


def task_file(export: Path, name: str) -> dict:
    return yaml.safe_load((export / "lm_eval" / name).read_text(encoding="utf-8"))


def test_push_writes_both_modes_and_their_group(hostile_export: Path):
    configs = sorted(path.name for path in (hostile_export / "lm_eval").iterdir())
    assert configs == ["story.yaml", "story_group.yaml", "story_s2t.yaml"]
    text, speech, group = (task_file(hostile_export, name) for name in ("story.yaml", "story_s2t.yaml", "story_group.yaml"))
    assert (speech["task"], speech["dataset_path"], speech["dataset_name"], speech["output_type"]) == (
        "s2sbench_story_s2t", "export", "story", "multiple_choice")
    assert speech["doc_to_audio"] == "context_audio" and "context_audio" in speech["dataset_kwargs"]["columns"]
    assert "context_audio" not in text["dataset_kwargs"]["columns"] and "doc_to_audio" not in text  # text mode decodes no clip
    assert speech["target_delimiter"] == text["target_delimiter"] == " "
    assert group == {"group": "s2sbench_story_t2t_s2t", "task": ["s2sbench_story", "s2sbench_story_s2t"]}


def test_prompts_stay_text_in_jinja(hostile_export: Path):
    """Rendered as lm-eval renders templates (its environment's settings), each prompt is itself, character for character."""
    import jinja2

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    doc = {"context": "Lily {{ 1+1 }} played.", "candidates": ["a", "b"], "answer": 0}
    render = lambda name: environment.from_string(task_file(hostile_export, name)["doc_to_text"]).render(**doc)  # noqa: E731
    assert render("story.yaml") == HOSTILE_TEXT_PREFIX + doc["context"]
    assert render("story_s2t.yaml") == HOSTILE_SPEECH_PREFIX
    for name in ("story.yaml", "story_s2t.yaml"):
        assert "49" not in render(name)


def test_prompts_stay_text_in_lm_evals_own_tasks(lm_eval, hostile_export: Path, monkeypatch):
    """lm-eval loads the pushed tasks from their folder and builds each doc's text: the prompts as the build's task records them."""
    from lm_eval.tasks import TaskManager, get_task_dict

    monkeypatch.chdir(hostile_export.parent)  # the tasks read the export by its folder name
    tasks = get_task_dict(["s2sbench_story", "s2sbench_story_s2t"], TaskManager(include_path=str(hostile_export / "lm_eval")))
    text, speech = tasks["s2sbench_story"], tasks["s2sbench_story_s2t"]
    doc = text.test_docs()[0]
    assert text.doc_to_text(doc) == HOSTILE_TEXT_PREFIX + doc["context"]
    assert speech.doc_to_text(speech.test_docs()[0]) == HOSTILE_SPEECH_PREFIX
    assert speech.doc_to_audio(speech.test_docs()[0])["sampling_rate"] == 16000


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> tuple[Path, Path]:
    """(build, export) of 4 spoken items of sample:en (2 stories, K=2; 2 questions, K=4) under a profile with a text prefix."""
    base = tmp_path_factory.mktemp("spoken")
    profile = english_profile_with(base / "hostile.toml", TEXT_PREFIX, ENGLISH_SPEECH_PREFIX)
    build(BuildOptions(source="sample:en", lang="en", profile=str(profile), output=base / "build", limit=4, seed=5, validate=False, speak="context"))
    push(PushOptions(builds=[base / "build"], to_dir=base / "export"))
    return base / "build", base / "export"


@pytest.fixture(scope="module")
def tiny_qwen2_audio(tmp_path_factory) -> Path:
    return build_tiny_qwen2_audio(tmp_path_factory.mktemp("tiny-qwen2-audio"))


def s2s_scores(build_dir: Path, model: str, output: Path) -> tuple[dict, dict]:
    """s2s score's summed log-likelihood per (mode, id, candidate), and its summary."""
    score(ScoreOptions(source=str(build_dir), output=output, model=model, modes=("t2t", "s2t"), device="cpu"))
    scores = {}
    for line in (output / "scores.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        scores[(record["mode"], record["id"], record["candidate"])] = record["logprob"]
    return scores, json.loads((output / "summary.json").read_text(encoding="utf-8"))


def lm_eval_scores(samples: dict[str, list[dict]]) -> tuple[dict, dict]:
    """lm-eval's logged log-likelihood per (mode, id, candidate), and its acc per (subset, mode)."""
    scores, right = {}, {}
    for task, logged in samples.items():
        mode = "s2t" if task.endswith("_s2t") else "t2t"
        for sample in logged:
            for k, response in enumerate(sample["filtered_resps"]):
                scores[(mode, sample["doc"]["id"], k)] = float(response[0])
            right.setdefault((sample["doc"]["subset"], mode), []).append(sample["acc"])
    return scores, {key: sum(values) / len(values) for key, values in right.items()}


def assert_same_as_s2s_score(ours: tuple[dict, dict], theirs: tuple[dict, dict]) -> None:
    (our_scores, summary), (their_scores, accuracy) = ours, theirs
    assert set(their_scores) == set(our_scores) and {mode for mode, _, _ in our_scores} == {"t2t", "s2t"}
    worst = max(abs(our_scores[key] - their_scores[key]) for key in our_scores)
    assert worst <= TOLERANCE, worst
    for (subset, mode), acc in accuracy.items():
        assert acc == summary[subset][mode]["acc_sum"], (subset, mode)  # both means of the same 0/1 outcomes


def logged_samples(output: Path) -> dict[str, list[dict]]:
    """lm-eval's --log_samples files under ``output``, per task."""
    samples = {}
    for path in output.rglob("samples_*.jsonl"):
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        samples[task] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return samples


def lm_eval_cli(export: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m s2sbench.lm_eval ARGS`` from the export's parent, as a user of the pushed tasks runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_DATASETS_CACHE": str(export.parent / "datasets-cache")}
    return subprocess.run([sys.executable, "-m", "s2sbench.lm_eval", *args], cwd=export.parent, env=env, capture_output=True, text=True, timeout=900)


def test_lm_eval_through_s2sbench_gives_s2s_scores_loglikelihoods(lm_eval, spoken, tiny_qwen2_audio: Path, tmp_path: Path):
    """The acceptance run: lm-eval's own command line on the pushed task files, the speech task of one config
    and both modes of the other, every logged candidate's log-likelihood as s2s score's within 1e-4."""
    build_dir, export = spoken
    run = lm_eval_cli(export, "--model", "s2sbench", "--model_args", f"model={tiny_qwen2_audio},device=cpu",
                      "--tasks", "s2sbench_story_s2t,s2sbench_question_t2t_s2t", "--include_path", str(export / "lm_eval"),
                      "--log_samples", "--output_path", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr[-3000:]
    samples = logged_samples(tmp_path / "out")
    assert sorted(samples) == ["s2sbench_question", "s2sbench_question_s2t", "s2sbench_story_s2t"]
    ours, summary = s2s_scores(build_dir, str(tiny_qwen2_audio), tmp_path / "s2s")
    ours = {key: value for key, value in ours.items() if key[0] == "s2t" or key[1].startswith("question")}  # what lm-eval ran
    assert_same_as_s2s_score((ours, summary), lm_eval_scores(samples))


def test_simple_evaluate_with_the_cascade(lm_eval, spoken, tmp_path: Path, monkeypatch):
    """From Python: simple_evaluate(model=S2SBenchLM(...)) with the Whisper + causal LM cascade, both modes of every config."""
    from lm_eval.tasks import TaskManager

    from s2sbench.integrations.lm_eval import S2SBenchLM

    build_dir, export = spoken
    model = f"cascade:faster-whisper:base+{build_tiny_causal_lm(tmp_path / 'lm', sample_texts())}"
    ours = s2s_scores(build_dir, model, tmp_path / "s2s")
    monkeypatch.chdir(export.parent)
    # An s2t request carries the speech prefix only; the cascade reads its transcript after the text prefix, as in s2s score.
    results = lm_eval.simple_evaluate(model=S2SBenchLM(model=model, device="cpu", text_prefix=TEXT_PREFIX), tasks=["s2sbench_story_t2t_s2t",
                                      "s2sbench_question_t2t_s2t"], task_manager=TaskManager(include_path=str(export / "lm_eval")), log_samples=True)
    assert results["config"]["s2sbench_adapter"]["adapter"] == "cascade"
    assert_same_as_s2s_score(ours, lm_eval_scores(results["samples"]))


def test_a_model_that_cannot_load_is_one_line(lm_eval, spoken, tmp_path: Path):
    _, export = spoken
    (tmp_path / "empty").mkdir()  # a directory that holds no model
    run = lm_eval_cli(export, "--model", "s2sbench", "--model_args", f"model={tmp_path / 'empty'},device=cpu", "--tasks", "s2sbench_story",
                      "--include_path", str(export / "lm_eval"))
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.rstrip().splitlines()[-1].startswith("error: ") and "Traceback" not in run.stderr
    assert "a directory without config.json" in run.stderr  # the resolver s2s score uses says what the directory lacks
    missing = lm_eval_cli(export, "--model", "s2sbench", "--model_args", "model=./no-such-model,device=cpu", "--tasks", "s2sbench_story",
                          "--include_path", str(export / "lm_eval"))
    assert missing.returncode == 2 and missing.stderr.rstrip().splitlines()[-1] == "error: ./no-such-model: no such model directory or file"


def test_a_chat_template_is_refused_in_one_line(lm_eval, spoken, tmp_path: Path):
    """--apply_chat_template would change the prompts the release's task files give: one line, not lm-eval's NotImplementedError."""
    _, export = spoken
    lm = build_tiny_causal_lm(tmp_path / "lm", sample_texts())
    run = lm_eval_cli(export, "--model", "s2sbench", "--model_args", f"model={lm},device=cpu", "--tasks", "s2sbench_story",
                      "--include_path", str(export / "lm_eval"), "--limit", "1", "--apply_chat_template")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.stderr.rstrip().splitlines()[-1].startswith("error: the s2sbench model scores the prompts as the release's task files give them")
