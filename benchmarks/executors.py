"""Local and Ray executors on the same build, in one run: prints clips/s of each and their ratio,
and the Ray path's overhead, fixed and per item; last line ``ray_overhead_ms_per_item=X``.

Starts a local Ray cluster first (its start-up time is printed, not counted), then builds
``--source`` (default ``sample:en``, espeak, no validation unless ``--validate``) into fresh
directories with each executor. The overhead is measured on builds of each directory with its
clips already there and its items removed: every clip is found, none is made, so what remains is
the cost of moving items through the executor. Building the first item alone, then all of them,
separates the fixed cost of a run (Ray Data starting its actors) from the cost per item.

    PYTHONPATH=. python benchmarks/executors.py [--stories 300] [--cpus 2] [--validate]

``--stories N`` builds N generated StoryCloze-format stories instead of ``--source``: the sample's
28 items are too few to tell the overhead per item from the noise.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import ray

from s2sbench import BuildOptions, build
from s2sbench.pipeline import RayOptions


def timed_build(options: BuildOptions) -> tuple[float, int, int]:
    started = time.perf_counter()
    summary = build(options)
    return time.perf_counter() - started, summary.items_added, summary.clips_synthesized + summary.clips_reused


def rebuild_seconds(options: BuildOptions, limit: int | None) -> float:
    """Seconds to build ``limit`` items again from clips that all exist."""
    (options.output / "items.jsonl").write_bytes(b"")  # keep the clips, drop the items
    return timed_build(replace(options, limit=limit))[0]


def write_stories(path: Path, count: int) -> Path:
    """``count`` distinct five-sentence stories in the StoryCloze CSV format."""
    names, deeds = ["Ana", "Ben", "Carla", "Dev", "Elif", "Femi", "Goro", "Hana"], ["baked bread", "fixed a bike", "planted roses", "wrote a letter", "painted a fence"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["InputStoryid", "InputSentence1", "InputSentence2", "InputSentence3", "InputSentence4", "RandomFifthSentenceQuiz1", "RandomFifthSentenceQuiz2", "AnswerRightEnding"])
        for index in range(count):
            name, deed = names[index % len(names)], deeds[index // len(names) % len(deeds)]
            writer.writerow([f"s{index}", f"On day {index}, {name} {deed}.", "It took all afternoon.", "The weather was mild.", "Friends came by.",
                             f"{name} was proud of the work.", f"{name} turned into a cloud.", 1])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="sample:en")
    parser.add_argument("--stories", type=int, help="build this many generated stories instead of --source")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--validate", action="store_true", help="validate clips by ASR too")
    args = parser.parse_args()

    started = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="WARNING")
    print(f"ray start-up: {time.perf_counter() - started:.1f} s (not counted below)")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        source = str(write_stories(Path(scratch) / "stories.csv", args.stories)) if args.stories else args.source
        for executor in ("local", "ray"):
            options = BuildOptions(source=source, output=Path(scratch) / executor, lang=args.lang, validate=args.validate, executor=executor, ray=RayOptions())
            seconds, items, clips = timed_build(options)
            one, every = rebuild_seconds(options, 1), rebuild_seconds(options, None)
            results[executor] = (seconds, items, clips, one, (every - one) / (items - 1))
            print(f"{executor}: {items} items, {clips} clips in {seconds:.2f} s = {clips / seconds:.1f} clips/s; clips made already: 1 item {one:.2f} s, {items} items {every:.2f} s")
    ray.shutdown()
    local, on_ray = results["local"], results["ray"]
    print(f"ray_vs_local_clips_per_s={(on_ray[2] / on_ray[0]) / (local[2] / local[0]):.2f}")
    print(f"ray_fixed_overhead_s={on_ray[3] - local[3]:.2f}")
    print(f"ray_overhead_ms_per_item={(on_ray[4] - local[4]) * 1000:.1f}")


if __name__ == "__main__":
    main()
