"""Language profiles as a user meets them: list, describe, check by a real round trip, start a new one.

The library behind ``s2s langs``::

    s2s langs                       -> list_profiles()           (format_profiles() prints them)
    s2s langs show CODE_OR_FILE     -> describe()
    s2s langs check CODE_OR_FILE    -> check()                   (CheckResult.summary() prints it)
    s2s langs new CODE -o FILE      -> write_profile_template()  (new_profile_template() is the text)

Every function takes a bundled language code (``en``, ``sw``) or the path of a profile file
(``profiles/sw.toml``); a code with no bundled profile is a :class:`~s2sbench.errors.ProfileError`
that says how to make one. :func:`check` is the round trip a build makes for every clip: speak the
profile's check sentence with its default engine and first voice, finish the clip exactly as the
build does (resample, trim, level, encode to WAV), run the signal checks, transcribe it with the
profile's ASR, normalize both texts with the profile's normalizer and compare them with its metric
and threshold. It passes when a build would keep that clip.
"""

from __future__ import annotations

import tempfile
import time
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from s2sbench.errors import EngineError, ProfileError
from s2sbench.profiles import LanguageProfile, bundled_profiles, load_profile

__all__ = [
    "CheckResult",
    "EspeakVoice",
    "ProfileRow",
    "check",
    "check_sentence",
    "check_table",
    "check_targets",
    "describe",
    "espeak_voices",
    "format_profiles",
    "list_profiles",
    "new_profile_template",
    "no_profile_message",
    "write_profile_template",
]

# Scripts written without spaces between words: error rates over characters, no scorer separator.
NO_SPACE_LANGUAGES = {"zh", "cmn", "yue", "hak", "ja", "th", "lo", "km", "my", "bo", "dz", "shn"}


# --------------------------------------------------------------------------- loading


def _load(code_or_path: str | Path) -> LanguageProfile:
    """A bundled profile by code, or a profile file by path (a ``.toml`` path that exists).

    A code with no bundled profile is an error pointing at ``s2s langs new``, as ``s2s build
    --lang`` without ``--profile`` is: the generic profile would describe or check another
    language's settings, not the user's."""
    reference = str(code_or_path).strip()
    if Path(reference).suffix != ".toml" and reference not in bundled_profiles():
        raise ProfileError(no_profile_message(reference))
    return load_profile(reference)


def no_profile_message(code: str) -> str:
    """The one line for a language code with no bundled profile: make one with ``s2s langs new``."""
    bundled = ", ".join(bundled_profiles())
    if not code or any(mark in code for mark in "/\\") or Path(code).is_file():
        return f"{code or repr(code)}: neither a bundled language code ({bundled}) nor a profile file (a .toml file)"
    return (f"{code}: no bundled language profile (bundled: {bundled}); "
            f"make one with `s2s langs new {code} -o profiles/{code}.toml` and pass that file")


def _raw(code_or_path: str | Path, profile: LanguageProfile) -> dict[str, Any]:
    """The profile's TOML as data, for keys :class:`LanguageProfile` may not carry yet."""
    text = None
    candidate = Path(str(code_or_path))
    if candidate.suffix == ".toml" and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    else:  # a bundled profile (_load refuses a code without one)
        text = (resources.files("s2sbench.profiles") / f"{profile.code}.toml").read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # load_profile has already reported this
        return {}


def check_sentence(code_or_path: str | Path, profile: LanguageProfile | None = None) -> str | None:
    """The profile's ``[text] check_sentence``, or None when it has none (or an empty one)."""
    profile = profile or _load(code_or_path)
    sentence = getattr(profile, "check_sentence", None)  # a LanguageProfile field once it exists
    if sentence is None:
        sentence = _raw(code_or_path, profile).get("text", {}).get("check_sentence")
    return sentence.strip() if isinstance(sentence, str) and sentence.strip() else None


def _tts_label(profile: LanguageProfile) -> str:
    voices = profile.voices_for(profile.tts_engine)
    model = profile.model_for(profile.tts_engine) if profile.tts_engine != "espeak" else None
    engine = f"{profile.tts_engine}:{model}" if model else profile.tts_engine
    return f"{engine} / {voices[0]}" if voices else f"{engine} / (engine default)"


# --------------------------------------------------------------------------- list


@dataclass(frozen=True)
class ProfileRow:
    """One line of ``s2s langs``."""

    code: str
    name: str
    status: str  # calibrated, checked, draft or generic
    tts: str  # the default engine (and model) and its first voice: "espeak / cmn"
    asr: str  # "faster-whisper:base"
    metric: str  # "wer" or "cer"
    threshold: float  # the largest error a clip may have and pass
    path: str  # "en.toml" for a bundled profile, else the file's path


def _row(profile: LanguageProfile) -> ProfileRow:
    return ProfileRow(
        code=profile.code,
        name=profile.name,
        status=profile.status,
        tts=_tts_label(profile),
        asr=f"{profile.asr_engine}:{profile.asr_model}",
        metric=profile.metric,
        threshold=profile.max_error,
        path=profile.path or "",
    )


def list_profiles(extra: Iterable[str | Path] = ()) -> list[ProfileRow]:
    """Every bundled profile (sorted by code), then the profile files in ``extra``, in order."""
    rows = [_row(_load(code)) for code in bundled_profiles()]
    rows += [_row(_load(path)) for path in extra]
    return rows


def format_profiles(rows: list[ProfileRow]) -> str:
    """``rows`` as an aligned plain-text table (what ``s2s langs`` prints)."""
    header = ("code", "name", "status", "tts / voice", "asr", "metric", "max")
    lines = [(r.code, r.name, r.status, r.tts, r.asr, r.metric, f"{r.threshold:g}") for r in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines)]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *lines])


# --------------------------------------------------------------------------- describe


def _show(text: str) -> str:
    """A map key or value as readable text: combining marks and invisible characters as U+XXXX."""
    if not text:
        return "''"
    return "".join(f"U+{ord(ch):04X}" if unicodedata.category(ch)[0] in "MCZ" else ch for ch in text)


def describe(code_or_path: str | Path) -> str:
    """Everything a profile sets, as readable lines (what ``s2s langs show`` prints)."""
    profile = _load(code_or_path)
    sentence = check_sentence(code_or_path, profile)
    engines = sorted(set(profile.tts_voices) | set(profile.tts_models) | set(profile.tts_languages) | {profile.tts_engine})
    lines = [
        f"{profile.code}: {profile.name} ({profile.status})",
        f"  file:        {profile.path}",
        f"  tts:         {profile.tts_engine} (default engine)",
    ]
    for engine in engines:
        parts = []
        voices = profile.voices_for(engine)
        parts.append("voices " + (", ".join(voices) if voices else "(engine default)"))
        if profile.model_for(engine):
            parts.append(f"model {profile.model_for(engine)}")
        if engine in profile.tts_languages:
            parts.append(f"language code {profile.tts_languages[engine]}")
        lines.append(f"    {engine + ':':<9}  {'; '.join(parts)}")
    steps = ", ".join(s if isinstance(s, str) else "map{" + ", ".join(f"{_show(k)}->{_show(v)}" for k, v in s.get("map", {}).items()) + "}" for s in profile.normalizer)
    low, high = profile.chars_per_second
    lines += [
        f"  asr:         {profile.asr_engine}:{profile.asr_model} (told language {profile.code!r})",
        f"  normalizer:  {steps}",
        f"  metric:      {profile.metric}, a clip passes at {profile.metric.upper()} <= {profile.max_error:g}",
        f"  speech rate: {low:g} to {high:g} characters per second (spaces not counted)",
        f"  check:       {sentence if sentence else '(no check_sentence: add one under [text])'}",
        f"  templates:   context {profile.question_context!r}; candidate {profile.question_candidate!r}",
        f"  scorer:      text prefix {profile.text_prefix!r}; speech prefix {profile.speech_prefix!r}; separator {profile.separator!r}",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- check


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
    from s2sbench.storage import ClipStore
    from s2sbench.synth import VoiceSettings, load_engine
    from s2sbench.synth.clips import ClipMaker
    from s2sbench.synth.postprocess import AudioOptions
    from s2sbench.validate.asr import ASRSpec, load_recognizer
    from s2sbench.validate.verdicts import ClipValidator, Thresholds

    started = time.perf_counter()
    profile = _load(code_or_path)
    text = (sentence or "").strip() or check_sentence(code_or_path, profile)
    if not text:
        raise ProfileError(f"{profile.path}: no check sentence: add check_sentence = \"...\" under [text], or pass one")
    language = (lang or profile.code).strip()
    audio = AudioOptions()
    spec = resolve_tts(BuildOptions(source="", output=Path("."), lang=language, tts=tts, device=device), profile)
    chosen = voice or (profile.voices_for(spec.engine) or [None])[0]
    if recognizer is None:
        asr_spec = ASRSpec.parse(asr or f"{profile.asr_engine}:{profile.asr_model}", device=device)
        _require_whisper_language(asr_spec.engine, language, profile)
        recognizer = load_recognizer(asr_spec)
        asr_label = str(asr_spec)
    else:
        identity = recognizer.identity() if hasattr(recognizer, "identity") else {}
        asr_label = f"{identity.get('engine', 'asr')}:{identity.get('model', '?')}"
        _require_whisper_language(identity.get("engine", ""), language, profile)
    validator = ClipValidator(recognizer, profile, Thresholds.from_profile(profile, audio.sample_rate))  # checks the normalizer
    with tempfile.TemporaryDirectory(prefix="s2s-langs-check-") as scratch:
        maker = ClipMaker(ClipStore(scratch), load_engine(spec), audio)
        try:
            clip = maker.speak(text, language, VoiceSettings(voice=chosen))
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
    return CheckResult(
        code=profile.code,
        name=profile.name,
        profile=profile.path or "",
        sentence=text,
        tts=str(spec),
        voice=chosen,
        asr=asr_label,
        transcript=verdict["asr"],
        reference=verdict["reference"],
        hypothesis=verdict["hypothesis"],
        error=verdict["error"],
        metric=verdict["metric"],
        threshold=validator.thresholds.max_error,
        passed=verdict["passed"],
        reasons=list(verdict["reasons"]),
        audio_seconds=verdict["duration"],
        seconds=round(time.perf_counter() - started, 2),
    )


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
    files = [(str(path), _load(path).code) for path in profiles]
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


# --------------------------------------------------------------------------- espeak-ng voices


@dataclass(frozen=True)
class EspeakVoice:
    """A voice file of espeak-ng's data: the name to give ``[tts] voices`` and what it speaks."""

    voice: str  # what espeak_SetVoiceByName takes: the file name ("cmn", "en-us", "ru-cl")
    name: str  # "Chinese (Mandarin, latin as English)"
    language: str  # the language tag it declares ("cmn", "en-us")


def _espeak_data_dir() -> Path | None:
    try:
        import espeakng_loader

        return Path(espeakng_loader.get_data_path())
    except ImportError:
        for candidate in ("/usr/lib/x86_64-linux-gnu/espeak-ng-data", "/usr/lib/aarch64-linux-gnu/espeak-ng-data", "/usr/share/espeak-ng-data"):
            if Path(candidate).is_dir():
                return Path(candidate)
    return None


def espeak_voices(language: str | None = None) -> list[EspeakVoice]:
    """The language voices of the espeak-ng data s2sbench loads (``espeakng-loader``'s, else the
    system's), read from its ``lang/`` files; with ``language``, those whose file name or declared
    language is that code or starts with ``code-``. Any voice takes a variant: ``sw+m3``."""
    root = _espeak_data_dir()
    if root is None or not (root / "lang").is_dir():
        return []
    voices = []
    for path in sorted((root / "lang").rglob("*")):
        if not path.is_file():
            continue
        name, declared = path.name, path.name
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.strip().partition(" ")
            if key == "name" and value:
                name = value.strip()
            elif key == "language" and value:
                declared = value.split()[0]
                break
        voices.append(EspeakVoice(path.name, name, declared))
    if language:
        code = language.lower()
        voices = [v for v in voices if any(t.lower() == code or t.lower().startswith(code + "-") for t in (v.voice, v.language))]
    return sorted(voices, key=lambda v: (v.voice.lower() != (language or "").lower(), v.voice.lower()))


# --------------------------------------------------------------------------- new profile

_TEMPLATE = '''\
# Language profile for {code} ({name}): everything s2sbench does differently for this language.
# Made by `s2s langs new {code}`. Fill in the lines marked TODO, then run
#   s2s langs check {path_hint}
# and read docs/adding-a-language.md (choosing a voice, calibrating max_error from a sample build).
# Every key is optional except `code`; a key left out takes the default named in its comment.

code = "{code}"                 # ISO 639-1 code of the texts; Whisper is told this language, so it must be one Whisper knows
name = "{name}"                 # shown by `s2s langs` and in dataset cards
status = "draft"                # draft -> checked (`s2s langs check` passes) -> calibrated (max_error set from a build's figures)

[tts]
# The default engine when `s2s build` gets no --tts: espeak (embedded, ~100 languages), coqui or piper.
engine = "espeak"
# Voices per engine. A build rotates items over an engine's voices and retries a failed clip with
# the next one; `s2s langs check` uses the first. espeak voices: `espeak-ng --voices={code}` (or
# s2sbench.langs.espeak_voices("{code}")), with an optional variant: "{voice_example}+m3", "+f2", "+klatt".
# {voice_note}
# Coqui XTTS-v2 speakers ("Ana Florence", ...) go under coqui; Piper voice names under piper.
voices = {{ espeak = [{voices}] }}
# Model per engine (espeak takes none): a Coqui model name or directory, a Piper voice name or .onnx.
# XTTS-v2 speaks en es fr de it pt pl tr ru nl cs ar zh-cn ja hu ko hi:
# models = {{ coqui = "tts_models/multilingual/multi-dataset/xtts_v2" }}
models = {{}}
# An engine's own code for the language where it differs from `code` (XTTS-v2 says zh-cn for zh):
# languages = {{ coqui = "zh-cn" }}
languages = {{}}

[asr]
# What transcribes every clip back to validate it: faster-whisper (a model name or a local
# CTranslate2 directory; "base" works offline) or transformers (any Hub ASR model id).
engine = "faster-whisper"
model = "base"

[text]
# Applied to both the text and the transcript before comparing them, left to right, then spaces
# are collapsed. Named steps: nfkc, casefold, strip_punctuation, collapse_spaces, remove_spaces,
# whisper_english, whisper_basic, traditional_to_simplified, arabic_numerals_to_chinese; or a
# character map, e.g. {{ map = {{ "\\u0640" = "" }} }} to drop Arabic tatweel.
normalizer = [{normalizer}]
# wer (words) for scripts written with spaces; cer (characters, spaces ignored) for scripts
# written without them (zh, ja, th, lo, km, my).
metric = "{metric}"
# The largest error a clip may have and still pass. Start loose; set it from the error
# distribution in a sample build's validation.md (docs/adding-a-language.md, "Calibrate").
max_error = {max_error}
# Plausible speaking rate, characters per second of speech, spaces not counted: clips outside it
# fail as too_fast (often truncated) or too_slow. espeak-ng speaks 10 to 17 in most languages.
chars_per_second = [{cps_low}, {cps_high}]
# A plain everyday sentence in the language, no digits, ten words or so: `s2s langs check` speaks it.
check_sentence = "{sentence}"   # TODO

[templates]
# How a multiple-choice question and one option become a context and a continuation.
# {{question}} and {{option}} are filled in; translate "The answer is {{option}}.".
question_context = "{{question}}"
question_candidate = "{{option}}"    # TODO: "The answer is {{option}}." in {name}

[scorer]
# The scorer's prompts. S2SBench puts no prefix before a text context and this one, translated,
# before the context audio: "Below is a segment of alternating speech and text content: ".
text_prefix = ""
speech_prefix = ""                # TODO
separator = "{separator}"                   # between context and candidate: " ", or "" for scripts without spaces
'''


def new_profile_template(code: str, name: str | None = None, voice: str | None = None) -> str:
    """A fully commented profile for ``code``, valid TOML that :func:`load_profile` reads as is.

    ``voice`` fills in the espeak voice; without it the template names espeak's voice for the code
    when espeak-ng has one, else none (the user fills it in). Lines left for the user say TODO.
    """
    code = code.strip()
    if not code or any(ch in code for ch in '"\\\n/ '):
        raise ProfileError(f"not a language code: {code!r}")
    found = espeak_voices(code)
    exact = next((v for v in found if v.voice.lower() == code.lower()), found[0] if found else None)
    if voice is None and exact is not None:
        voice = exact.voice
    if name is None:
        name = exact.name if exact is not None else code
    if voice:
        note = f"espeak-ng has {len(found)} voice(s) for {code!r}: " + ", ".join(v.voice for v in found) if found else f"using {voice!r}"
        voices = f'"{voice}"'
    else:
        note = f"TODO: espeak-ng has no voice named {code!r}; pick one from `espeak-ng --voices` and put it in the list."
        voices = ""
    spaceless = code.lower() in NO_SPACE_LANGUAGES
    text = _TEMPLATE.format(
        code=code,
        name=name.replace('"', "'"),
        path_hint=f"{code}.toml",
        voice_example=voice or code,
        voice_note=note,
        voices=voices,
        normalizer='"nfkc", "strip_punctuation", "remove_spaces"' if spaceless else '"nfkc", "casefold", "strip_punctuation"',
        metric="cer" if spaceless else "wer",
        max_error="0.5",
        cps_low="2.0" if spaceless and code.lower() in {"zh", "cmn", "yue", "hak", "ja"} else "5.0",
        cps_high="10.0" if spaceless and code.lower() in {"zh", "cmn", "yue", "hak", "ja"} else "25.0",
        sentence="",
        separator="" if spaceless else " ",
    )
    tomllib.loads(text)  # the template is always valid TOML
    return text


def write_profile_template(code: str, path: str | Path, *, name: str | None = None, voice: str | None = None, overwrite: bool = False) -> Path:
    """Write :func:`new_profile_template` to ``path`` (``s2s langs new CODE -o FILE``); refuses to
    overwrite an existing file unless ``overwrite``. The file name must end in ``.toml``."""
    target = Path(path)
    if target.suffix != ".toml":
        raise ProfileError(f"{target}: a profile file name must end in .toml")
    if target.exists() and not overwrite:
        raise ProfileError(f"{target} exists; choose another file or overwrite it")
    text = new_profile_template(code, name=name, voice=voice).replace(f"s2s langs check {code}.toml", f"s2s langs check {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target

