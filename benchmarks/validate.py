"""Speed of the ASR engines that validation uses: prints ``batched_asr_speedup=X`` last.

Builds the bundled English sample (``sample:en``, no validation) in a temporary directory and reads
its clips. Then, for each installed engine, in this process:

- faster-whisper with the offline Whisper base (``FasterWhisper(ASRSpec(), threads=None)``), on the
  first ``--clips`` clips (default 24);
- transformers with ``--transformers-model`` (a Hub id or a local directory; default: a tiny random
  Whisper built on the spot by ``tests/models_whisper.py``, which measures the engine's overheads and
  batching, not a real model's accuracy or cost), on the first ``--transformers-clips`` (default 32),

prints the load time, the real-time factor (processing seconds per second of audio: lower is faster)
and clips per second, after one untimed warm-up call. Last, the speedup of the transformers engine
at ``--batch-size`` (default 16) over batch size 1 on the same clips and model, each timed
``--repeats`` times (best taken), as ``batched_asr_speedup=X``. Target: at least 2.

Torch runs on one intra-op thread by default (``--torch-threads``): the tiny model's operations
last microseconds, and with two threads on a shared 2-vCPU machine every operation waits for the
other thread, whose vCPU may be descheduled; measured there, batch-1 timings then varied 30x
between identical runs (2.7 s to 99 s), which made the speedup meaningless.

The line before the last says which ``num_beams`` the engine's ``generate`` calls really got: the
transformers ASR pipeline adds ``num_beams=5`` unless the caller or the model's generation config
sets it. When that is not 1, a diagnostic line also times the same pipeline with ``num_beams=1``
(greedy, as faster-whisper decodes here); it is not the number the last line reports.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests.models_whisper, when run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from s2sbench import BuildOptions, build  # noqa: E402
from s2sbench.validate.asr import ASRSpec, FasterWhisper, TransformersASR, offline_whisper_base_files  # noqa: E402

Clip = tuple[np.ndarray, int]


def sample_clips(scratch: Path) -> list[Clip]:
    """Every distinct clip of the ``sample:en`` build, in item order (context, then candidates)."""
    import soundfile

    output = scratch / "b"
    build(BuildOptions(source="sample:en", output=output, validate=False))
    paths: list[str] = []
    for line in (output / "items.jsonl").read_text(encoding="utf-8").splitlines():
        audio = (json.loads(line).get("audio") or {}) if line.strip() else {}
        for path in [audio.get("context"), *audio.get("candidates", [])]:
            if path and path not in paths:
                paths.append(path)
    clips = []
    for path in paths:
        samples, rate = soundfile.read(output / path, dtype="float32", always_2d=False)
        clips.append((samples if samples.ndim == 1 else samples.mean(axis=1), rate))
    return clips


def seconds_of(clips: list[Clip]) -> float:
    return sum(samples.size / rate for samples, rate in clips)


def timed(recognizer, clips: list[Clip], repeats: int = 1) -> float:
    """Best wall time of ``repeats`` calls of ``transcribe_batch`` on all ``clips``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        texts = recognizer.transcribe_batch(clips, "en")
        best = min(best, time.perf_counter() - started)
        assert len(texts) == len(clips)
    return best


def report(name: str, load_seconds: float, clips: list[Clip], seconds: float) -> None:
    audio = seconds_of(clips)
    print(
        f"{name}: {len(clips)} clips, {audio:.1f} s of audio, load {load_seconds:.2f} s, "
        f"{seconds:.2f} s, RTF {seconds / audio:.4f}, {len(clips) / seconds:.1f} clips/s"
    )


def record_num_beams(recognizer: TransformersASR) -> list[int]:
    """The ``num_beams`` each ``generate`` call of the pipeline gets (the pipeline may add its own default)."""
    model = recognizer.pipe.model
    generate = model.generate
    seen: list[int] = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("num_beams", model.generation_config.num_beams))
        return generate(*args, **kwargs)

    model.generate = spy
    return seen


class GreedyPipe:
    """``TransformersASR.transcribe_batch`` with ``num_beams=1`` added: what greedy decoding would cost."""

    def __init__(self, asr: TransformersASR, batch_size: int):
        self.asr, self.batch_size = asr, batch_size

    def transcribe_batch(self, clips: list[Clip], language: str) -> list[str]:
        inputs = [{"raw": samples.astype(np.float32), "sampling_rate": rate} for samples, rate in clips]
        generate = {"max_new_tokens": self.asr.max_new_tokens, "language": language, "task": "transcribe", "num_beams": 1}
        return [output["text"].strip() for output in self.asr.pipe(inputs, batch_size=self.batch_size, generate_kwargs=generate)]


def quiet_transformers() -> None:
    """No per-call generation warnings or progress bars between the results."""
    try:
        from transformers.utils import logging
    except ImportError:
        return
    logging.set_verbosity_error()
    logging.disable_progress_bar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=24, help="clips for faster-whisper (default 24; 0: skip it)")
    parser.add_argument("--transformers-model", default=None, help="Hub id or directory (default: tiny random Whisper)")
    parser.add_argument("--transformers-clips", type=int, default=32, help="clips for transformers (default 32; 0: all)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="timings per batch size for the speedup (best taken)")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="torch intra-op threads for transformers (default 1; 0: torch's own)"
    )
    parser.add_argument(
        "--no-greedy-check", dest="greedy_check", action="store_false", help="skip the num_beams=1 diagnostic line"
    )
    args = parser.parse_args()
    quiet_transformers()

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        started = time.perf_counter()
        clips = sample_clips(scratch)
        print(f"sample:en: {len(clips)} clips, {seconds_of(clips):.1f} s of audio, built in {time.perf_counter() - started:.1f} s")

        if args.clips <= 0:
            print("faster-whisper: --clips 0, skipped")
        elif importlib.util.find_spec("faster_whisper") and offline_whisper_base_files() is not None:
            subset = clips[: args.clips]
            started = time.perf_counter()
            whisper = FasterWhisper(ASRSpec(device=args.device), threads=None)
            load = time.perf_counter() - started
            whisper.transcribe_batch(subset[:1], "en")  # warm-up
            report(f"faster-whisper:base ({whisper.source})", load, subset, timed(whisper, subset))
            del whisper
        else:
            print("faster-whisper: not installed (or no offline Whisper base), skipped")

        if not (importlib.util.find_spec("transformers") and importlib.util.find_spec("torch")):
            print("transformers: not installed, skipped")
            print("batched_asr_speedup=nan")
            return
        model = args.transformers_model
        if model is None:
            from tests.models_whisper import build_tiny_whisper

            model = str(build_tiny_whisper(scratch / "tiny-whisper"))
            label = "transformers:tiny-random-whisper"
        else:
            label = f"transformers:{model}"
        subset = clips[: args.transformers_clips] if args.transformers_clips else clips
        import torch

        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        started = time.perf_counter()
        asr = TransformersASR(ASRSpec("transformers", model, args.device), batch_size=args.batch_size)
        load = time.perf_counter() - started
        beams = record_num_beams(asr)
        asr.transcribe_batch(subset[: args.batch_size], "en")  # warm-up
        batched = timed(asr, subset, args.repeats)
        report(f"{label} batch {args.batch_size}", load, subset, batched)
        asr.batch_size = 1
        single = timed(asr, subset, args.repeats)
        report(f"{label} batch 1", load, subset, single)
        print(
            f"transformers decoding: num_beams={sorted(set(beams))}, max_new_tokens={asr.max_new_tokens}, "
            f"torch threads {torch.get_num_threads()}"
        )
        if args.greedy_check and asr.is_whisper and set(beams) != {1}:
            # Diagnostic only, not the engine's number: the same pipeline and clips with num_beams=1.
            greedy_batched = timed(GreedyPipe(asr, args.batch_size), subset, args.repeats)
            greedy_single = timed(GreedyPipe(asr, 1), subset, args.repeats)
            print(
                f"diagnostic, not the engine as shipped: with num_beams=1 batch {args.batch_size} {greedy_batched:.2f} s, "
                f"batch 1 {greedy_single:.2f} s, speedup {greedy_single / greedy_batched:.1f}"
            )
    print(f"batched_asr_speedup={single / batched:.1f}")


if __name__ == "__main__":
    main()
