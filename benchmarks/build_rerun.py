"""Re-running an identical build must be nearly free: prints ``rerun_speedup=X`` last.

Builds ``sample:en`` (or --source) into a fresh directory, then runs the same build again, both in
this process, and prints first-run time / second-run time. Target: at least 20.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from s2sbench import BuildOptions, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", default="sample:en")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--tts", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        options = BuildOptions(source=args.source, output=Path(scratch) / "build", lang=args.lang, tts=args.tts)
        started = time.perf_counter()
        first = build(options)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = build(options)
        second_seconds = time.perf_counter() - started
    print(f"first run: {first.items} items, {first.clips_synthesized} clips synthesized, {first_seconds:.3f} s")
    print(f"second run: {second.clips_synthesized} clips synthesized, {second_seconds:.3f} s")
    print(f"rerun_speedup={first_seconds / second_seconds:.1f}")


if __name__ == "__main__":
    main()
