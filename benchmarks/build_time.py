"""Where a validated build's time goes: synthesis, loudness, recognition, the rest of the checks, I/O.

One validated build of ``--items`` generated items (benchmarks/scale.py's stories and questions,
espeak-ng, Whisper base, ``--retries 0``) under cProfile, every thread profiled (the executor's
synthesis and recognition run in threads of their own, and overlap). Each share is the cumulative time
of one component's calls (:data:`COMPONENTS`: recognition, synthesis, loudness, trimming and
resampling, encoding, signal checks, verdicts, clip I/O), printed with its ratio to the build's wall
time (the shares of overlapping threads can add up to more than 1), then the largest share after
recognition (``next_share=NAME``). ``recognition: heard again at 30 s`` is part of recognition: the
clips a short window failed on their transcript, heard again with Whisper's 30 s window
(:mod:`s2sbench.validate.cache`), whose encoder reads three times the frames of a 10 s window.

    PYTHONPATH=. python benchmarks/build_time.py [--items 100]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

# (share, file, function): the share is the cumulative time of these calls, in whatever thread made them.
COMPONENTS = (
    ("recognition", "s2sbench/validate/asr.py", "transcribe_batch"),
    # part of recognition: the clips a short window failed on their transcript, heard again at 30 s
    ("recognition: heard again at 30 s", "s2sbench/validate/cache.py", "_hear_fully"),
    ("synthesis", "s2sbench/synth/espeak.py", "synthesize"),  # espeak-ng in a forked child: the fork, its speech, the pipe
    ("loudness", "s2sbench/synth/postprocess.py", "normalize_lufs"),
    ("trim, resample", "s2sbench/synth/postprocess.py", "trim_silence"),
    ("trim, resample", "s2sbench/synth/postprocess.py", "resample"),
    ("encode", "s2sbench/synth/postprocess.py", "encode"),
    ("signal checks", "s2sbench/validate/checks.py", "check_signal"),
    ("verdicts (normalize, error rate)", "s2sbench/validate/verdicts.py", "judge"),
    ("clip I/O", "s2sbench/storage.py", "write"),
    ("clip I/O", "s2sbench/storage.py", "read"),
    ("clip I/O", "s2sbench/storage.py", "open"),
)


def profile_every_thread() -> list[cProfile.Profile]:
    """A profiler for this thread (first) and one for every thread started from now on: the local
    executor synthesizes and recognizes in threads of its own, which one profiler would not see."""
    profiles = [cProfile.Profile()]
    run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            run(thread)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run
    return profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.scale import write_items
    from s2sbench import BuildOptions, build

    with tempfile.TemporaryDirectory() as scratch:
        source = write_items(Path(scratch) / "items.jsonl", args.items)
        profiles = profile_every_thread()
        started = time.perf_counter()
        profiles[0].enable()
        summary = build(BuildOptions(source=str(source), output=Path(scratch) / "build", format="items", lang="en", retries=0))
        profiles[0].disable()
        wall = time.perf_counter() - started
        verdicts = json.loads((Path(scratch) / "build" / "validation.json").read_text(encoding="utf-8"))["clips"]
        reheard = sum(1 for verdict in verdicts if "short_window" in verdict)
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():
        for name, file, wanted in COMPONENTS:
            if filename.endswith(file) and function == wanted:
                totals[name] = totals.get(name, 0.0) + cumulative
    clips = summary.clips_synthesized + summary.clips_reused
    print(f"build: {summary.items} items, {clips} clips, {wall:.1f} s wall ({clips / wall:.2f} clips/s), "
          f"{reheard} clips heard again at 30 s")
    for name, seconds in sorted(totals.items(), key=lambda pair: -pair[1]):
        print(f"share={name} seconds={seconds:.1f} of_wall={seconds / wall:.3f}")
    rest = sorted(((seconds, name) for name, seconds in totals.items() if not name.startswith("recognition")), reverse=True)
    print(f"next_share={rest[0][1] if rest else 'none'}")


if __name__ == "__main__":
    main()
