"""How a long call says how far it has come: one protocol for build, validate, augment, score and push.

A call is given a :class:`Progress`; it says once how much there is (``start``), then how much is
done (``advance``), with the counts worth showing beside it (clips synthesized, reused). The
command line's bar implements it; a library user passes nothing (:data:`SILENT`) or their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def start(self, total: int | None) -> None:
        """How many units (items, clips, variants) there are; None where it is not known."""

    def advance(self, done: int, **counts: int) -> None:
        """``done`` units finished so far (not an increment), and counts to show beside them."""


class _Silent:
    def start(self, total: int | None) -> None:
        pass

    def advance(self, done: int, **counts: int) -> None:
        pass


SILENT: Progress = _Silent()


class _Calling:
    def __init__(self, function: Callable[[int], None]):
        self.function = function

    def start(self, total: int | None) -> None:
        pass

    def advance(self, done: int, **counts: int) -> None:
        self.function(done)


def calling(function: Callable[[int], None]) -> Progress:
    """A progress that calls ``function(done)`` on each advance (a callback, a test that stops a run midway)."""
    return _Calling(function)
