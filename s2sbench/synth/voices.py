"""What each installed speech engine can speak: ``s2s voices ENGINE[:MODEL] [LANG]``.

- ``espeak``: every voice file of the espeak-ng data s2sbench loads (``--voice`` takes the name, with
  an optional variant: ``en-us+f3``).
- ``piper``: every voice installed (voice packages, ``$PIPER_VOICES_DIR``, ``~/.local/share/piper``);
  ``piper:VOICE`` lists that voice's speakers.
- ``kokoro[:MODEL]``: the voices of the model's voices file (the offline model's five); every voice
  speaks every language Kokoro speaks, so a language filters nothing but what Kokoro cannot speak.
- ``coqui:MODEL``: the model's speakers (and languages), read by loading it; Coqui's named models
  download, so a local model directory is what works offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from s2sbench.errors import EngineError


@dataclass(frozen=True)
class Voice:
    voice: str  # what --voice / --voices take
    language: str
    description: str


def _matches(language: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    language, wanted = language.lower().replace("_", "-"), wanted.lower().replace("_", "-")
    return language == wanted or language.startswith(f"{wanted}-")


def espeak_voices(language: str | None) -> list[Voice]:
    from s2sbench.synth.espeak_data import espeak_voices as voice_files

    return [Voice(v.voice, v.language, v.name) for v in voice_files() if _matches(v.language, language) or _matches(v.voice, language)]


def piper_voices(model: str | None, language: str | None) -> list[Voice]:
    from s2sbench.synth.piper import installed_voices, resolve_voice

    rows = []
    for name, path in ([(model, resolve_voice(model))] if model else installed_voices()):
        config = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
        code = str((config.get("language") or {}).get("code") or (config.get("espeak") or {}).get("voice", "?"))
        if not _matches(code, language):
            continue
        speakers = config.get("speaker_id_map") or {}
        if model and speakers:
            rows += [Voice(speaker, code, f"speaker {number} of {name}") for speaker, number in sorted(speakers.items(), key=lambda pair: pair[1])]
        else:
            rows.append(Voice(name, code, f"{config.get('dataset', name)}, {config.get('num_speakers', 1)} speaker(s); --tts piper:{name}"))
    return rows


def coqui_voices(model: str | None, language: str | None) -> list[Voice]:
    if not model:
        raise EngineError("coqui voices belong to a model: `s2s voices coqui:MODEL_DIR` (or a Coqui model name, which downloads)")
    from s2sbench.synth import TTSSpec, load_engine

    tts = load_engine(TTSSpec("coqui", model, device="cpu")).tts
    languages = [str(code) for code in (tts.languages or [])] if getattr(tts, "is_multi_lingual", False) else ["any"]
    speakers = [str(name) for name in (tts.speakers or [])] if getattr(tts, "is_multi_speaker", False) else ["(single speaker: no --voice)"]
    return [Voice(speaker, ",".join(code for code in languages if _matches(code, language) or code == "any") or "-", f"speaker of {model}")
            for speaker in speakers]


def kokoro_voices(model: str | None, language: str | None) -> list[Voice]:
    from s2sbench.synth import TTSSpec
    from s2sbench.synth.kokoro import LANGUAGES, language_of, voice_names

    if language:
        language_of(language)  # one Kokoro does not speak is an error naming those it does
    speaks = ", ".join(sorted(code for code in LANGUAGES if "-" not in code))
    trained = {"a": "American English", "b": "British English", "e": "Spanish", "f": "French", "h": "Hindi", "i": "Italian",
               "j": "Japanese", "p": "Brazilian Portuguese", "z": "Mandarin"}
    return [Voice(name, speaks, f"{'female' if name[1:2] == 'f' else 'male'}, trained on {trained.get(name[:1], 'its own language')}")
            for name in voice_names(TTSSpec("kokoro", model))]


def list_voices(engine: str, language: str | None = None) -> list[Voice]:
    """The voices of ``engine`` (``ENGINE[:MODEL]``) that speak ``language`` (a code or its prefix)."""
    name, _, model = engine.partition(":")
    listers = {"espeak": lambda: espeak_voices(language), "piper": lambda: piper_voices(model or None, language),
               "coqui": lambda: coqui_voices(model or None, language), "kokoro": lambda: kokoro_voices(model or None, language)}
    if name not in listers:
        raise EngineError(f"unknown engine {name!r}; known: {', '.join(listers)}")
    return listers[name]()


def format_voices(voices: list[Voice]) -> str:
    width = max([len(v.voice) for v in voices] + [5])
    code = max([len(v.language) for v in voices] + [8])
    lines = [f"{'voice':{width}}  {'language':{code}}  description"]
    lines += [f"{v.voice:{width}}  {v.language:{code}}  {v.description}" for v in voices]
    return "\n".join(lines)
