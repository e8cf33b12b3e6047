"""Synthesis speed and intelligibility per installed engine on ``sample:en``: clips/s, real-time factor,
and the error of Whisper base hearing each clip.

For each engine that loads here (espeak; piper with its packaged voice; Kokoro-82M with its offline
model and first voice; Coqui with a model given by --coqui-model, or a tiny random VITS built on the
spot, which measures the code path, not a real voice), speaks the same texts of the sample once,
without the cache, and prints one line per engine:
``engine=... clips=N clips_per_s=X rtf=Y wer_mean=A wer_median=B`` where rtf = synthesis seconds /
audio seconds and the WER is the build's own check (faster-whisper base, int8, Whisper's English
normalizer) on the finished 16 kHz clip. ``--texts N`` takes the first N texts (all by default).

Then ``espeak_zygote_speedup``: espeak-ng's seconds a clip spoken in a fork of this process (which by
then holds Whisper base, as a validating builder does) over the seconds spoken through the zygote (a
small process forked instead), on the same texts, in turn, best of two rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def recognizer():
    """Whisper base as a build checks English with it (None when faster-whisper is not installed)."""
    try:
        from s2sbench.validate.asr import ASRSpec, FasterWhisper
    except ImportError:
        return None
    try:
        return FasterWhisper(ASRSpec.parse("faster-whisper:base", device="cpu"))
    except EngineError:
        return None


def measure(spec: TTSSpec, texts: list[str], voice: str | None, whisper) -> str:
    engine = load_engine(spec)
    engine.synthesize(texts[0], "en", VoiceSettings(voice=voice))  # warm-up, not timed
    audio = AudioOptions()
    synth_seconds = audio_seconds = 0.0
    clips = []
    for text in texts:
        started = time.perf_counter()
        samples, rate = engine.synthesize(text, "en", VoiceSettings(voice=voice))
        clip = finish(samples, rate, audio)
        synth_seconds += time.perf_counter() - started
        audio_seconds += len(clip) / audio.sample_rate
        clips.append(clip)
    line = f"engine={spec} clips={len(texts)} clips_per_s={len(texts) / synth_seconds:.2f} rtf={synth_seconds / audio_seconds:.4f}"
    if whisper is not None:
        from s2sbench.normalize import whisper_english, word_error_rate

        errors = [word_error_rate(whisper_english(text), whisper_english(whisper.transcribe(clip, audio.sample_rate, "en")))
                  for text, clip in zip(texts, clips)]
        line += f" wer_mean={statistics.mean(errors):.3f} wer_median={statistics.median(errors):.3f}"
    return line


def zygote_speedup(texts: list[str]) -> str:
    """espeak-ng forked from this (large) process against the zygote, in turn, best of two rounds."""
    import resource

    from s2sbench.synth import espeak

    engine = load_engine(TTSSpec("espeak"))
    settings = VoiceSettings(voice="en-us")
    engine.synthesize(texts[0], "en", settings)  # starts the zygote
    best = {"fork of this process": float("inf"), "zygote": float("inf")}
    for _ in range(2):
        for label, speak in (("fork of this process", lambda text: espeak._spoken_in_child("en-us", 175, text)),
                             ("zygote", lambda text: engine.synthesize(text, "en", settings))):
            started = time.perf_counter()
            for text in texts:
                speak(text)
            best[label] = min(best[label], (time.perf_counter() - started) / len(texts))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"espeak_zygote_speedup={best['fork of this process'] / best['zygote']:.2f} (a clip: {best['fork of this process'] * 1000:.1f} ms "
            f"forked from this {rss:.0f} MB process, {best['zygote'] * 1000:.1f} ms through the zygote)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coqui-model", help="a Coqui model name or directory (default: a tiny random VITS)")
    parser.add_argument("--texts", type=int, default=None, help="the first N texts of the sample (default: all)")
    parser.add_argument("--engines", default="espeak,piper,kokoro,coqui", help="which engines, comma-separated")
    args = parser.parse_args()
    texts = sample_texts("en")[: args.texts]
    wanted = set(args.engines.split(","))
    whisper = recognizer()
    with tempfile.TemporaryDirectory() as scratch:
        coqui_model = args.coqui_model
        if coqui_model is None and "coqui" in wanted:
            try:
                from tests.models import build_tiny_vits

                coqui_model = str(build_tiny_vits(Path(scratch) / "tiny-vits"))
            except ImportError as exc:
                print(f"engine=coqui skipped: {exc}")
        candidates = [(TTSSpec("espeak"), "en-us"), (TTSSpec("piper"), None), (TTSSpec("kokoro"), None)]
        candidates = [(spec, voice) for spec, voice in candidates if spec.engine in wanted]
        if coqui_model and "coqui" in wanted:
            candidates.append((TTSSpec("coqui", coqui_model), None))
        for spec, voice in candidates:
            try:
                print(measure(spec, texts, voice, whisper), flush=True)
            except EngineError as exc:
                print(f"engine={spec} skipped: {exc}")
    if "espeak" in wanted:
        print(zygote_speedup(texts), flush=True)


if __name__ == "__main__":
    main()
