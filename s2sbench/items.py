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
    def from_dict(cls, record: dict[str, Any]) -> "Item":
        known = {k: record[k] for k in cls.__dataclass_fields__ if k in record}
        return cls(**known)

    def content_key(self) -> tuple:
        """What makes two items exact duplicates (ids and provenance aside)."""
        return (self.subset, self.lang, self.context, tuple(self.candidates), self.answer)


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
