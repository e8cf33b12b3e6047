"""Text normalization as named, composable steps, and the error rates computed after it.

A language profile lists steps by name (``normalizer = ["nfkc", "casefold", "strip_punctuation"]``);
the same chain is applied to the reference text and to the ASR transcript before the error rate.
Steps are small pure functions ``str -> str``; heavy ones import their library on first use.
It sits below the profiles (which check the steps they name) and the validation that applies them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache

from s2sbench.errors import ProfileError

Step = Callable[[str], str]


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def casefold(text: str) -> str:
    return text.casefold()


def strip_punctuation(text: str) -> str:
    """Unicode punctuation and symbols become spaces (letters, marks and digits stay)."""
    return "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)


def collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def remove_spaces(text: str) -> str:
    return re.sub(r"\s+", "", text)


@cache
def _english_normalizer() -> Step:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def whisper_english(text: str) -> str:
    """Whisper's English normalizer: contractions, numbers, British to American spelling."""
    return _english_normalizer()(text)


@cache
def _basic_normalizer() -> Step:
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def whisper_basic(text: str) -> str:
    """Whisper's language-independent normalizer (lower case, no marks or brackets)."""
    return _basic_normalizer()(text)


@cache
def _opencc_t2s():
    import opencc

    return opencc.OpenCC("t2s")


def traditional_to_simplified(text: str) -> str:
    """Whisper often writes Mandarin in traditional characters: compare in simplified."""
    return _opencc_t2s().convert(text)


def arabic_numerals_to_chinese(text: str) -> str:
    """``3个`` -> ``三个``, so a transcript's digits match the reference's characters."""
    import cn2an

    try:
        return cn2an.transform(text, "an2cn")
    except (ValueError, KeyError):  # cn2an rejects some digit runs; keep the text as it is
        return text


STEPS: dict[str, Step] = {
    "nfkc": nfkc,
    "casefold": casefold,
    "strip_punctuation": strip_punctuation,
    "collapse_spaces": collapse_spaces,
    "remove_spaces": remove_spaces,
    "whisper_english": whisper_english,
    "whisper_basic": whisper_basic,
    "traditional_to_simplified": traditional_to_simplified,
    "arabic_numerals_to_chinese": arabic_numerals_to_chinese,
}


def character_map(mapping: dict[str, str]) -> Step:
    """A step replacing each key by its value (profiles declare these as tables)."""
    table = dict(mapping)

    def apply(text: str) -> str:
        for source, target in table.items():
            text = text.replace(source, target)
        return text

    return apply


def chain(steps: Sequence[str | dict[str, str]]) -> Step:
    """Compose named steps (or ``{"map": {...}}`` character maps) left to right, then collapse spaces."""
    functions: list[Step] = []
    for step in steps:
        if isinstance(step, dict) and "map" in step:
            functions.append(character_map(step["map"]))
        elif isinstance(step, str) and step in STEPS:
            functions.append(STEPS[step])
        else:
            raise ProfileError(f"unknown normalizer step {step!r}; known: {', '.join(STEPS)} or {{map = {{...}}}}")

    def normalize(text: str) -> str:
        for function in functions:
            text = function(text)
        return collapse_spaces(text)

    return normalize


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of normalized texts; an empty reference scores 0 against an empty hypothesis, else 1."""
    import jiwer

    if not reference.strip():
        return 0.0 if not hypothesis.strip() else 1.0
    return float(jiwer.wer(reference, hypothesis if hypothesis.strip() else ""))


def character_error_rate(reference: str, hypothesis: str) -> float:
    """CER of normalized texts, spaces ignored (for scripts written without spaces)."""
    import jiwer

    reference, hypothesis = remove_spaces(reference), remove_spaces(hypothesis)
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return float(jiwer.cer(reference, hypothesis))


METRICS: dict[str, Callable[[str, str], float]] = {"wer": word_error_rate, "cer": character_error_rate}


def error_rate(metric: str, reference: str, hypothesis: str) -> float:
    try:
        return METRICS[metric](reference, hypothesis)
    except KeyError:
        raise ProfileError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}") from None
