"""Speed of shared-prefix scoring against S2SBench's procedure: prints ``score_speedup_k4=X`` last.

Builds the bundled English sample (``sample:en``, no validation) in a temporary directory: 12
question items with K=4 candidates and 16 story items with K=2. Loads ``--adapter`` (default
``qwen2-audio``; ``all``: every family with a tiny model in ``tests/``, one after the other) on
``--model`` (default: a tiny random model of the family built on the spot by ``tests/models_*.py``,
which measures the scoring procedure and its overheads, not a real model's cost). Then, for each
mode the adapter scores (its spoken mode, s2t or s2s, then t2t) and each group of items (K=4, K=2),
times over the same items:

- ``naive``: S2SBench's procedure (``Qwen2Audio.naive_score``): per candidate, the input made again
  (in s2t the audio read and featurized, as S2SBench's processor call does) and one full forward of
  the whole model, batch 1;
- ``shared``: the adapter's ``score``, one item at a time: the audio read and featurized once, the
  prefix (and in s2t the audio encoder) run once with the KV cache, the K candidates as one batch
  after it, the LM head on the scored positions only;
- ``batched``: ``s2s score``'s default, the adapter's ``loglikelihood`` on ``--batch-size`` requests at a
  time (default 8): their prefixes right-padded in one forward, their clips through the audio
  encoder in one call, all their candidates in one batch;

each the best of ``--repeats`` passes after one untimed warm-up pass. It prints items/s for each,
the speedup of ``shared`` over ``naive`` (both one item at a time, so that it measures sharing the
prefix alone) and the largest loss difference of ``shared`` and ``batched`` from ``naive``. For s2t
it also prints what one item's audio costs (reading and feature extraction; the audio encoder on
its 30 s window), and times ``naive-features-once`` (``naive_score(..., features_per_candidate=False)``:
the audio featurized once per item, then the K full forwards), which isolates what sharing the
model work alone gains. Last, the spoken mode's speedup of ``shared`` over ``naive`` on the K=4
items as ``score_speedup_k4=X`` (with ``--adapter all``, one ``score_speedup_k4[ADAPTER]=X`` line
per family). Target: at least 3.

``--shape 7b`` scores with a random model of a 7B release's shapes instead (bfloat16, made on the
GPU): Qwen2-Audio-7B's (``--adapter qwen2-audio``, about 17 GB of weights written to the temporary
directory) or Qwen2.5-Omni-7B's thinker (``--adapter qwen2.5-omni``, about 16.5 GB; its unused vision
encoder one tiny block). For Qwen2-Audio's batched s2t K=4 pass it
prints the model FLOP/s reached (the matrix products of the audio encoder on its 1500 positions, of
the decoder on the prefix and the candidates, attention included, and of the LM head on the scored
positions; padding not counted) and, on a GPU whose bf16 peak is known (or ``--peak-tflops``), the
share of that peak.

On CPU, torch runs ``--threads`` threads (default 1: the tiny model gains nothing from more, and one
thread keeps timings stable on a shared machine); every procedure runs under the same setting.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests.models_speech, when run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from s2sbench import BuildOptions, build  # noqa: E402
from s2sbench.profiles import load_profile  # noqa: E402
from s2sbench.scorer.adapters import AdapterSpec, Prompt, ScoreItem, ScoreRequest, load_adapter  # noqa: E402
from s2sbench.scorer.inputs import load_score_items  # noqa: E402


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def per_item(function: Callable) -> Callable[[list[ScoreItem], str, Prompt], list]:
    """``function(item, mode, prompt)`` applied to each item in turn."""
    return lambda items, mode, prompt: [function(item, mode, prompt) for item in items]


def in_batches(adapter, size: int) -> Callable[[list[ScoreItem], str, Prompt], list]:
    """``adapter.loglikelihood`` on ``size`` requests at a time, as ``s2s score --batch-size`` runs it."""
    return lambda items, mode, prompt: [
        scores for start in range(0, len(items), size) for scores in adapter.loglikelihood([ScoreRequest(item, mode, prompt) for item in items[start : start + size]])
    ]


def timed(run: Callable, items: list[ScoreItem], mode: str, prompt: Prompt, device: str, repeats: int) -> tuple[float, list]:
    """Best wall time of ``repeats`` passes of ``run(items, mode, prompt)`` (after one warm-up pass)."""
    results = run(items, mode, prompt)
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        started = time.perf_counter()
        results = run(items, mode, prompt)
        sync(device)
        best = min(best, time.perf_counter() - started)
    return best, results


def rate(items: list[ScoreItem], seconds: float) -> str:
    return f"{len(items) / seconds:7.2f} items/s ({seconds / len(items) * 1000:6.1f} ms/item)"


def audio_costs(adapter, item: ScoreItem, prompt: Prompt, repeats: int) -> tuple[float, float]:
    """Seconds to read and featurize one item's audio, and to run the audio encoder on it."""
    best_features = best_encoder = float("inf")
    for _ in range(repeats + 1):
        started = time.perf_counter()
        inputs = adapter.encode_speech(item, prompt)
        best_features = min(best_features, time.perf_counter() - started)
        with torch.inference_mode():
            sync(adapter.device)
            started = time.perf_counter()
            adapter.model.model.audio_tower(inputs["input_features"])
            sync(adapter.device)
            best_encoder = min(best_encoder, time.perf_counter() - started)
    return best_features, best_encoder


# Dense bf16 tensor-core peaks, FLOP/s, by a part of the device's name (first match wins).
BF16_PEAKS = (("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12), ("A100", 312e12), ("L40S", 362e12), ("A10", 125e12))


def model_flops(adapter, items: list[ScoreItem], prompt: Prompt) -> float:
    """Matmul FLOPs of scoring ``items`` in s2t (multiply-add = 2), the work a perfect kernel does."""
    model = adapter.model.model
    audio, text = adapter.model.config.audio_config, adapter.model.config.text_config
    encoder_params = sum(p.numel() for p in model.audio_tower.layers.parameters())
    decoder_params = sum(p.numel() for p in model.language_model.layers.parameters())
    positions = audio.max_source_positions
    total = 0.0
    for item in items:
        prefix = adapter.encode_speech(item, prompt)["input_ids"].shape[1]
        candidates = [len(ids) for ids in adapter.encode_candidates(item.candidates, prompt)]
        total += 2 * encoder_params * positions + 4 * audio.encoder_layers * positions**2 * audio.d_model
        total += 2 * decoder_params * (prefix + sum(candidates))
        attended = prefix**2 / 2 + sum(n * (prefix + n / 2) for n in candidates)
        total += 4 * text.num_hidden_layers * text.hidden_size * attended
        total += 2 * text.hidden_size * text.vocab_size * sum(candidates)
    return total


def bf16_peak(device: str, override: float | None) -> float | None:
    if override:
        return override * 1e12
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name()
    return next((peak for part, peak in BF16_PEAKS if part in name), None)


def _tiny(module: str, function: str, **options) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        import importlib

        return getattr(importlib.import_module(module), function)(directory, **options)

    return make


# Adapter -> how its tiny random model is built (tests/models_*.py).
TINY_MODELS: dict[str, Callable[[Path], Path]] = {
    "qwen2-audio": _tiny("tests.models_speech", "build_tiny_qwen2_audio"),
    "audio-flamingo-3": _tiny("tests.models_af3", "build_tiny_audio_flamingo3"),
    "qwen2.5-omni": _tiny("tests.models_omni", "build_tiny_qwen2_5_omni"),
    "qwen3-omni": _tiny("tests.models_qwen3_omni", "build_tiny_qwen3_omni"),
    "granite-speech": _tiny("tests.models_granite", "build_tiny_granite_speech"),
    "granite-speech-plus": _tiny("tests.models_granite", "build_tiny_granite_speech", plus=True),
    "phi-4-multimodal": _tiny("tests.models_phi4", "build_tiny_phi4_multimodal"),
    "gemma-3n": _tiny("tests.models_gemma3n", "build_tiny_gemma3n"),
    "voxtral": _tiny("tests.models_voxtral", "build_tiny_voxtral"),
    "moshi": _tiny("tests.models_moshi", "build_tiny_moshi"),
}


def _qwen2_audio_7b(directory: Path) -> Path:
    from tests.models_speech import QWEN2_AUDIO_7B_SHAPES, build_tiny_qwen2_audio

    return build_tiny_qwen2_audio(directory, shapes=QWEN2_AUDIO_7B_SHAPES)


def _qwen2_5_omni_7b(directory: Path) -> Path:
    from tests.models_omni import QWEN2_5_OMNI_7B_SHAPES, build_tiny_qwen2_5_omni

    return build_tiny_qwen2_5_omni(directory, shapes=QWEN2_5_OMNI_7B_SHAPES)


# Adapter -> its random model of a 7B release's shapes (``--shape 7b``).
SHAPED_7B: dict[str, Callable[[Path], Path]] = {"qwen2-audio": _qwen2_audio_7b, "qwen2.5-omni": _qwen2_5_omni_7b}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", default="qwen2-audio", choices=(*TINY_MODELS, "all"), help="the family to score (all: each in turn)")
    parser.add_argument("--model", help="a model directory or hub id for --adapter (default: a tiny random one built here)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8, help="items per forward for the batched timing (default 8, as s2s score)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1; 0: torch's default)")
    parser.add_argument("--shape", choices=("tiny", "7b"), default="tiny", help="the random model's shapes: tiny, or Qwen2-Audio-7B's")
    parser.add_argument("--peak-tflops", type=float, help="the device's peak bf16 TFLOP/s, for devices not in the table")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    names = list(TINY_MODELS) if args.adapter == "all" else [args.adapter]
    if args.model and len(names) > 1:
        parser.error("--model goes with one --adapter")
    if args.shape == "7b" and (len(names) != 1 or names[0] not in SHAPED_7B):
        parser.error(f"--shape 7b goes with one --adapter of {', '.join(SHAPED_7B)}")
    with tempfile.TemporaryDirectory(prefix="s2s-score-bench-") as scratch:
        scratch = Path(scratch)
        build(BuildOptions(source="sample:en", output=scratch / "build", validate=False))
        items = list(load_score_items(str(scratch / "build")))
        speedups = {name: measure(name, args, items, scratch) for name in names}
    for name, speedup in speedups.items():
        print(f"score_speedup_k4={speedup:.1f}" if len(names) == 1 else f"score_speedup_k4[{name}]={speedup:.1f}")
    return 0


def measure(name: str, args: argparse.Namespace, items: list[ScoreItem], scratch: Path) -> float:
    """Every timing of the module doc for adapter ``name``; returns its spoken mode's K=4 speedup."""
    started = time.perf_counter()
    if args.model:
        model = args.model
    elif args.shape == "7b":
        model = str(SHAPED_7B[name](scratch / f"random-{name}-7b"))
    else:
        model = str(TINY_MODELS[name](scratch / f"random-{name}"))
    adapter = load_adapter(AdapterSpec(model, args.device, args.dtype), name)
    identity = adapter.identity()
    print(f"{name}: {model if args.model else f'random model, {args.shape} shapes'} ({identity['device']}, {identity['dtype']}); "
          f"setup {time.perf_counter() - started:.1f} s; torch threads {torch.get_num_threads()}")
    prompt = Prompt.from_profile(load_profile("en"))
    groups = {4: [i for i in items if len(i.candidates) == 4], 2: [i for i in items if len(i.candidates) == 2]}
    print(f"items: {len(groups[4])} with K=4 (question), {len(groups[2])} with K=2 (story); best of {args.repeats}")
    spoken = next(mode for mode in ("s2t", "s2s") if mode in adapter.modes)
    if name == "qwen2-audio":
        features, encoder = audio_costs(adapter, groups[4][0], prompt, args.repeats)
        print(f"s2t, one item's audio: read + features {features * 1000:.1f} ms, audio encoder (30 s window) {encoder * 1000:.1f} ms")
    speedups: dict[tuple[str, int], float] = {}
    for mode in (spoken, "t2t"):
        for k, group in groups.items():
            naive_seconds, naive_scores = timed(per_item(adapter.naive_score), group, mode, prompt, adapter.device, args.repeats)
            shared_seconds, shared_scores = timed(per_item(adapter.score), group, mode, prompt, adapter.device, args.repeats)
            batched_seconds, batched_scores = timed(in_batches(adapter, args.batch_size), group, mode, prompt, adapter.device, args.repeats)
            pairs = [(a, b) for x, *ys in zip(naive_scores, shared_scores, batched_scores, strict=True) for y in ys for a, b in zip(x, y, strict=True)]
            difference = max(abs(a.loss - b.loss) for a, b in pairs)
            largest = max(abs(a.loss) for a, _ in pairs)
            speedups[(mode, k)] = naive_seconds / shared_seconds
            line = (f"{mode} K={k}: naive {rate(group, naive_seconds)}   shared {rate(group, shared_seconds)}   "
                    f"speedup {speedups[(mode, k)]:.2f}x   batched({args.batch_size}) {rate(group, batched_seconds)}   "
                    f"max |loss diff| {difference:.2e} (max |loss| {largest:.2f})")
            if mode == spoken:
                once = per_item(functools.partial(adapter.naive_score, features_per_candidate=False))
                once_seconds, _ = timed(once, group, mode, prompt, adapter.device, args.repeats)
                line += f"   (naive-features-once {rate(group, once_seconds)}: shared is {once_seconds / shared_seconds:.2f}x faster)"
            print(line, flush=True)
            if (mode, k) == ("s2t", 4) and name == "qwen2-audio":
                achieved = model_flops(adapter, group, prompt) / batched_seconds
                peak = bf16_peak(adapter.device, args.peak_tflops)
                share = f", {achieved / peak:.1%} of the device's bf16 peak ({peak / 1e12:.0f} TFLOP/s)" if peak else ""
                print(f"s2t K=4 batched({args.batch_size}): {achieved / 1e12:.3f} model TFLOP/s{share}")
    return speedups[(spoken, 4)]


if __name__ == "__main__":
    sys.exit(main())
