"""MMLU: massive multitask language understanding (Hendrycks et al., ICLR 2021).

- What: four-option multiple-choice questions on 57 subjects, in English.
- Size: 14,042 test questions (plus dev and val).
- Licence: MIT (``hf://cais/mmlu``, or ``--license corpus`` for local files of it).
- Link: https://github.com/hendrycks/test
- Layout: header-less CSVs, one per subject and split (``abstract_algebra_test.csv``), columns
  question, A, B, C, D, answer letter. Give one file or the ``test/`` directory. The subject is the
  file name without its split suffix. Header-less files cannot be sniffed: pass ``--format mmlu``.

Options become continuations through the profile's question templates, as for CMMLU.
"""

from __future__ import annotations

import re
from pathlib import Path

from s2sbench.builders import BuildContext, get_builder, register_builder
from s2sbench.builders.rows import SourceRow
from s2sbench.items import Item

FIELDNAMES = ("question", "A", "B", "C", "D", "answer")
LETTERS = ("A", "B", "C", "D")
_SPLIT_SUFFIX = re.compile(r"_(test|val|dev)$")


def subject_of(file: str) -> str:
    """``.../high_school_physics_test.csv`` -> ``high_school_physics``."""
    return _SPLIT_SUFFIX.sub("", Path(file).stem)


@register_builder("mmlu", subset="sMMLU", license="mit", fieldnames=FIELDNAMES, sniffable=False, hub_ids=("cais/mmlu",))
def mmlu_item(row: SourceRow, context: BuildContext) -> Item:
    """MMLU header-less CSVs (question, A, B, C, D, answer letter); subject from the file name."""
    question = row.text("question")
    options = [row.text(letter) for letter in LETTERS]
    answer = row.choice("answer", LETTERS)
    text, candidates = context.question_texts(question, options)
    return get_builder("mmlu").make_item(row, context, text, candidates, answer, subject=subject_of(row.file))
