"""ROCStories Cloze Test (StoryCloze): the source of S2SBench's sStoryCloze.

- What: four-sentence everyday stories, each with a right and a wrong fifth sentence.
- Size: Spring 2016 validation and test sets, 1,871 stories each (sStoryCloze speaks both: 3,742).
- Licence: distributed by its authors on request; not redistributable. A pushed derivative must
  carry their terms: with ``--license corpus`` (the file is the Cloze Test) cards name them
  (``other``, with a link); a file of other stories in this layout takes its own ``--license``.
- Link: https://cs.rochester.edu/nlp/rocstories/ (Mostafazadeh et al., NAACL 2016).
- Layout: CSV with header ``InputStoryid, InputSentence1..4, RandomFifthSentenceQuiz1,
  RandomFifthSentenceQuiz2, AnswerRightEnding`` (1 or 2).

Context is the four sentences joined by single spaces; candidates are the two endings in file
order; the answer is ``AnswerRightEnding - 1``.
"""

from __future__ import annotations

from s2sbench.builders import BuildContext, get_builder, register_builder
from s2sbench.builders.rows import SourceRow
from s2sbench.items import Item
from s2sbench.licenses import DataLicense

COLUMNS = (
    "InputStoryid",
    "InputSentence1",
    "InputSentence2",
    "InputSentence3",
    "InputSentence4",
    "RandomFifthSentenceQuiz1",
    "RandomFifthSentenceQuiz2",
    "AnswerRightEnding",
)


# Not an open licence: the authors distribute the set on request, under their terms.
LICENSE = DataLicense("other", "Story Cloze Test terms of use (ROCStories; distributed by its authors on request)", "https://cs.rochester.edu/nlp/rocstories/")


@register_builder("storycloze", subset="sStoryCloze", license=LICENSE, columns=COLUMNS)
def storycloze_item(row: SourceRow, context: BuildContext) -> Item:
    """ROCStories Cloze Test CSV (InputSentence1-4, RandomFifthSentenceQuiz1/2, AnswerRightEnding)."""
    story = " ".join(row.text(f"InputSentence{i}") for i in range(1, 5))
    endings = [row.text("RandomFifthSentenceQuiz1"), row.text("RandomFifthSentenceQuiz2")]
    answer = row.choice("AnswerRightEnding", ("1", "2"))
    return get_builder("storycloze").make_item(row, context, story, endings, answer, story_id=row.text("InputStoryid"))
