"""Validation: signal checks, ASR round trip, retries, normalizers, reports and s2s validate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2sbench import BuildOptions, build
from s2sbench.normalize import METRICS, chain, character_error_rate, word_error_rate
from s2sbench.profiles import load_profile
from s2sbench.progress import calling
from s2sbench.synth import ENGINES, TTSSpec, VoiceSettings
from s2sbench.synth.espeak import EspeakEngine
from s2sbench.validate.revalidate import RevalidateOptions, validate_build
from s2sbench.validate.verdicts import MAX_COMPRESSION_RATIO, ClipValidator, Thresholds, compression_ratio


def read_items(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "items.jsonl").read_text().splitlines()]


# Reports on the sample build ---------------------------------------------------------------


def test_sample_report_files_have_consistent_counts(sample_en_build: Path):
    report = json.loads((sample_en_build / "validation.json").read_text())
    manifest = json.loads((sample_en_build / "build.json").read_text())
    counts = report["counts"]
    assert counts["passed"] + counts["failed"] == counts["clips"] == manifest["counts"]["clips"] == len(report["clips"])
    assert counts["items_passed"] + counts["items_failed"] == 10
    assert counts["passed"] / counts["clips"] >= 0.8
    by_part = report["by"]["part"]
    assert sum(sum(v.values()) for v in by_part.values()) == counts["clips"]
    assert manifest["validation"]["asr"]["engine"] == "faster-whisper" and manifest["validation"]["metric"] == "wer"
    markdown = (sample_en_build / "validation.md").read_text()
    assert f"{counts['passed']} of {counts['clips']} clips passed" in markdown
    for heading in ("by subset", "by voice", "by part", "worst clips", "Error distribution"):
        assert heading in markdown
    assert (sample_en_build / "validation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_clip_has_a_complete_verdict(sample_en_build: Path):
    for item in read_items(sample_en_build):
        verdicts = [item["validation"]["context"], *item["validation"]["candidates"]]
        assert len(verdicts) == 1 + len(item["candidates"])
        for verdict in verdicts:
            assert {"asr", "reference", "hypothesis", "error", "metric", "passed", "reasons", "tries"} <= set(verdict)
            assert verdict["passed"] == (not verdict["reasons"])
            assert 1 <= verdict["tries"] <= 3
        assert item["validation"]["passed"] == all(v["passed"] for v in verdicts)


# Corrupted clips -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator(whisper) -> ClipValidator:
    profile = load_profile("en")
    return ClipValidator(whisper, profile, Thresholds.from_profile(profile, 16000))


@pytest.fixture
def good_clip(sample_en_build: Path, tmp_path: Path) -> tuple[Path, str, np.ndarray]:
    item = read_items(sample_en_build)[0]
    samples, _ = sf.read(sample_en_build / item["audio"]["context"], dtype="float32")
    return tmp_path / "clip.wav", item["context"], samples


def test_a_good_clip_passes(validator, good_clip):
    path, text, samples = good_clip
    sf.write(path, samples, 16000)
    verdict = validator.check(path, text, "en")
    assert verdict["passed"] and verdict["reasons"] == [] and verdict["error"] <= 0.35


def test_silence_is_caught(validator, good_clip):
    path, text, samples = good_clip
    sf.write(path, np.zeros_like(samples), 16000)
    verdict = validator.check(path, text, "en")
    assert "silent" in verdict["reasons"] and not verdict["passed"]


def test_a_truncated_clip_is_caught(validator, good_clip):
    path, text, samples = good_clip
    sf.write(path, samples[: len(samples) // 3], 16000)
    verdict = validator.check(path, text, "en")
    assert "too_fast" in verdict["reasons"] and "asr_error" in verdict["reasons"]


def test_a_clip_of_another_sentence_is_caught(validator, good_clip, sample_en_build: Path):
    path, text, _ = good_clip
    other = read_items(sample_en_build)[2]  # another story, of about the same length: only the words are wrong
    shutil.copy(sample_en_build / other["audio"]["context"], path)
    verdict = validator.check(path, text, "en")
    assert verdict["reasons"] == ["asr_error"] and verdict["error"] > 0.7


def test_a_saturated_clip_is_caught(validator, good_clip):
    path, text, samples = good_clip
    sf.write(path, np.clip(samples * 30, -1, 1), 16000)
    assert "clipping" in validator.check(path, text, "en")["reasons"]


def test_an_8khz_stereo_file_is_caught(validator, good_clip):
    path, text, samples = good_clip
    narrow = samples[::2]
    sf.write(path, np.stack([narrow, narrow], axis=1), 8000)
    reasons = validator.check(path, text, "en")["reasons"]
    assert "sample_rate" in reasons and "channels" in reasons


def test_long_leading_silence_is_caught(validator, good_clip):
    path, text, samples = good_clip
    sf.write(path, np.concatenate([np.zeros(16000 * 2, dtype=np.float32), samples]), 16000)
    assert "leading_silence" in validator.check(path, text, "en")["reasons"]


def test_an_unreadable_file_is_caught(validator, tmp_path: Path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00garbage")
    verdict = validator.check(path, "Some words.", "en")
    assert verdict["reasons"][0] == "unreadable" and not verdict["passed"]


class LoopingRecognizer:
    """What Whisper base gave back for espeak-ng's Swahili once: one syllable until the token limit."""

    def transcribe(self, samples, sample_rate, language):
        return "Y'ka ni'ka" + "'u'a" * 60


def test_a_looping_transcript_is_a_hallucination(good_clip):
    path, text, samples = good_clip
    sf.write(path, samples, 16000)
    profile = load_profile("en")
    loose = ClipValidator(LoopingRecognizer(), profile, Thresholds.from_profile(profile, 16000, max_error=10.0))
    verdict = loose.check(path, text, "en")
    assert verdict["reasons"] == ["hallucination"] and not verdict["passed"]  # the error alone would pass at 10


def test_compression_ratio_separates_speech_from_loops():
    sentence = "My neighbor missed the bus this morning, so she walked to work."
    assert compression_ratio("") == 0.0
    assert compression_ratio(sentence) < 1.5 < MAX_COMPRESSION_RATIO < compression_ratio("la " * 40)


# Retries ---------------------------------------------------------------------------------------


class WrongFirstTry(EspeakEngine):
    """espeak-ng that speaks an unrelated sentence on the first try (seed 0) of every clip."""

    wrong_until_seed = 1

    def synthesize(self, text: str, language: str, settings: VoiceSettings):
        if settings.seed < self.wrong_until_seed:
            text = "Purple elephants dance quietly under the frozen waterfall tonight."
        return super().synthesize(text, language, settings)


class AlwaysWrong(WrongFirstTry):
    wrong_until_seed = 99


class ScrambledFirstTry(EspeakEngine):
    """espeak-ng that speaks the text's words in reverse order on the first try: the same sounds at
    the same rate (so no signal reason), a word error rate far above 0.35 but finite."""

    def synthesize(self, text: str, language: str, settings: VoiceSettings):
        if settings.seed == 0:
            text = " ".join(reversed(text.split()))
        return super().synthesize(text, language, settings)


@pytest.fixture
def flaky_engines(monkeypatch):
    monkeypatch.setitem(ENGINES, "wrong-first", lambda spec: WrongFirstTry(TTSSpec("espeak")))
    monkeypatch.setitem(ENGINES, "always-wrong", lambda spec: AlwaysWrong(TTSSpec("espeak")))
    monkeypatch.setitem(ENGINES, "scrambled-first", lambda spec: ScrambledFirstTry(TTSSpec("espeak")))


@pytest.fixture
def measurements(monkeypatch) -> list[str]:
    """The texts of every clip the recognizer is asked to transcribe (builds run in this process)."""
    texts: list[str] = []
    measure_batch = ClipValidator.measure_batch

    def counted(self, clips):
        texts.extend(text for _, text, _ in clips)
        return measure_batch(self, clips)

    monkeypatch.setattr(ClipValidator, "measure_batch", counted)
    return texts


def test_a_higher_max_error_on_a_rerun_keeps_the_best_passing_attempt_and_transcribes_nothing(flaky_engines, measurements, tmp_path: Path):
    output = tmp_path / "b"
    # The 30 s window: each clip heard once (under auto a failing clip is heard twice: the next test).
    options = {"source": "sample:en", "output": output, "tts": "scrambled-first", "limit": 1, "speak": "context", "retries": 2, "asr_window": "30"}
    build(BuildOptions(**options))
    strict = read_items(output)[0]["validation"]["context"]
    first_error = strict["rejected"][0]["error"]
    assert strict["passed"] and strict["tries"] == 2 and strict["error"] < 0.35 < first_error < 5.0
    assert len(measurements) == 2

    summary = build(BuildOptions(**options, max_error=5.0))  # the first, scrambled attempt passes now too

    loose = read_items(output)[0]["validation"]["context"]
    assert len(measurements) == 2 and summary.clips_synthesized == 0  # nothing spoken or transcribed again
    assert loose["passed"] and loose["tries"] == 2
    assert loose["error"] == strict["error"] < first_error  # the retry's clip, not the first that now passes
    assert read_items(output)[0]["audio"]["context"] != strict["rejected"][0]["path"]
    assert loose["rejected"][0]["error"] == first_error and loose["rejected"][0]["reasons"] == []


def test_a_clip_failing_a_short_window_is_heard_again_at_30_s_and_the_verdict_names_its_window(flaky_engines, measurements, tmp_path: Path):
    output = tmp_path / "b"
    options = {"source": "sample:en", "output": output, "tts": "scrambled-first", "limit": 1, "speak": "context", "retries": 2, "asr_window": "auto"}
    build(BuildOptions(**options))
    item = read_items(output)[0]
    verdict = item["validation"]["context"]
    assert verdict["passed"] and verdict["tries"] == 2 and verdict["window"] in (10, 15, 20)  # the retry passed its short window
    assert len(measurements) == 3  # the scrambled try: its short window, then 30 s; the retry: its short window
    [record] = [json.loads(path.read_text()) for path in (output / ".verdicts").rglob("*.json")]
    first = record["measured"][record["attempts"][0]["path"]]["measurement"]
    assert first["window"] == verdict["window"] and first["full"]["window"] == 30  # the same clip length, so the same window
    assert verdict["rejected"][0]["error"] == round(first["full"]["error"], 4)  # the 30 s hearing decided the failure
    manifest = json.loads((output / "build.json").read_text())
    assert manifest["validation"]["asr"]["window"] == "auto"

    build(BuildOptions(**options))
    assert len(measurements) == 3 and read_items(output)[0]["validation"] == item["validation"]  # kept, heard again by no window

    validate_build(output, RevalidateOptions())  # auto, the window the build was made with: nothing to hear again
    assert len(measurements) == 3
    assert read_items(output)[0]["validation"] == item["validation"]  # the attempts the build threw away included
    validate_build(output, RevalidateOptions(asr_window="30"))  # another recognizer identity, measured anew
    assert len(measurements) == 4  # the item's clip, at 30 s
    again = read_items(output)[0]["validation"]["context"]
    assert again["window"] == 30 and (again["tries"], again["rejected"]) == (2, verdict["rejected"])  # the build's attempts, still said
    assert json.loads((output / "build.json").read_text())["validation"]["asr"]["window"] == "30"


def test_window_buckets_depend_on_the_clip_length_alone():
    from s2sbench.errors import EngineError
    from s2sbench.validate.asr import ASRSpec, recognizer_identity, window_seconds

    assert [window_seconds(d, "auto") for d in (1.0, 8.999, 9.001, 14.0, 18.5, 19.2, 29.0, 30.0)] == [10, 10, 15, 15, 20, 30, 30, 30]
    assert window_seconds(30.001, "auto") is None and window_seconds(30.001, "30") is None  # long-form
    assert {window_seconds(d, "30") for d in (1.0, 12.0, 30.0)} == {30}
    auto, full = (recognizer_identity(ASRSpec.parse("faster-whisper:base", window=w)) for w in ("auto", "30"))
    assert auto["window"] == "auto" and full["window"] == "30" and {**auto, "window": "30"} == full
    with pytest.raises(EngineError, match="--asr-window"):
        ASRSpec.parse("faster-whisper:base", window="12")


def test_short_windows_batch_by_window_and_match_each_clip_alone(sample_en_build: Path, whisper):
    paths = sorted((sample_en_build / "audio").rglob("*.wav"))
    clips = [sf.read(path, dtype="float32") for path in paths[:10]]
    auto = whisper.with_window("auto")
    windows = [auto.window_of(round(len(samples) / rate, 3)) for samples, rate in clips]
    assert len(set(windows)) >= 2  # clips of two windows in one batch
    assert auto.transcribe_batch(clips, "en") == [auto.transcribe_batch([clip], "en")[0] for clip in clips]
    full = auto.at_full_window()
    assert full.model is auto.model and full.spec.window == "30" and auto.spec.window == "auto" and whisper.with_window("30") is whisper
    assert full.window_features([clips[0][0]]).shape[-1] == 3000
    assert auto.window_features([clips[0][0]], windows[0]).shape[-1] == windows[0] * 100


@pytest.mark.parametrize("window", ["30", "auto"])
def test_validate_judges_kept_measurements_again_and_measures_a_replaced_clip(flaky_engines, measurements, tmp_path: Path, window: str):
    output = tmp_path / "b"
    build(BuildOptions(source="sample:en", output=output, limit=2, speak="context", tts="espeak", retries=0, asr_window=window))
    assert len(measurements) == 2
    built = read_items(output)

    report = validate_build(output, RevalidateOptions(max_error=0.0, asr_window=window))
    strict = read_items(output)
    if window == "30":
        assert len(measurements) == 2  # the build's recognizer measured every clip already
        assert [i["validation"]["context"]["error"] for i in strict] == [i["validation"]["context"]["error"] for i in built]
    else:  # a clip failing its short window now is heard at 30 s, once: a second run transcribes nothing
        failing_short = [i["context"] for i in built if i["validation"]["context"]["error"] > 0]
        assert measurements[2:] == failing_short
        assert all(i["validation"]["context"]["window"] == 30 for i in strict if i["context"] in failing_short)
        validate_build(output, RevalidateOptions(max_error=0.0, asr_window=window))
        assert measurements[2:] == failing_short and read_items(output) == strict
    assert report.clips_failed == sum(i["validation"]["context"]["error"] > 0 for i in strict)

    count = len(measurements)
    replaced = output / strict[1]["audio"]["context"]
    replaced.write_bytes((output / strict[0]["audio"]["context"]).read_bytes())  # another clip's speech
    validate_build(output, RevalidateOptions(asr_window=window))
    assert set(measurements[count:]) == {strict[1]["context"]}  # only the changed clip is transcribed again (auto: twice)
    assert read_items(output)[1]["validation"]["context"]["error"] > 0.35


def test_a_clip_wrong_on_the_first_try_is_resynthesized_and_passes(flaky_engines, tmp_path: Path):
    summary = build(BuildOptions(source="sample:en", output=tmp_path / "b", tts="wrong-first", limit=1, speak="context", retries=2))
    verdict = read_items(tmp_path / "b")[0]["validation"]["context"]
    assert verdict["passed"] and verdict["tries"] == 2
    assert len(verdict["rejected"]) == 1 and "asr_error" in verdict["rejected"][0]["reasons"]
    assert verdict["rejected"][0]["rate"] == 1.0 and summary.items_failed == 0


def test_a_clip_that_never_passes_is_kept_as_failed_and_reported(flaky_engines, tmp_path: Path):
    summary = build(BuildOptions(source="sample:en", output=tmp_path / "b", tts="always-wrong", limit=1, speak="context", retries=1))
    item = read_items(tmp_path / "b")[0]
    assert not item["validation"]["passed"] and item["validation"]["context"]["tries"] == 2
    assert summary.items_failed == 1 and summary.items == 1
    assert item["id"] in (tmp_path / "b" / "validation.md").read_text()


# s2s validate ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_build(tmp_path_factory) -> Path:
    """Five items, their contexts spoken and validated: five clips, so re-validating is quick."""
    output = tmp_path_factory.mktemp("small") / "b"
    build(BuildOptions(source="sample:en", output=output, limit=5, speak="context"))
    return output


def test_revalidation_updates_verdicts_in_place(small_build: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(small_build, copy)
    report = validate_build(copy, RevalidateOptions(max_error=0.0))
    items = read_items(copy)
    strict_failures = sum(not v["passed"] for i in items for v in [i["validation"]["context"], *(i["validation"]["candidates"] or [])])
    assert report.clips_failed == strict_failures > 0
    assert json.loads((copy / "build.json").read_text())["validation"]["max_error"] == 0.0
    assert json.loads((copy / "validation.json").read_text())["counts"]["failed"] == strict_failures
    assert "## All 5 clips, worst first" in (copy / "validation.md").read_text()  # not "the 5 worst" of 5
    assert not (copy / ".validate-progress.jsonl").exists()


def test_interrupted_revalidation_resumes_where_it_stopped(small_build: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(small_build, copy)
    before = (copy / "items.jsonl").read_bytes()

    def stop_after_three(done: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        validate_build(copy, RevalidateOptions(), progress=calling(stop_after_three))
    assert (copy / "items.jsonl").read_bytes() == before  # untouched until the end
    seen: list[int] = []
    validate_build(copy, RevalidateOptions(), progress=calling(seen.append))
    assert seen[0] == 4 and seen[-1] == 5


def test_a_torn_progress_line_is_cut_and_its_item_checked_again(small_build: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(small_build, copy)

    def stop_after_two(done: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        validate_build(copy, RevalidateOptions(), progress=calling(stop_after_two))
    with open(copy / ".validate-progress.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "sample-en-000002", "validation": {"cont')  # a kill in the middle of an append
    seen: list[int] = []
    validate_build(copy, RevalidateOptions(), progress=calling(seen.append))
    assert seen == [3, 4, 5] and not (copy / ".validate-progress.jsonl").exists()
    whole = tmp_path / "whole"
    shutil.copytree(small_build, whole)
    validate_build(whole, RevalidateOptions())
    assert (copy / "items.jsonl").read_bytes() == (whole / "items.jsonl").read_bytes()  # as if never interrupted


def test_killed_validate_resumes_to_the_bytes_of_an_uninterrupted_run(small_build: Path, tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    shutil.copytree(small_build, whole)
    shutil.copytree(small_build, cut)
    for copy in (whole, cut):  # without the build's measurements, so validate transcribes (and can be killed)
        shutil.rmtree(copy / ".verdicts")
    validate_build(whole, RevalidateOptions(max_error=0.2))  # the default batch: all five items in one
    # One item per batch, so that the progress file grows item by item and the kill lands mid-run;
    # the bytes must equal the one-batch run's.
    command = [sys.executable, "-m", "s2sbench", "validate", str(cut), "--max-error", "0.2", "--batch-size", "1", "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = cut / ".validate-progress.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if progress.is_file() and progress.read_bytes().count(b"\n") >= 3:  # the header and two items
            break
        time.sleep(0.01)
    assert process.poll() is None, "validate ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert (cut / "items.jsonl").read_bytes() == (small_build / "items.jsonl").read_bytes()  # untouched until the end
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    for name in ("items.jsonl", "validation.json", "validation.md"):
        assert (cut / name).read_bytes() == (whole / name).read_bytes(), name


def test_a_rebuild_after_validate_with_other_thresholds_remakes_the_verdicts(small_build: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(small_build, copy)
    validate_build(copy, RevalidateOptions(max_error=0.0))
    strict = (copy / "items.jsonl").read_bytes()

    summary = build(BuildOptions(source="sample:en", output=copy, limit=5, speak="context"))

    manifest = json.loads((copy / "build.json").read_text())
    assert manifest["validation"]["max_error"] == 0.35 and summary.clips_synthesized == 0
    assert (copy / "items.jsonl").read_bytes() != strict
    assert (copy / "items.jsonl").read_bytes() == (small_build / "items.jsonl").read_bytes()  # the build's own verdicts again


# Normalizers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "reference", "hypothesis"),
    [
        ("en", "I won't go, it's late.", "I will not go it is late"),
        ("en", "He is seven years old.", "He's 7 years old"),
        ("en", "The colour of the centre", "the color of the center"),
        ("en", "Twenty-one apples!", "21 apples"),
        ("zh", "我们学习汉语。", "我們學習漢語"),
        ("zh", "你好，世界！", "你好 , 世界!"),
        ("zh", "我有三个苹果", "我有3个苹果"),
        ("zh", "二十五本书", "25本书"),
    ],
)
def test_a_profile_normalizer_equates_known_pairs(lang, reference, hypothesis):
    profile = load_profile(lang)
    normalize = chain(profile.normalizer)
    assert METRICS[profile.metric](normalize(reference), normalize(hypothesis)) == 0.0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_sentence_against_itself_scores_zero(lang):
    normalize = chain(load_profile(lang).normalizer)
    for line in (Path(__file__).parents[1] / "s2sbench" / "sample" / f"{lang}.jsonl").read_text().splitlines():
        text = json.loads(line)["context"]
        assert word_error_rate(normalize(text), normalize(text)) == 0.0
        assert character_error_rate(normalize(text), normalize(text)) == 0.0


def test_generic_normalizer_strips_unicode_punctuation_and_case():
    normalize = chain(["nfkc", "casefold", "strip_punctuation"])
    assert normalize("«Hola», dijo ANA — ¿qué tal?") == "hola dijo ana qué tal"


def test_character_map_step_from_a_profile():
    assert chain([{"map": {"ß": "ss"}}, "casefold"])("Straße") == "strasse"


def test_unknown_step_is_a_clear_error():
    from s2sbench.errors import ProfileError

    with pytest.raises(ProfileError, match="unknown normalizer step 'shout'"):
        chain(["shout"])


def test_a_crafted_measurement_record_cannot_point_a_clip_outside_the_build(flaky_engines, measurements, tmp_path: Path):
    import hashlib

    output = tmp_path / "b"
    options = {"source": "sample:en", "output": output, "tts": "scrambled-first", "limit": 1, "speak": "context", "retries": 2}
    build(BuildOptions(**options))
    outside = tmp_path / "secret.wav"
    outside.write_bytes((output / read_items(output)[0]["audio"]["context"]).read_bytes())  # audio, and outside the build
    crafted = "../" + outside.name
    [record_path] = list((output / ".verdicts").rglob("*.json"))
    record = json.loads(record_path.read_text())
    record["measured"][crafted] = {"sha256": hashlib.sha256(outside.read_bytes()).hexdigest(), "measurement": record["measured"][record["attempts"][1]["path"]]["measurement"]}
    record["attempts"][1]["path"] = crafted
    record_path.write_text(json.dumps(record))

    build(BuildOptions(**options, max_error=5.0))

    item = read_items(output)[0]
    assert item["audio"]["context"] != crafted and crafted not in json.dumps(item)
    assert item["validation"]["context"]["tries"] == 1  # the first attempt passes at 5.0; the crafted one was not taken


def test_the_pages_name_at_most_the_first_failed_items_and_count_the_rest():
    from s2sbench.validate.report import LISTED_FAILED_ITEMS, ValidationReport, validation_sections

    report = ValidationReport(failed_items=[f"item-{n:05d}" for n in range(LISTED_FAILED_ITEMS + 37)], items_failed=LISTED_FAILED_ITEMS + 37)
    title, text = validation_sections(report)[-1]
    assert title == f"Items with a failing clip ({LISTED_FAILED_ITEMS + 37})"
    assert text.count("`item-") == LISTED_FAILED_ITEMS and f"`item-{LISTED_FAILED_ITEMS - 1:05d}`" in text
    assert text.endswith(", and 37 more (validation.json: failed_items)")


def test_a_build_given_no_window_hears_each_clip_in_a_window_that_fits_it(tmp_path: Path):
    output = tmp_path / "b"
    build(BuildOptions(source="sample:en", output=output, limit=1, speak="context", tts="espeak", retries=0))
    manifest = json.loads((output / "build.json").read_text())
    assert manifest["validation"]["asr"]["window"] == "auto"
    verdict = json.loads((output / "items.jsonl").read_text().splitlines()[0])["validation"]["context"]
    assert verdict["window"] in (10, 15, 20, 30) and ("short_window" in verdict) == (verdict["window"] == 30)
