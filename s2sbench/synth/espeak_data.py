"""espeak-ng's data, found in one place: where it lies, and the language voices it holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EspeakVoice:
    """A voice file of espeak-ng's data: the name to give ``[tts] voices`` and what it speaks."""

    voice: str  # what espeak_SetVoiceByName takes: the file name ("cmn", "en-us", "ru-cl")
    name: str  # "Chinese (Mandarin, latin as English)"
    language: str  # the language tag it declares ("cmn", "en-us")


def data_directory() -> Path | None:
    """espeak-ng's data as the engine loads it: espeakng-loader's when it is installed, else the system's."""
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
    root = data_directory()
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
