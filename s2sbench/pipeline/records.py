"""The records that move between a build's stages, typed.

An item to build becomes an :class:`ItemWork`: one :class:`ClipJob` per clip to make (the context,
then each spoken candidate), each with the :class:`Attempt` s made so far. Speaking appends an
attempt; checking gives the last attempt its verdict (and may append the later attempts an earlier
run made, see :mod:`s2sbench.validate.cache`). A finished work becomes a :class:`BuiltItem`, or a
:class:`FailedItem` when an engine could not handle it. Records cross process boundaries (worker
processes, Ray actors) as JSON, so a record means the same wherever it is read. The attempt and the check are
what a validation reads, so they live below the pipeline, in :mod:`s2sbench.validate.records`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from s2sbench._io import parse_json
from s2sbench.items import Item
from s2sbench.validate.records import ATTEMPT_FIELDS, Attempt, ClipCheck

__all__ = ["ATTEMPT_FIELDS", "Attempt", "BuiltItem", "ClipCheck", "ClipJob", "FailedItem", "ItemWork"]


@dataclass
class ClipJob:
    """One clip of an item: the text to speak (or a recording to adopt) and its attempts."""

    text: str
    recording: str | None = None  # an absolute path: the stages may run in another directory
    attempts: list[Attempt] = field(default_factory=list)
    # A person's recording (--recordings), finished like a synthesized clip and voiced "human:NAME";
    # None with a recording: the source's own (the S2SBench release's wavs), adopted as it is.
    speaker: str | None = None


@dataclass
class ItemWork:
    """An item on its way through the stages. An engine error is kept here, never raised, so one
    text an engine cannot speak does not stop a build."""

    item: Item
    clips: list[ClipJob]
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps({"item": self.item.to_dict(), "clips": [asdict(clip) for clip in self.clips], "error": self.error}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ItemWork:
        record = parse_json(text)
        clips = [ClipJob(clip["text"], clip["recording"], [Attempt(**attempt) for attempt in clip["attempts"]], clip.get("speaker"))
                 for clip in record["clips"]]
        return cls(Item.from_dict(record["item"]), clips, record["error"])


@dataclass
class BuiltItem:
    """A finished item with its clips (and verdicts), and how many of its clips this run made."""

    item: Item
    synthesized: int
    reused: int


@dataclass
class FailedItem:
    """An item an engine could not handle, with the error; ``failed.jsonl`` lists these."""

    id: str
    error: str

    def as_record(self) -> dict[str, str]:
        return {"id": self.id, "error": self.error}
