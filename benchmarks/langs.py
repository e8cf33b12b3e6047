"""Every bundled language's round trip, as a measured table: prints ``langs_passed=N/M`` last.

For each bundled profile (or the codes given), speaks the profile's check sentence with its default
engine and voice and recognizes it back with its ASR (`s2s langs check`, with one recognizer loaded
once), then prints the Markdown table of docs/adding-a-language.md and the margin of each language
(threshold - error: how far a patch release of either engine may move it before the verdict flips).

These figures sit near their thresholds for several languages, which is why they are measured
here and not asserted in the tests.

    PYTHONPATH=. python benchmarks/langs.py            # every bundled profile
    PYTHONPATH=. python benchmarks/langs.py en sw zh
"""

from __future__ import annotations

import argparse
import time
import warnings

from s2sbench.langs import check, check_table
from s2sbench.profiles import bundled_profiles, load_profile
from s2sbench.validate.asr import ASRSpec, load_recognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("codes", nargs="*", help="language codes (default: every bundled profile)")
    args = parser.parse_args()
    codes = args.codes or [code for code in bundled_profiles() if load_profile(code).asr_engine == "faster-whisper"]
    recognizers = {}
    results = []
    started = time.perf_counter()
    for code in codes:
        profile = load_profile(code)
        spec = ASRSpec(profile.asr_engine, profile.asr_model, "cpu")
        if spec not in recognizers:
            recognizers[spec] = load_recognizer(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(check(code, recognizer=recognizers[spec]))
    print(check_table(results))
    print()
    for result in results:
        print(f"margin {result.code}: {result.threshold - result.error:+.3f} ({result.metric} {result.error:.3f} against {result.threshold:g})")
    print(f"seconds={time.perf_counter() - started:.1f}")
    print(f"langs_passed={sum(r.passed for r in results)}/{len(results)}")


if __name__ == "__main__":
    main()
