"""The original S2SBench release (arXiv 2505.14438, https://github.com/undobug/S2SBench).

- What: sStoryCloze (English), zh-sStoryCloze (Chinese) and sCMMLU (Chinese), with the context of
  every row spoken in ``{uttid}.wav``.
- Size: 3,742 story pairs per story set; 4,743 sCMMLU questions.
- Licence: that of the underlying sources (StoryCloze terms; XStoryCloze CC BY-SA 4.0; CMMLU
  CC BY-NC 4.0).
- Layout (paths in the release's ``eval_s2t.yaml``):
  ``S2S/StoryCloze/sStory_s2t.jsonl`` + ``s-story-firstspeech/``,
  ``S2S/StoryCloze/zh_story.jsonl`` + ``zh_story/``,
  ``S2S/cmmlu/cmmlu_rewrite_4.jsonl`` + ``cmmlu_rewrite/``.
  Story rows are ``{"uttid", "first", "last"}``: two rows per story with consecutive numeric
  uttids, the lower one the plausible ending. sCMMLU rows are ``{"uttid", "first", "A".."D",
  "answer"}`` with a letter answer.

Give one of the jsonl files; its wav folder is found by the release's name or as the sibling
directory named like the file. Items keep the original wavs (resampled) instead of synthesizing
the context; ``--speak all`` still synthesizes the text continuations.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from s2sbench.builders import BuildContext, get_builder, register_builder
from s2sbench.builders.rows import SourceRow, read_jsonl
from s2sbench.errors import SourceError, SourceRowError
from s2sbench.items import Item, make_id, name_problem
from s2sbench.licenses import DataLicense

# The release's layout, by subset: its jsonl and its wav folder, relative to the release root. The one
# definition, read here and written by `s2s push --layout s2sbench`.
RELEASE_LAYOUT = {
    "sStoryCloze": ("S2S/StoryCloze/sStory_s2t.jsonl", "S2S/StoryCloze/s-story-firstspeech"),
    "zh-sStoryCloze": ("S2S/StoryCloze/zh_story.jsonl", "S2S/StoryCloze/zh_story"),
    "sCMMLU": ("S2S/cmmlu/cmmlu_rewrite_4.jsonl", "S2S/cmmlu/cmmlu_rewrite"),
}
# Release file name -> (subset, wav folder name).
RELEASE_FILES = {Path(jsonl).stem: (subset, Path(wavs).name) for subset, (jsonl, wavs) in RELEASE_LAYOUT.items()}
LETTERS = ("A", "B", "C", "D")


def release_paths(subset: str) -> tuple[str, str]:
    """(jsonl, wav folder) of ``subset`` in the release layout; another subset gets ``S2S/<subset>.jsonl``
    and the folder named like it, which this builder finds as the file's sibling."""
    return RELEASE_LAYOUT.get(subset, (f"S2S/{subset}.jsonl", f"S2S/{subset}"))


def _uttid_number(row: SourceRow) -> int:
    value = row.text("uttid").split("_")[0]
    if not value.isdigit():
        raise row.error("uttid", f"{row.fields.get('uttid')!r} does not start with a number")
    return int(value)


def _wav_folder(path: Path) -> Path:
    name = RELEASE_FILES.get(path.stem, (None, path.stem))[1]
    folder = path.parent / name
    if not folder.is_dir():
        raise SourceError(f"{path}: wav folder {folder} not found (expected {{uttid}}.wav files there)")
    return folder


def _context_wav(row: SourceRow, folder: Path) -> str:
    uttid = row.text("uttid")
    if problem := name_problem(uttid):  # it names a file in the wav folder: nothing else may be read
        raise row.error("uttid", problem)
    wav = folder / f"{uttid}.wav"
    if not wav.is_file():
        raise row.error("uttid", f"no wav {wav}")
    return str(wav)


def _subset(path: Path, context: BuildContext) -> str:
    return context.subset or RELEASE_FILES.get(path.stem, (path.stem, None))[0]


def _story_items(path: Path, rows: list[SourceRow], context: BuildContext, folder: Path) -> Iterator[Item | SourceRowError]:
    builder = get_builder("s2sbench")
    numbered: list[tuple[int, SourceRow]] = []
    for row in rows:
        try:
            numbered.append((_uttid_number(row), row))
        except SourceRowError as error:
            yield error
    numbered.sort(key=lambda pair: pair[0])
    position = 0
    while position < len(numbered):
        number, plausible = numbered[position]
        if position + 1 >= len(numbered) or numbered[position + 1][0] != number + 1:
            yield plausible.error("uttid", f"story row {plausible.fields['uttid']} has no pair (no uttid {number + 1})")
            position += 1  # a lone row must not shift every later pair
            continue
        implausible = numbered[position + 1][1]
        position += 2
        try:
            story = plausible.text("first")
            if implausible.text("first") != story:
                raise implausible.error("first", f"differs from the story of uttid {plausible.fields['uttid']}")
            endings = [plausible.text("last"), implausible.text("last")]
            item = builder.make_item(plausible, context, story, endings, 0, uttids=[plausible.fields["uttid"], implausible.fields["uttid"]])
            item.subset = _subset(path, context)
            item.id = make_id(item.subset, context.lang, number)
            item.source["context_wav"] = _context_wav(plausible, folder)
            yield item
        except SourceRowError as error:
            yield error


def _question_item(path: Path, row: SourceRow, context: BuildContext, folder: Path) -> Item:
    options = [row.text(letter) for letter in LETTERS]
    answer = row.choice("answer", LETTERS)
    item = get_builder("s2sbench").make_item(row, context, row.text("first"), options, answer, uttid=row.text("uttid"))
    item.subset = _subset(path, context)
    item.id = make_id(item.subset, context.lang, _uttid_number(row))
    item.source["context_wav"] = _context_wav(row, folder)
    return item


def read_release(path: Path, context: BuildContext) -> Iterator[Item | SourceRowError]:
    """Original S2SBench release jsonl (uttid/first/last pairs or uttid/first/A-D/answer) and wavs."""
    if path.is_dir():
        found = sorted(str(p) for p in path.rglob("*.jsonl"))
        raise SourceError(f"{path}: give one release jsonl file: {', '.join(found) or 'none found here'}")
    folder = _wav_folder(path)
    rows: list[SourceRow] = []
    for row in read_jsonl(path):
        if isinstance(row, SourceRowError):
            yield row
        elif "last" in row.fields:
            rows.append(row)  # story rows pair by uttid, which needs the whole (small) file
        else:
            try:
                yield _question_item(path, row, context, folder)
            except SourceRowError as error:
                yield error
    if rows:
        yield from _story_items(path, rows, context, folder)


LICENSE = DataLicense("other", "the terms of the release's sources: Story Cloze Test terms, XStoryCloze CC BY-SA 4.0, CMMLU CC BY-NC 4.0",
                      "https://github.com/undobug/S2SBench")

register_builder("s2sbench", subset="s2sbench", license=LICENSE, columns=("uttid", "first"), reader=read_release)(None)
