"""Any CSV, TSV or JSONL file, mapped to items with ``--map``.

``--map context=COL,candidates=COL1|COL2|...,answer=COL[,subset=COL][,id=COL]``

- ``candidates`` names two or more columns joined by ``|``, or one column holding a list.
- ``answer`` holds a 0-based index, a letter (``A`` is the first candidate), or the text of the
  right candidate.
- Licence: that of the file: give it with ``--license`` (build or push); a push without one is refused.
"""

from __future__ import annotations

import json

from s2sbench._io import parse_json
from s2sbench.builders import BuildContext, get_builder, register_builder
from s2sbench.builders.rows import SourceRow
from s2sbench.errors import SourceError
from s2sbench.items import Item, make_id

REQUIRED_KEYS = ("context", "candidates", "answer")


def parse_column_map(spec: str) -> dict[str, str]:
    """``"context=q,candidates=a|b,answer=y"`` -> ``{"context": "q", ...}``."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, column = part.partition("=")
        if not sep or not column:
            raise SourceError(f"--map: {part!r} is not KEY=COLUMN")
        mapping[key.strip()] = column.strip()
    unknown = set(mapping) - {*REQUIRED_KEYS, "subset", "id"}
    if unknown:
        raise SourceError(f"--map: unknown key(s) {', '.join(sorted(unknown))} (known: context, candidates, answer, subset, id)")
    return mapping


def _candidates(row: SourceRow, spec: str) -> list[str]:
    columns = spec.split("|")
    if len(columns) > 1:
        return [row.text(column) for column in columns]
    value = row.fields.get(spec)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = parse_json(value)
        except json.JSONDecodeError:
            raise row.error(spec, "not a JSON list of candidates") from None
    if not isinstance(value, list) or len(value) < 2:
        raise row.error(spec, "expected two or more columns joined by | or a list of at least two texts")
    texts = [str(v).strip() for v in value]
    if not all(texts):
        raise row.error(spec, "empty value")
    return texts


def _answer(row: SourceRow, column: str, candidates: list[str]) -> int:
    value = row.fields.get(column)
    if column not in row.fields:
        raise row.error(column, "missing column")
    text = str(value).strip()
    if isinstance(value, int) or text.lstrip("-").isdigit():
        index = int(text)
    elif len(text) == 1 and text.isalpha():
        index = ord(text.upper()) - ord("A")
    elif text in candidates:
        index = candidates.index(text)
    else:
        raise row.error(column, f"answer {text!r} is not an index, a letter or a candidate's text")
    if not 0 <= index < len(candidates):
        raise row.error(column, f"answer {text!r} out of range (expected 0..{len(candidates) - 1})")
    return index


def _table_item(name: str, row: SourceRow, context: BuildContext) -> Item:
    mapping = context.column_map
    missing = [key for key in REQUIRED_KEYS if key not in mapping]
    if missing:
        raise SourceError(f"format {name!r} needs --map with {', '.join(missing)} (e.g. --map context=question,candidates=a|b,answer=label)")
    text = row.text(mapping["context"])
    candidates = _candidates(row, mapping["candidates"])
    answer = _answer(row, mapping["answer"], candidates)
    item = get_builder(name).make_item(row, context, text, candidates, answer)
    if "subset" in mapping and not context.subset:
        item.subset = row.text(mapping["subset"])
        item.id = make_id(item.subset, context.lang, *row.key)
    if "id" in mapping:
        item.id = make_id(item.subset, context.lang, row.text(mapping["id"]))
    return item


@register_builder("csv", subset="custom", license=None, sniffable=False)
def csv_item(row: SourceRow, context: BuildContext) -> Item:
    """Any CSV/TSV with a header, mapped with --map context=COL,candidates=A|B,answer=COL."""
    return _table_item("csv", row, context)


@register_builder("jsonl", subset="custom", license=None, sniffable=False)
def jsonl_item(row: SourceRow, context: BuildContext) -> Item:
    """Any JSON Lines file, mapped with --map context=KEY,candidates=KEY|KEY or a list key,answer=KEY."""
    return _table_item("jsonl", row, context)
