"""Synthesis speed per installed engine on ``sample:en``: clips/s and real-time factor.

For each engine that loads here (espeak; piper with its packaged voice; Coqui with a model given by
--coqui-model, or a tiny random VITS built on the spot, which measures the code path, not a real
voice), speaks every text of the sample once, without the cache, and prints one line per engine:
``engine=... clips=N clips_per_s=X rtf=Y`` where rtf = synthesis seconds / audio seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib import resources
from pathlib import Path

from s2sbench.errors import EngineError
from s2sbench.synth import TTSSpec, VoiceSettings, load_engine
from s2sbench.synth.postprocess import AudioOptions, finish


def sample_texts(lang: str) -> list[str]:
    texts = []
    for line in (resources.files("s2sbench.sample") / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        texts += [record["context"], *record["candidates"]]
    return texts


def measure(spec: TTSSpec, texts: list[str], voice: str | None) -> str:
    engine = load_engine(spec)
    engine.synthesize(texts[0], "en", VoiceSettings(voice=voice))  # warm-up, not timed
    audio = AudioOptions()
    synth_seconds = audio_seconds = 0.0
    for text in texts:
        started = time.perf_counter()
        samples, rate = engine.synthesize(text, "en", VoiceSettings(voice=voice))
        clip = finish(samples, rate, audio)
        synth_seconds += time.perf_counter() - started
        audio_seconds += len(clip) / audio.sample_rate
    return f"engine={spec} clips={len(texts)} clips_per_s={len(texts) / synth_seconds:.1f} rtf={synth_seconds / audio_seconds:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coqui-model", help="a Coqui model name or directory (default: a tiny random VITS)")
    args = parser.parse_args()
    texts = sample_texts("en")
    with tempfile.TemporaryDirectory() as scratch:
        coqui_model = args.coqui_model
        if coqui_model is None:
            try:
                from tests.models import build_tiny_vits

                coqui_model = str(build_tiny_vits(Path(scratch) / "tiny-vits"))
            except ImportError as exc:
                print(f"engine=coqui skipped: {exc}")
        candidates = [(TTSSpec("espeak"), "en-us"), (TTSSpec("piper"), None)]
        if coqui_model:
            candidates.append((TTSSpec("coqui", coqui_model), None))
        for spec, voice in candidates:
            try:
                print(measure(spec, texts, voice), flush=True)
            except EngineError as exc:
                print(f"engine={spec} skipped: {exc}")


if __name__ == "__main__":
    main()
