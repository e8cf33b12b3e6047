"""CMMLU: Chinese massive multitask language understanding, the source of S2SBench's sCMMLU.

- What: four-option multiple-choice questions on 67 subjects, written in Chinese.
- Size: 11,528 questions (test 11,582 with dev); sCMMLU speaks 4,743 of them.
- Licence: CC BY-NC 4.0 (non-commercial); a pushed derivative keeps it (``hf://haonan-li/cmmlu``, or
  ``--license corpus`` for local files of it).
- Link: https://github.com/haonan-li/CMMLU (Li et al., 2023).
- Layout: one CSV per subject (``test/agronomy.csv``...), header ``<unnamed index>, Question, A,
  B, C, D, Answer`` with the answer a letter. Give one file or the directory.

Each option becomes a continuation of the question through the language profile's templates
(``question_context``, ``question_candidate``; ``--template`` overrides the candidate template,
with ``{option}``, ``{letter}`` and ``{question}`` placeholders). The subject is kept in ``source``.
"""

from __future__ import annotations

from pathlib import Path

from s2sbench.builders import BuildContext, get_builder, register_builder
from s2sbench.builders.rows import SourceRow
from s2sbench.items import Item

COLUMNS = ("Question", "A", "B", "C", "D", "Answer")
LETTERS = ("A", "B", "C", "D")


@register_builder("cmmlu", subset="sCMMLU", license="cc-by-nc-4.0", columns=COLUMNS, hub_ids=("haonan-li/cmmlu",))
def cmmlu_item(row: SourceRow, context: BuildContext) -> Item:
    """CMMLU subject CSVs (index, Question, A, B, C, D, Answer letter); a file or a directory."""
    question = row.text("Question")
    options = [row.text(letter) for letter in LETTERS]
    answer = row.choice("Answer", LETTERS)
    text, candidates = context.question_texts(question, options)
    return get_builder("cmmlu").make_item(row, context, text, candidates, answer, subject=Path(row.file).stem)
