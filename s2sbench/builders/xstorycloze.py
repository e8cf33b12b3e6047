"""XStoryCloze: StoryCloze's Spring 2016 stories professionally translated into ten languages.

- What: the English StoryCloze validation stories plus translations in ru, zh, es, ar, hi, id, te,
  sw, eu and my; S2SBench's zh-sStoryCloze speaks the Chinese one.
- Size: 1,511 stories per language (360 train, 1,511 eval in the Hub release).
- Licence: CC BY-SA 4.0 for the translations; the English stories keep StoryCloze's terms. Applied
  to ``hf://juletxara/xstory_cloze`` and, with ``--license corpus``, to local files of it.
- Link: https://huggingface.co/datasets/juletxara/xstory_cloze (Lin et al., 2022).
- Layout: the Hub dataset's columns ``story_id, input_sentence_1..4, sentence_quiz1,
  sentence_quiz2, answer_right_ending`` (1 or 2), as CSV, TSV, JSONL or ``hf://``.
"""

from __future__ import annotations

from s2sbench.builders import BuildContext, get_builder, register_builder
from s2sbench.builders.rows import SourceRow
from s2sbench.items import Item

COLUMNS = (
    "story_id",
    "input_sentence_1",
    "input_sentence_2",
    "input_sentence_3",
    "input_sentence_4",
    "sentence_quiz1",
    "sentence_quiz2",
    "answer_right_ending",
)


@register_builder("xstorycloze", subset="{lang}-sStoryCloze", license="cc-by-sa-4.0", columns=COLUMNS, hub_ids=("juletxara/xstory_cloze",))
def xstorycloze_item(row: SourceRow, context: BuildContext) -> Item:
    """XStoryCloze rows (story_id, input_sentence_1-4, sentence_quiz1/2, answer_right_ending)."""
    story = " ".join(row.text(f"input_sentence_{i}") for i in range(1, 5))
    endings = [row.text("sentence_quiz1"), row.text("sentence_quiz2")]
    answer = row.choice("answer_right_ending", ("1", "2"))
    return get_builder("xstorycloze").make_item(row, context, story, endings, answer, story_id=row.text("story_id"))
