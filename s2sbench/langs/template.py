"""``s2s langs new``: the commented profile a maintainer starts a language from."""

from __future__ import annotations

import tomllib
from pathlib import Path

from s2sbench.errors import ProfileError
from s2sbench.synth.espeak_data import espeak_voices

# Scripts written without spaces between words: error rates over characters, no scorer separator.
NO_SPACE_LANGUAGES = {"zh", "cmn", "yue", "hak", "ja", "th", "lo", "km", "my", "bo", "dz", "shn"}


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
