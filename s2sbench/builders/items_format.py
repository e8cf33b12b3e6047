"""s2sbench's own item files: ``items.jsonl`` of a build, and the bundled samples.

- What: one JSON object per line with ``context``, ``candidates`` (a list) and ``answer`` (an index),
  optionally ``subset`` and ``id``.
- Licence: whatever the file's author chose (give it with ``--license``); the bundled samples
  (``sample:en``, ``sample:zh``) are original text written for this project and released with it
  under its licence (Apache-2.0).
"""

from __future__ import annotations

from s2sbench.builders import BuildContext, get_builder, register_builder
from s2sbench.builders.rows import SourceRow
from s2sbench.items import Item, make_id


@register_builder("items", subset="items", license=None, columns=("context", "candidates", "answer"))
def items_item(row: SourceRow, context: BuildContext) -> Item:
    """s2sbench item JSONL (context, candidates list, answer index, optional subset and id)."""
    text = row.text("context")
    candidates = row.fields.get("candidates")
    if not isinstance(candidates, list) or len(candidates) < 2:
        raise row.error("candidates", "expected a list of at least two texts")
    cleaned = [str(c).strip() for c in candidates]
    if not all(cleaned):
        raise row.error("candidates", "empty value")
    answer = row.fields.get("answer")
    if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(cleaned):
        raise row.error("answer", f"answer {answer!r} out of range (expected 0..{len(cleaned) - 1})")
    item = get_builder("items").make_item(row, context, text, cleaned, answer)
    subset = context.subset or row.fields.get("subset")
    if subset:
        item.subset = str(subset)
        item.id = make_id(item.subset, context.lang, *row.key)
    if row.fields.get("id"):
        item.id = str(row.fields["id"])
    return item
