"""Where a build's recognition time goes: faster-whisper's encoder and decoder timed apart, at batch
1 and at a batch of clips, in one run. Prints the seconds of each part, ``encode_share`` (the
encoder's share of batch 1's time) and ``batched_asr_speedup`` (batch 1's time over the batch's).

The clips are the English sample's contexts and candidates spoken by espeak-ng, recognized in the
build's own decoding (``FasterWhisper._decode_windows``: log-mel features padded to a 30 s window,
one encode, one greedy generate without timestamps), whose three steps are timed apart.
In a 30 s window (every clip under ``--asr-window 30``) the encoder's cost per clip is fixed,
whatever the clip's length; batching can only share the decoder's weight reads. The encoder's share therefore
bounds what batching can give on a machine where the encoder is compute-bound (a CPU): at most
1 / encode_share, even with a free decoder. Last, the clips that fit a 10 s window (``--asr-window
auto``) encoded in one and in the 30 s window a failing clip is heard again in:
``encode_30_over_10``, the ratio of their encode times.

    PYTHONPATH=. python benchmarks/asr_split.py [--clips 32] [--batch 8] [--device cpu] [--repeats 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def spoken_clips(count: int) -> list[np.ndarray]:
    """``count`` clips (16 kHz mono float32) of the English sample's texts, spoken by espeak-ng."""
    import soundfile as sf

    from s2sbench import BuildOptions, build

    with tempfile.TemporaryDirectory(prefix="s2s-asr-split-") as scratch:
        output = Path(scratch) / "b"
        build(BuildOptions(source="sample:en", output=output, validate=False))
        paths = sorted((output / "audio").rglob("*.wav"))[:count]
        clips = []
        for path in paths:
            samples, rate = sf.read(path, dtype="float32")
            assert rate == 16000, (path, rate)
            clips.append(samples)
    return clips


def timed_parts(recognizer, clips: list[np.ndarray], batch: int, language: str = "en", seconds: int = 30) -> dict[str, float]:
    """Seconds of features, encode and generate for ``clips`` in batches of ``batch`` and windows of
    ``seconds``, in the build's own steps (``FasterWhisper.window_features``, the model's ``encode``,
    ``generate_windows``)."""
    tokenizer = recognizer.window_tokenizer(language)
    parts = {"features": 0.0, "encode": 0.0, "generate": 0.0}
    for start in range(0, len(clips), batch):
        began = time.perf_counter()
        features = recognizer.window_features(clips[start : start + batch], seconds)
        encoded_at = time.perf_counter()
        encoded = recognizer.model.encode(features)
        generated_at = time.perf_counter()
        recognizer.generate_windows(encoded, tokenizer, seconds)
        done = time.perf_counter()
        parts["features"] += encoded_at - began
        parts["encode"] += generated_at - encoded_at
        parts["generate"] += done - generated_at
    return parts


def best_of(repeats: int, recognizer, clips: list[np.ndarray], batch: int, seconds: int = 30) -> dict[str, float]:
    """The fastest of ``repeats`` passes of :func:`timed_parts` (its parts' sum decides)."""
    runs = [timed_parts(recognizer, clips, batch, seconds=seconds) for _ in range(repeats)]
    return min(runs, key=lambda parts: sum(parts.values()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--model", default="base")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many passes, per batch size")
    args = parser.parse_args()

    from s2sbench.validate.asr import ASRSpec, FasterWhisper, window_seconds

    clips = spoken_clips(args.clips)
    recognizer = FasterWhisper(ASRSpec(engine="faster-whisper", model=args.model, device=args.device))
    timed_parts(recognizer, clips[:2], 2)  # warm-up
    best = {batch: best_of(args.repeats, recognizer, clips, batch) for batch in (1, args.batch)}
    seconds = sum(len(c) for c in clips) / 16000
    print(f"{len(clips)} clips, {seconds:.0f} s of audio, Whisper {args.model} on {recognizer.model.model.device}")
    for batch, parts in best.items():
        total = sum(parts.values())
        print(f"batch {batch:2d}: features {parts['features']:6.2f} s  encode {parts['encode']:6.2f} s  "
              f"generate {parts['generate']:6.2f} s  total {total:6.2f} s")
    one, many = best[1], best[args.batch]
    print(f"encode_share={one['encode'] / sum(one.values()):.2f}")
    print(f"batched_asr_speedup={sum(one.values()) / sum(many.values()):.2f}")
    # What a clip heard again at 30 s costs over its first hearing in a 10 s window (--asr-window auto).
    fitting = [clip for clip in clips if window_seconds(len(clip) / 16000, "auto") == 10]
    short = best_of(args.repeats, recognizer, fitting, args.batch, seconds=10)
    print(f"window 10: the {len(fitting)} clips that auto encodes in 10 s, batch {args.batch}: encode {short['encode']:6.2f} s  "
          f"generate {short['generate']:6.2f} s  total {sum(short.values()):6.2f} s")
    full = best_of(args.repeats, recognizer, fitting, args.batch)
    print(f"window 30: the same clips: encode {full['encode']:6.2f} s  generate {full['generate']:6.2f} s  total {sum(full.values()):6.2f} s")
    print(f"encode_30_over_10={full['encode'] / short['encode']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
