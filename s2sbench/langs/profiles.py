"""Language profiles by code or file: load one, list them, describe one (``s2s langs``, ``s2s langs show``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from s2sbench.errors import ProfileError
from s2sbench.profiles import LanguageProfile, bundled_profiles, load_profile


def load_code_or_file(code_or_path: str | Path) -> LanguageProfile:
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


def check_sentence(code_or_path: str | Path, profile: LanguageProfile | None = None) -> str | None:
    """The profile's ``[text] check_sentence``, or None when it has none (or an empty one)."""
    sentence = (profile or load_code_or_file(code_or_path)).check_sentence
    return sentence.strip() if sentence and sentence.strip() else None


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
    rows = [_row(load_code_or_file(code)) for code in bundled_profiles()]
    rows += [_row(load_code_or_file(path)) for path in extra]
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
    profile = load_code_or_file(code_or_path)
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
