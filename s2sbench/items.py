"""The item: one question, a context and K candidate continuations, one of them plausible.

Items travel as plain JSON objects, one per line of ``items.jsonl`` (see DESIGN in the README).
:class:`Item` is the typed view that builders produce and stages extend.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Item:
    """One benchmark question.

    ``audio`` holds clip paths relative to the build directory once synthesized:
    ``{"context": PATH, "candidates": [PATH, ...] | None, "voices": {...}}``.
    ``validation`` holds per-clip verdicts once validated.
    """

    id: str
    subset: str
    lang: str
    context: str
    candidates: list[str]
    answer: int
    source: dict[str, Any] = field(default_factory=dict)
    audio: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        return {k: v for k, v in record.items() if v is not None}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Item:
        known = {k: record[k] for k in cls.__dataclass_fields__ if k in record}
        return cls(**known)

    def content_key(self) -> tuple:
        """What makes two items exact duplicates (ids and provenance aside)."""
        return (self.subset, self.lang, self.context, tuple(self.candidates), self.answer)


# Item ids, subset names and languages become file names (clip caches, results, the release layout),
# Hub config names and parquet paths: they are held to this pattern wherever an item is read or made.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Texts are spoken and published: control characters other than tab and newline are refused, and so
# are lone surrogates (JSON's "\udcff" decodes to one; it is not Unicode, and no UTF-8 file can hold it).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
MAX_TEXT_CHARS = 100_000  # per field; a whole story is about 500


def name_problem(value: object) -> str | None:
    """Why ``value`` cannot be a name (id, subset, config, language), or None when it can."""
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if not NAME.fullmatch(value) or ".." in value:
        return f"{value[:60]!r} is not a name: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
    return None


def text_problem(value: object) -> str | None:
    """Why ``value`` cannot be a context or candidate text, or None when it can."""
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if len(value) > MAX_TEXT_CHARS:
        return f"{len(value)} characters, more than the limit of {MAX_TEXT_CHARS}"
    control = CONTROL.search(value)
    if control:
        return f"control character U+{ord(control.group()):04X} at position {control.start() + 1}"
    surrogate = SURROGATE.search(value)
    if surrogate:
        return f"lone surrogate U+{ord(surrogate.group()):04X} at position {surrogate.start() + 1}: not valid Unicode"
    return None


def item_problems(item: Item) -> list[tuple[str, str]]:
    """(field, problem) for everything wrong with ``item``'s shape, names and texts."""
    problems = [(name, problem) for name in ("id", "subset", "lang") if (problem := name_problem(getattr(item, name)))]
    if (problem := text_problem(item.context)) is not None:
        problems.append(("context", problem))
    if not isinstance(item.candidates, list) or len(item.candidates) < 2:
        problems.append(("candidates", "expected a list of at least two texts"))
    else:
        problems += [(f"candidates[{k}]", problem) for k, text in enumerate(item.candidates) if (problem := text_problem(text))]
        if isinstance(item.answer, bool) or not isinstance(item.answer, int) or not 0 <= item.answer < len(item.candidates):
            problems.append(("answer", f"{item.answer!r} is not a candidate index (0..{len(item.candidates) - 1})"))
    return problems


_SLUG = re.compile(r"[^0-9A-Za-z]+")


def slug(text: str) -> str:
    """Lower-case ASCII slug for ids: ``'sStoryCloze' -> 'sstorycloze'``."""
    return _SLUG.sub("-", text).strip("-").lower() or "x"


def make_id(subset: str, lang: str, *parts: str | int) -> str:
    """A stable item id from the subset, language and the row's own key.

    The same source row gives the same id on every run, with or without ``--limit``.
    """
    rendered = [f"{p:06d}" if isinstance(p, int) else slug(str(p)) for p in parts]
    return "-".join([slug(subset), slug(lang), *rendered])
