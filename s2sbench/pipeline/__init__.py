"""``s2s build`` as a library: a text source in, a checked spoken build directory out.

The package reads as the pipeline it is: :mod:`.options` (what a build takes), :mod:`.source`
(scan, de-duplicate, select), :mod:`.recordings` (people's recordings), :mod:`.records` (the typed
records between stages), :mod:`.stages` (``speak_batch``, ``check_batch``: plain functions over
batches), :mod:`.executors` (local, and :mod:`.ray_executor`) and :mod:`.run` (:func:`build`, which
wires them). :func:`build` is loaded on first use, so importing the package for its options does not
load the stages and the engines behind them.
"""

from typing import Any

from s2sbench.pipeline.options import BuildOptions, BuildSummary, RayOptions

__all__ = ["BuildOptions", "BuildSummary", "RayOptions", "build", "resolve_tts"]


def __getattr__(name: str) -> Any:
    if name in ("build", "resolve_tts"):
        from s2sbench.pipeline import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
