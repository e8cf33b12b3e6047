"""Language profiles: everything that varies by language, as data.

A profile is a TOML file (``en.toml``, ``zh.toml`` here, or a user's own given by path) naming the
default TTS engine, the voices and models per engine, the ASR model, the text normalizer, the error
metric and threshold, the templates that turn a question and an option into a context and a
continuation, and the scorer's prompt prefix. Stages read fields from the profile; none of them
branches on a language code.
"""

from __future__ import annotations

import hashlib
import tomllib
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from s2sbench.errors import ProfileError

GENERIC_PROFILE = "_generic"


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


def _from_toml(text: str, path: str, code: str | None = None) -> LanguageProfile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    try:
        tts = data.get("tts", {})
        asr = data.get("asr", {})
        text_section = data.get("text", {})
        templates = data.get("templates", {})
        scorer = data.get("scorer", {})
        return LanguageProfile(
            code=code or data["code"],
            name=data.get("name", code or data["code"]),
            status=data.get("status", "draft"),
            tts_engine=tts.get("engine", "espeak"),
            tts_voices={k: list(v) for k, v in tts.get("voices", {}).items()},
            tts_models=dict(tts.get("models", {})),
            tts_languages=dict(tts.get("languages", {})),
            asr_engine=asr.get("engine", "faster-whisper"),
            asr_model=asr.get("model", "base"),
            normalizer=list(text_section.get("normalizer", ["nfkc", "casefold", "strip_punctuation"])),
            metric=text_section.get("metric", "wer"),
            max_error=float(text_section.get("max_error", 0.35)),
            chars_per_second=tuple(text_section.get("chars_per_second", (4.0, 30.0))),
            check_sentence=text_section.get("check_sentence") or None,
            question_context=templates.get("question_context", "{question}"),
            question_candidate=templates.get("question_candidate", "{option}"),
            text_prefix=scorer.get("text_prefix", ""),
            speech_prefix=scorer.get("speech_prefix", ""),
            separator=scorer.get("separator", " "),
            path=path,
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{path}: malformed profile: {exc}") from exc


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
