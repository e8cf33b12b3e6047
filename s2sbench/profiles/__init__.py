"""Language profiles: everything that varies by language, as data.

A profile is a TOML file (``en.toml``, ``zh.toml`` here, or a user's own given by path) naming the
default TTS engine, the voices and models per engine, the ASR model, the text normalizer, the error
metric and threshold, the templates that turn a question and an option into a context and a
continuation, and the scorer's prompt prefix. Stages read fields from the profile; none of them
branches on a language code.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from s2sbench.errors import ProfileError, S2SBenchError
from s2sbench.items import name_problem

GENERIC_PROFILE = "_generic"


# A prompt (a prefix, the separator, a question template) is an instruction of a few words. Every
# scored sequence carries it, so an unbounded one is a memory bound of the scorer's: a 400,000-word
# prefix asked for 160 GB. The bound is far above any real prompt and is checked where prompts are read.
MAX_PROMPT_CHARS = 2000


def prompt_problem(value: str) -> str | None:
    """Why ``value`` cannot be a prompt (too long), or None."""
    if len(value) > MAX_PROMPT_CHARS:
        return f"{len(value):,} characters, longer than the {MAX_PROMPT_CHARS:,} a prompt may hold"
    return None

@dataclass(frozen=True)
class LanguageProfile:
    code: str
    name: str
    status: str = "draft"
    tts_engine: str = "espeak"
    tts_voices: dict[str, list[str]] = field(default_factory=dict)
    tts_models: dict[str, str] = field(default_factory=dict)
    tts_languages: dict[str, str] = field(default_factory=dict)  # engine -> its own language code
    asr_engine: str = "faster-whisper"
    asr_model: str = "base"
    normalizer: list[str] = field(default_factory=lambda: ["nfkc", "casefold", "strip_punctuation"])
    metric: str = "wer"
    max_error: float = 0.35
    chars_per_second: tuple[float, float] = (4.0, 30.0)
    question_context: str = "{question}"
    question_candidate: str = "{option}"
    text_prefix: str = ""  # scorer: before a text context (t2t); S2SBench uses none
    speech_prefix: str = ""  # scorer: before the context audio (s2t)
    separator: str = " "  # scorer: between context and candidate ("" for scripts without spaces)
    check_sentence: str | None = None  # spoken by `s2s langs check`
    path: str | None = None
    digest: str = ""  # sha256 of the profile file, recorded in build.json

    def voices_for(self, engine: str) -> list[str]:
        """Voices this profile names for ``engine``; empty when the engine's own default is used."""
        return list(self.tts_voices.get(engine, []))

    def model_for(self, engine: str) -> str | None:
        return self.tts_models.get(engine)


# A threshold is an error rate: WER and CER may pass 1 (insertions), never 10; NaN would pass every clip.
MAX_ERROR_LIMIT = 10.0
# Voices are handed to engines and shown in reports: names, never paths or shell text ("Ana Florence", "en-us+f3").
VOICE = re.compile(r"[^\W_][\w +.-]{0,127}")


def threshold_problem(value: object) -> str | None:
    """Why ``value`` cannot be a ``max_error`` (a number from 0 to 10), or None when it can."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number, got {_kind(value)}"
    if not math.isfinite(value) or not 0 <= value <= MAX_ERROR_LIMIT:
        return f"{value!r} is not an error rate: expected a number from 0 to {MAX_ERROR_LIMIT:g} (e.g. 0.35)"
    return None


def check_max_error(value: float | None, option: str = "--max-error") -> float | None:
    """``value`` (``--max-error``; None: the profile's) when it is a threshold; else one clear error."""
    if value is not None and threshold_problem(value) is not None:
        raise S2SBenchError(f"{option} {value!r}: expected an error rate from 0 to {MAX_ERROR_LIMIT:g} (e.g. 0.35)")
    return value


def _kind(value: object) -> str:
    """How a TOML value is named in an error: ``a string ('espeak')``, ``an integer (3)``."""
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "an array", dict: "a table"}
    name = next((label for kind, label in names.items() if isinstance(value, kind)), type(value).__name__)
    shown = repr(value)
    return f"{name} ({shown[:40]}{'...' if len(shown) > 40 else ''})"


class _Fields:
    """Typed reads of a profile's tables; a wrong value is a ProfileError naming the file and the key."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, key: str, problem: str) -> None:
        raise ProfileError(f"{self.path}: {key}: {problem}")

    def table(self, data: dict, key: str, name: str | None = None) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(name or key, f"expected a table, got {_kind(value)}")
        return value

    def string(self, data: dict, key: str, name: str, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is not default and not isinstance(value, str):
            self.fail(name, f"expected a string, got {_kind(value)}")
        return value

    def prompt(self, data: dict, key: str, name: str, default: str) -> str:
        """A prompt or template: a string of at most :data:`MAX_PROMPT_CHARS` characters."""
        value = self.string(data, key, name, default)
        if (problem := prompt_problem(value)) is not None:
            self.fail(name, problem)
        return value

    def strings(self, data: dict, key: str, name: str) -> dict[str, str]:
        """A table of strings (``models = { coqui = "..." }``)."""
        table = self.table(data, key, name)
        for entry, value in table.items():
            if not isinstance(value, str):
                self.fail(f"{name}.{entry}", f"expected a string, got {_kind(value)}")
        return dict(table)

    def voices(self, data: dict, key: str, name: str) -> dict[str, list[str]]:
        voices = {}
        for engine, names in self.table(data, key, name).items():
            if not isinstance(names, list):
                self.fail(f"{name}.{engine}", f"expected an array of voice names, got {_kind(names)}")
            for k, voice in enumerate(names):
                if not isinstance(voice, str):
                    self.fail(f"{name}.{engine}[{k}]", f"expected a voice name, got {_kind(voice)}")
                if not VOICE.fullmatch(voice) or ".." in voice:
                    self.fail(f"{name}.{engine}[{k}]", f"{voice[:60]!r} is not a voice name: letters, digits, spaces, '+', '.', '_' or '-'")
            voices[engine] = list(names)
        return voices

    def normalizer(self, data: dict, key: str, name: str, default: list) -> list:
        from s2sbench.normalize import chain

        steps = data.get(key, default)
        if not isinstance(steps, list):
            self.fail(name, f"expected an array of steps, got {_kind(steps)}")
        for k, step in enumerate(steps):
            if isinstance(step, dict):
                mapping = step.get("map")
                if set(step) != {"map"} or not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                    self.fail(f"{name}[{k}]", "expected a step name or { map = { \"from\" = \"to\", ... } }")
            elif not isinstance(step, str):
                self.fail(f"{name}[{k}]", f"expected a step name, got {_kind(step)}")
            try:
                chain([step])
            except ProfileError as error:
                self.fail(f"{name}[{k}]", str(error))
        return list(steps)

    def choice(self, data: dict, key: str, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(data, key, name, default)
        if value not in choices:
            self.fail(name, f"{value!r}: expected one of {', '.join(choices)}")
        return value

    def threshold(self, data: dict, key: str, name: str, default: float) -> float:
        value = data.get(key, default)
        if (problem := threshold_problem(value)) is not None:
            self.fail(name, problem)
        return float(value)

    def rates(self, data: dict, key: str, name: str, default: tuple[float, float]) -> tuple[float, float]:
        value = data.get(key, default)
        if (not isinstance(value, list | tuple) or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
                or not 0 < value[0] < value[1]):
            self.fail(name, f"expected [SLOWEST, FASTEST] characters per second, two numbers with 0 < SLOWEST < FASTEST, got {_kind(value)}")
        return (float(value[0]), float(value[1]))


def _from_toml(text: str, path: str, code: str | None = None) -> LanguageProfile:
    """The profile in ``text`` (the file ``path``), every value checked: a wrong one fails here, once,
    naming the file and the key, not as a traceback in whichever stage first uses it."""
    from s2sbench.normalize import METRICS

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    read = _Fields(path)
    if code is None:
        if "code" not in data:
            read.fail("code", "missing: the language code, e.g. code = \"sw\"")
        code = read.string(data, "code", "code")
    if (problem := name_problem(code)) is not None:
        read.fail("code", problem)
    tts = read.table(data, "tts")
    asr = read.table(data, "asr")
    text_section = read.table(data, "text")
    templates = read.table(data, "templates")
    scorer = read.table(data, "scorer")
    return LanguageProfile(
        code=code,
        name=read.string(data, "name", "name", code),
        status=read.string(data, "status", "status", "draft"),
        tts_engine=read.string(tts, "engine", "tts.engine", "espeak"),
        tts_voices=read.voices(tts, "voices", "tts.voices"),
        tts_models=read.strings(tts, "models", "tts.models"),
        tts_languages=read.strings(tts, "languages", "tts.languages"),
        asr_engine=read.string(asr, "engine", "asr.engine", "faster-whisper"),
        asr_model=read.string(asr, "model", "asr.model", "base"),
        normalizer=read.normalizer(text_section, "normalizer", "text.normalizer", ["nfkc", "casefold", "strip_punctuation"]),
        metric=read.choice(text_section, "metric", "text.metric", "wer", tuple(METRICS)),
        max_error=read.threshold(text_section, "max_error", "text.max_error", 0.35),
        chars_per_second=read.rates(text_section, "chars_per_second", "text.chars_per_second", (4.0, 30.0)),
        check_sentence=read.string(text_section, "check_sentence", "text.check_sentence") or None,
        question_context=read.prompt(templates, "question_context", "templates.question_context", "{question}"),
        question_candidate=read.prompt(templates, "question_candidate", "templates.question_candidate", "{option}"),
        text_prefix=read.prompt(scorer, "text_prefix", "scorer.text_prefix", ""),
        speech_prefix=read.prompt(scorer, "speech_prefix", "scorer.speech_prefix", ""),
        separator=read.prompt(scorer, "separator", "scorer.separator", " "),
        path=path,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def bundled_profiles() -> list[str]:
    """Codes of the profiles shipped with the package."""
    names = resources.files(__name__).iterdir()
    return sorted(p.name[:-5] for p in names if p.name.endswith(".toml") and not p.name.startswith("_"))


def load_profile(lang_or_path: str) -> LanguageProfile:
    """Load a bundled profile by language code, or a profile file by path.

    A code with no bundled profile gets the generic profile (espeak-ng voice named by the code,
    WER, generic normalizer) and a warning, so any language espeak-ng speaks can be built.
    """
    candidate = Path(lang_or_path)
    if candidate.suffix == ".toml":
        if not candidate.is_file():
            raise ProfileError(f"{candidate}: profile file not found")
        try:
            text = candidate.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ProfileError(f"{candidate}: not UTF-8 text: {exc}") from exc
        return _from_toml(text, str(candidate))
    code = lang_or_path.strip()
    resource = resources.files(__name__) / f"{code}.toml"
    if resource.is_file():
        return _from_toml(resource.read_text(encoding="utf-8"), f"{code}.toml")
    warnings.warn(
        f"no language profile for {code!r} (bundled: {', '.join(bundled_profiles())}); "
        "using generic defaults. Pass --profile FILE to set voices, ASR and thresholds.",
        stacklevel=2,
    )
    generic = resources.files(__name__) / f"{GENERIC_PROFILE}.toml"
    return _from_toml(generic.read_text(encoding="utf-8").replace("{code}", code), f"{GENERIC_PROFILE}.toml", code=code)


def build_profile(record: dict | None, lang: str) -> LanguageProfile:
    """The profile a build was made with, from build.json's ``profile`` record (code, path, sha256).

    The recorded file is used when it is still there with the same content; else the bundled profile
    of the recorded code when it is that same file (a bundled profile is recorded by its file name).
    A build made with a profile file that is gone or changed is an error naming it: scoring or
    re-validating it with other prompts or thresholds would be silently wrong.
    """
    if not record:
        return load_profile(lang)
    path, digest, code = record.get("path") or "", record.get("sha256"), record.get("code") or lang
    candidates = []
    if path.endswith(".toml") and Path(path).is_file():
        candidates.append(path)
    if code in bundled_profiles():
        candidates.append(code)
    for reference in candidates:
        profile = load_profile(reference)
        if not digest or profile.digest == digest:
            return profile
    raise ProfileError(f"the build was made with the profile {path or code} (sha256 {str(digest)[:12]}...), which is not here or has changed; "
                       "pass that profile file with --profile")
