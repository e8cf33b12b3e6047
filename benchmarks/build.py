"""Batched builds: the same generated source built at batch size 1 and at the default batch, in one
run. Prints clips/s of each and ``build_batched_speedup=X``, then the peak memory (RSS) of builds of
N and 4N items and ``rss_4n_over_n=X``, and the projected wall time of a 3742-item sStoryCloze build.

Each build runs in a fresh process (so its peak RSS is its own) into a fresh directory (so every
clip is synthesized and recognized), with espeak-ng and validation by ``--asr`` (default Whisper
base, faster-whisper) on ``--device``; ``--retries 0`` by default, so both builds do the same work.

    PYTHONPATH=. python benchmarks/build.py [--stories 30] [--device cuda] [--batch-size 8]

Targets (issue 14): ``build_batched_speedup >= 1.25`` on a 2-core CPU, ``>= 5`` with faster-whisper
on a GPU; ``rss_4n_over_n <= 1.10``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.executors import write_stories
from s2sbench.build.options import DEFAULT_BATCH_SIZE

STORYCLOZE_ITEMS = 3742  # sStoryCloze: 3742 two-way items, 3 clips each


def _build(source: str, output: str, options: dict, results: multiprocessing.Queue) -> None:
    from s2sbench import BuildOptions, build

    started = time.perf_counter()
    summary = build(BuildOptions(source=source, output=Path(output), **options))
    seconds = time.perf_counter() - started
    clips = summary.clips_synthesized + summary.clips_reused  # every clip is checked: a text two items share is one file
    results.put((seconds, clips, summary.items, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measured_build(source: str, output: Path, **options) -> tuple[float, int, int, float]:
    """(seconds, clips in the build, items, peak RSS in MiB) of one build in a fresh process."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_build, args=(source, str(output), options, results))
    process.start()
    outcome = results.get()
    process.join()
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=30, help="N: generated StoryCloze-format items (3 clips each)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="the batched build's batch size")
    parser.add_argument("--asr", default="faster-whisper:base")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--retries", type=int, default=0)
    args = parser.parse_args()
    options = {"lang": "en", "asr": args.asr, "device": args.device, "retries": args.retries}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = str(write_stories(root / "stories.csv", args.stories))
        rates = {}
        for batch_size in (1, args.batch_size):
            seconds, clips, items, rss = measured_build(source, root / f"batch{batch_size}", batch_size=batch_size, **options)
            rates[batch_size] = clips / seconds
            print(f"batch {batch_size}: {items} items, {clips} clips in {seconds:.1f} s = {rates[batch_size]:.2f} clips/s, peak RSS {rss:.0f} MiB", flush=True)
        print(f"build_batched_speedup={rates[args.batch_size] / rates[1]:.2f}")
        hours = STORYCLOZE_ITEMS * 3 / rates[args.batch_size] / 3600
        print(f"projected sStoryCloze build ({STORYCLOZE_ITEMS} items, {STORYCLOZE_ITEMS * 3} clips) at batch {args.batch_size}: {hours:.1f} h")

        many = str(write_stories(root / "stories4.csv", 4 * args.stories))
        peaks = {}
        for label, items_source in (("N", source), ("4N", many)):
            seconds, clips, items, rss = measured_build(items_source, root / f"rss-{label}", batch_size=args.batch_size, **options)
            peaks[label] = rss
            print(f"{label}: {items} items, {clips} clips in {seconds:.1f} s, peak RSS {rss:.0f} MiB", flush=True)
        print(f"rss_4n_over_n={peaks['4N'] / peaks['N']:.3f}")


if __name__ == "__main__":
    main()
