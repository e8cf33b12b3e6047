"""The transformers ASR engine on a tiny random Whisper built in code (offline, CPU, a few seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from s2sbench.validate.asr import ASRSpec, TransformersASR, load_recognizer, recognizer_identity  # noqa: E402
from tests.models_whisper import build_tiny_whisper  # noqa: E402

RATE = 16000
MAX_NEW_TOKENS = 16  # random text never ends by itself: keep decoding short


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="module")
def recognizer(tiny_whisper) -> TransformersASR:
    return TransformersASR(ASRSpec("transformers", str(tiny_whisper), "cpu"), batch_size=8, max_new_tokens=MAX_NEW_TOKENS)


def make_clips(count: int = 5, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """Tones, chords and noise of 1 to 3 s at 16 kHz, all different."""
    rng = np.random.default_rng(seed)
    clips = []
    for index in range(count):
        seconds = 1.0 + (index % 3) * 0.75 + 0.25 * (index // 3)
        t = np.arange(int(seconds * RATE)) / RATE
        if index % 2 == 0:
            samples = 0.3 * np.sin(2 * np.pi * (150 + 170 * index) * t) + 0.2 * np.sin(2 * np.pi * 60 * (index + 3) * t)
            samples += 0.02 * rng.standard_normal(t.size)
        else:
            samples = 0.2 * rng.standard_normal(t.size)
        clips.append((samples.astype(np.float32), RATE))
    return clips


def test_tiny_whisper_directory_is_complete(tiny_whisper):
    names = {path.name for path in tiny_whisper.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"} <= names
    assert sum(path.stat().st_size for path in tiny_whisper.iterdir()) < 4_000_000


def test_transcribes_a_batch(recognizer):
    texts = recognizer.transcribe_batch(make_clips(5), "en")
    assert len(texts) == 5
    assert all(isinstance(text, str) for text in texts)
    # A random model, but not a constant one: the audio reaches the decoder.
    assert len(set(texts)) > 1, texts
    assert recognizer.is_whisper


def test_batched_equals_one_at_a_time(tiny_whisper, recognizer):
    clips = make_clips(5)
    batched = recognizer.transcribe_batch(clips, "en")  # batch_size 8: one batch of 5
    single = TransformersASR(ASRSpec("transformers", str(tiny_whisper), "cpu"), batch_size=1, max_new_tokens=MAX_NEW_TOKENS)
    assert single.transcribe_batch(clips, "en") == batched
    assert [recognizer.transcribe(samples, rate, "en") for samples, rate in clips] == batched
    # Uneven batches (2 + 2 + 1) give the same texts too.
    recognizer.batch_size = 2
    try:
        assert recognizer.transcribe_batch(clips, "en") == batched
    finally:
        recognizer.batch_size = 8


def test_deterministic_and_inputs_untouched(recognizer):
    clips = make_clips(3, seed=1)
    copies = [(samples.copy(), rate) for samples, rate in clips]
    first = recognizer.transcribe_batch(clips, "en")
    assert recognizer.transcribe_batch(clips, "en") == first
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(clips, copies))


def test_other_language_and_sample_rate(recognizer):
    samples, _ = make_clips(1)[0]
    assert isinstance(recognizer.transcribe(samples, RATE, "zh"), str)
    resampled = np.interp(np.arange(int(samples.size * 22050 / RATE)) * RATE / 22050, np.arange(samples.size), samples)
    assert isinstance(recognizer.transcribe(resampled.astype(np.float32), 22050, "en"), str)


def test_default_max_new_tokens_fits_the_model(tiny_whisper):
    """The engine's default of 128 new tokens fits the tiny model's 448 target positions."""
    recognizer = TransformersASR(ASRSpec("transformers", str(tiny_whisper), "cpu"))
    assert recognizer.max_new_tokens == 128
    text = recognizer.transcribe(make_clips(1)[0][0], RATE, "en")
    assert isinstance(text, str) and text


def test_parse_and_load_recognizer(tiny_whisper):
    spec = ASRSpec.parse(f"transformers:{tiny_whisper}", device="cpu")
    assert (spec.engine, spec.model, spec.device) == ("transformers", str(tiny_whisper), "cpu")
    assert str(spec) == f"transformers:{tiny_whisper}"
    recognizer = load_recognizer(spec)
    assert isinstance(recognizer, TransformersASR)
    assert len(recognizer.transcribe_batch(make_clips(2), "en")) == 2
    assert recognizer_identity(spec) == recognizer.identity()  # what a Ray driver records without loading it


def test_identity(recognizer, tiny_whisper):
    from importlib.metadata import version

    identity = recognizer.identity()
    assert identity["engine"] == "transformers"
    assert identity["model"] == str(tiny_whisper)
    assert identity["version"] == version("transformers")


def test_missing_model_is_an_engine_error(tmp_path):
    from s2sbench.errors import EngineError

    with pytest.raises(EngineError, match="cannot load transformers ASR model"):
        TransformersASR(ASRSpec("transformers", str(tmp_path / "nowhere"), "cpu"))


def test_decodes_greedily_like_faster_whisper(recognizer):
    """Without an explicit num_beams=1 the pipeline adds its own default of 5 beams for any model whose
    generation_config.json leaves num_beams unset (openai/whisper-* included): 5x the decoder work, and
    batching buys nothing (beam search reorders the whole cross-attention cache every step)."""
    model = recognizer.pipe.model
    generate = model.generate
    beams: list[int] = []

    def spy(*args, **kwargs):
        beams.append(kwargs.get("num_beams", model.generation_config.num_beams))
        return generate(*args, **kwargs)

    model.generate = spy
    try:
        recognizer.transcribe_batch(make_clips(2), "en")
    finally:
        del model.generate
    assert beams and set(beams) == {1}, beams
