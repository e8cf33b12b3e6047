"""The records a validation reads: a clip's :class:`Attempt` s and the :class:`ClipCheck` that awaits
a verdict, and the batch size both a build and a revalidation hear clips in.

They sit below :mod:`s2sbench.pipeline` (whose records carry them between stages) so that
:mod:`.cache` and :mod:`.revalidate` read them without importing the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Items per batch: the recognizer hears all of a batch's new clips in one call (and a Ray actor gets
# one batch at a time). 8 items are 24 to 40 clips: enough to fill a GPU's batch, little memory.
DEFAULT_BATCH_SIZE = 8

# What the build records of an attempt besides its path, and keeps in the measurement cache.
ATTEMPT_FIELDS = ("voice", "rate", "seed")


@dataclass
class Attempt:
    """One clip made for one try: the clip's path in the build, and its verdict once checked."""

    path: str
    created: bool  # made by this run (False: the clip existed)
    voice: str | None = None
    rate: float | None = None  # None for an adopted recording
    seed: int | None = None
    verdict: dict[str, Any] | None = None

    def history(self) -> dict[str, Any]:
        """The attempt as the measurement cache keeps it: which clip, made how."""
        return {"path": self.path, **{name: getattr(self, name) for name in ATTEMPT_FIELDS}}


@dataclass
class ClipCheck:
    """A clip whose last attempt awaits its verdict."""

    item_id: str
    text: str
    language: str
    attempts: list[Attempt]  # the clip's own list: the check appends to it
