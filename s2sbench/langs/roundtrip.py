"""``s2s langs check``: one sentence spoken with a profile's TTS and heard by its ASR, as a build does for each clip."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from s2sbench.errors import EngineError, ProfileError
from s2sbench.langs.profiles import check_sentence, load_code_or_file
from s2sbench.profiles import LanguageProfile


@dataclass
class CheckResult:
    """One round trip: what was said, what was heard, how far apart, and the verdict."""

    code: str
    name: str
    profile: str  # the profile's file ("en.toml" when bundled)
    sentence: str
    tts: str  # engine spec as the build resolves it: "espeak", "coqui:MODEL"
    voice: str | None
    asr: str  # "faster-whisper:base"
    transcript: str  # what the ASR heard, as it wrote it
    reference: str  # the sentence, normalized
    hypothesis: str  # the transcript, normalized
    error: float
    metric: str
    threshold: float
    passed: bool  # error <= threshold and no signal problem: a build would keep this clip
    reasons: list[str] = field(default_factory=list)  # signal reason codes, "asr_error", "hallucination"
    audio_seconds: float = 0.0  # length of the finished clip
    seconds: float = 0.0  # wall-clock time of the whole check, engines' loading included

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """Readable lines (what ``s2s langs check`` prints)."""
        verdict = "PASS" if self.passed else "FAIL"
        why = f" ({', '.join(self.reasons)})" if self.reasons else ""
        return "\n".join(
            [
                f"{self.code} ({self.name}): {verdict}{why}  {self.metric.upper()} {self.error:.3f} (max {self.threshold:g})",
                f"  tts:        {self.tts} voice {self.voice or '(engine default)'}; {self.audio_seconds:.2f} s of audio",
                f"  asr:        {self.asr}",
                f"  said:       {self.sentence}",
                f"  heard:      {self.transcript}",
                f"  reference:  {self.reference}",
                f"  hypothesis: {self.hypothesis}",
                f"  took {self.seconds:.1f} s",
            ]
        )


def check(
    code_or_path: str | Path,
    sentence: str | None = None,
    asr: str | None = None,
    *,
    tts: str | None = None,
    voice: str | None = None,
    lang: str | None = None,
    recognizer: Any | None = None,
    device: str = "auto",
    keep_audio: Path | None = None,
) -> CheckResult:
    """Round-trip one sentence through the profile's TTS and ASR, as a build does for each clip.

    ``sentence`` defaults to the profile's ``[text] check_sentence``; ``asr`` (``ENGINE:MODEL``)
    to the profile's ASR; ``tts`` (``ENGINE[:MODEL]``) to the profile's default engine; ``voice``
    to that engine's first voice in the profile. ``lang`` is the language code given to the
    engines, as ``s2s build --lang`` gives it (default: the profile's ``code``); the ASR must know
    it. ``recognizer`` is an already loaded recognizer
    (anything with ``transcribe(samples, sample_rate, language)``), used instead of loading one:
    tests and batch checks share one. ``keep_audio`` copies the finished clip there.

    Raises :class:`~s2sbench.errors.ProfileError` for a malformed profile, a code with no bundled
    profile or a missing sentence,
    :class:`~s2sbench.errors.EngineError` when an engine or voice cannot be had.
    """
    from s2sbench.pipeline import BuildOptions, resolve_tts
    from s2sbench.synth.postprocess import AudioOptions
    from s2sbench.validate.verdicts import ClipValidator, Thresholds

    started = time.perf_counter()
    profile = load_code_or_file(code_or_path)
    text = (sentence or "").strip() or check_sentence(code_or_path, profile)
    if not text:
        raise ProfileError(f"{profile.path}: no check sentence: add check_sentence = \"...\" under [text], or pass one")
    language = (lang or profile.code).strip()
    audio = AudioOptions()
    spec = resolve_tts(BuildOptions(source="", output=Path("."), lang=language, tts=tts, device=device), profile)
    chosen = voice or (profile.voices_for(spec.engine) or [None])[0]
    recognizer, asr_label = _recognizer_for(recognizer, asr, profile, language, device)
    validator = ClipValidator(recognizer, profile, Thresholds.from_profile(profile, audio.sample_rate))  # checks the normalizer
    verdict = _speak_and_hear(text, language, spec, chosen, audio, validator, profile, asr_label, keep_audio)
    return _result(profile, text, str(spec), chosen, asr_label, verdict, validator.thresholds.max_error, started)


def _result(profile: LanguageProfile, text: str, tts: str, chosen: str | None, asr_label: str, verdict: dict[str, Any], threshold: float,
            started: float) -> CheckResult:
    return CheckResult(
        code=profile.code,
        name=profile.name,
        profile=profile.path or "",
        sentence=text,
        tts=tts,
        voice=chosen,
        asr=asr_label,
        transcript=verdict["asr"],
        reference=verdict["reference"],
        hypothesis=verdict["hypothesis"],
        error=verdict["error"],
        metric=verdict["metric"],
        threshold=threshold,
        passed=verdict["passed"],
        reasons=list(verdict["reasons"]),
        audio_seconds=verdict["duration"],
        seconds=round(time.perf_counter() - started, 2),
    )


def _recognizer_for(recognizer: Any | None, asr: str | None, profile: LanguageProfile, language: str, device: str) -> tuple[Any, str]:
    """The recognizer the check hears with (the one given, else the profile's or ``asr``, loaded) and its label."""
    from s2sbench.validate.asr import ASRSpec, load_recognizer

    if recognizer is None:
        asr_spec = ASRSpec.parse(asr or f"{profile.asr_engine}:{profile.asr_model}", device=device)
        _require_whisper_language(asr_spec.engine, language, profile)
        return load_recognizer(asr_spec), str(asr_spec)
    identity = recognizer.identity() if hasattr(recognizer, "identity") else {}
    _require_whisper_language(identity.get("engine", ""), language, profile)
    return recognizer, f"{identity.get('engine', 'asr')}:{identity.get('model', '?')}"


def _speak_and_hear(text: str, language: str, spec: Any, voice: str | None, audio: Any, validator: Any, profile: LanguageProfile,
                    asr_label: str, keep_audio: Path | None) -> dict[str, Any]:
    """Speak ``text`` into a scratch directory, hear it back, and return the clip's verdict (the clip
    copied to ``keep_audio`` when asked)."""
    from s2sbench.storage import ClipStore
    from s2sbench.synth import VoiceSettings, load_engine
    from s2sbench.synth.clips import ClipMaker

    with tempfile.TemporaryDirectory(prefix="s2s-langs-check-") as scratch:
        maker = ClipMaker(ClipStore(scratch), load_engine(spec), audio)
        try:
            clip = maker.speak(text, language, VoiceSettings(voice=voice))
        except EngineError as exc:
            raise EngineError(f"{profile.path}: {exc}; set [tts] voices in the profile") from exc
        path = Path(scratch) / clip.path
        try:
            verdict = validator.check(path, text, language)
        except ValueError as exc:  # an ASR refusing the language code
            raise ProfileError(f"{profile.path}: the ASR {asr_label} cannot take language {language!r}: {exc}") from exc
        if keep_audio is not None:
            Path(keep_audio).parent.mkdir(parents=True, exist_ok=True)
            Path(keep_audio).write_bytes(path.read_bytes())
    return verdict


def check_targets(codes: Iterable[str], profiles: Iterable[str | Path] = (), lang: str | None = None) -> list[tuple[str, str | None]]:
    """What ``s2s langs check CODE... --profile FILE...`` checks: ``(code or file, lang)`` pairs for :func:`check`.

    A CODE that a profile file is written for (its ``code``) is checked with that file, told that
    code; with one CODE and one file, the file is checked told the CODE, as ``s2s build --lang CODE
    --profile FILE`` does. Other CODEs (and profile files given as CODEs) are checked as they are; a
    profile file no CODE names is checked too. ``lang`` (``--lang``), when given, is the code every
    check tells the engines.
    """
    codes = [str(code).strip() for code in codes]
    for path in profiles:
        if Path(path).suffix != ".toml":
            raise ProfileError(f"--profile {path}: a profile file's name ends in .toml")
    files = [(str(path), load_code_or_file(path).code) for path in profiles]
    if not codes and not files:
        raise ProfileError("nothing to check: name a language code or a profile file, or pass --profile FILE")
    if len(codes) == 1 and len(files) == 1 and Path(codes[0]).suffix != ".toml":
        return [(files[0][0], lang or codes[0])]
    targets: list[tuple[str, str | None]] = []
    used: set[str] = set()
    for code in codes:
        written_for = [path for path, profile_code in files if profile_code == code]
        targets += [(path, lang or code) for path in written_for] or [(code, lang)]
        used.update(written_for)
    return targets + [(path, lang) for path, _ in files if path not in used]


def _require_whisper_language(engine: str, language: str, profile: LanguageProfile) -> None:
    """faster-whisper takes only Whisper's own codes: say so before any work, with the fix."""
    if engine != "faster-whisper":
        return
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES
    except ImportError:  # the recognizer will report the missing package itself
        return
    if language not in _LANGUAGE_CODES:
        raise ProfileError(
            f"{profile.path}: Whisper does not know the language code {language!r}; set the profile's code to "
            f"the ISO 639-1 code of the language (or pass lang=, `--lang`, with the code Whisper should be told)"
        )


def check_table(results: Iterable[CheckResult]) -> str:
    """Check results as a Markdown table (the one in docs/adding-a-language.md)."""
    lines = [
        "| code | language | voice | metric | error | max | passed | heard |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        heard = r.transcript.replace("|", "\\|")
        heard = heard if len(heard) <= 60 else heard[:57] + "..."
        passed = "yes" if r.passed else "no" + (f" ({', '.join(r.reasons)})" if r.reasons else "")
        lines.append(f"| {r.code} | {r.name} | {r.tts} {r.voice or ''} | {r.metric} | {r.error:.3f} | {r.threshold:g} | {passed} | {heard} |")
    return "\n".join(lines)
