"""``s2s build`` as a library: a text source in, a checked spoken build directory out.

The package reads as the pipeline it is: :mod:`.options` (what a build takes), :mod:`.source`
(scan, de-duplicate, select), :mod:`.records` (the typed records between stages), :mod:`.stages`
(``speak_batch``, ``check_batch``: plain functions over batches), :mod:`.executors` (local, and
:mod:`.ray_executor`) and :mod:`.run` (:func:`build`, which wires them).
"""

from s2sbench.build.options import BuildOptions, BuildSummary, RayOptions
from s2sbench.build.run import build, resolve_tts

__all__ = ["BuildOptions", "BuildSummary", "RayOptions", "build", "resolve_tts"]
