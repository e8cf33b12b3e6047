"""What ``s2s score`` does, as one call: merge finished shards, sweep checkpoints, or score one model.

:func:`run_scoring` chooses among them, reads every item before a model loads (a bad item fails
in seconds), and returns what the user reads: the summary where this process is the one to print it
(shard 1 of a split run; the others' summary would not be theirs) and the closing lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from s2sbench.devices import check_device
from s2sbench.errors import S2SBenchError
from s2sbench.progress import SILENT, Progress
from s2sbench.scorer.run import ScoreOptions, merge, score, shard_from_environment
from s2sbench.scorer.sweep import expand_models, sweep

SUMMARY_FILE = "summary.md"
SWEEP_FILE = "sweep.md"


def _nothing(*_: object) -> None:
    return None


def run_scoring(options: ScoreOptions, models: Sequence[str] = (), *, merge_only: bool = False, allow_partial: bool = False,
                progress: Progress = SILENT, notify: Callable[[str], None] = _nothing, announce: Callable[[str], None] = _nothing) -> str:
    """Merge the shards in ``options.output`` (``merge_only``); else score ``options.source`` with
    each of ``models`` (globs expanded; several: a checkpoint sweep, one directory each). ``progress``
    follows the items, ``notify`` gets the warnings a user must read, ``announce`` each checkpoint of
    a sweep. Returns the text to print."""
    output = Path(options.output)
    if merge_only:
        merge(output, allow_partial=allow_partial)
        return _read(output / SUMMARY_FILE)
    if not options.source or not models:
        raise S2SBenchError("give a SOURCE and --model (or --merge -o RESULTS)")
    check_device(options.device)  # before the items are read
    expanded = expand_models(list(models))
    options = replace(options, model=expanded[0])
    if len(expanded) > 1:
        sweep(options, expanded, progress=announce)
        return f"{_read(output / SWEEP_FILE)}\nresults: {output} (one directory per checkpoint, {SWEEP_FILE}, sweep.png)"
    counted = _Counted(progress)
    started = time.perf_counter()
    resumed = any(path.stat().st_size for path in output.glob("scores*.jsonl"))  # before this run: items it will not score again
    score(options, progress=counted, notify=notify)
    seconds = time.perf_counter() - started
    total = counted.total or 0
    first_rank = (options.shard or shard_from_environment())[0] == 0
    summary = _read(output / SUMMARY_FILE) + "\n" if first_rank and (output / SUMMARY_FILE).is_file() else ""
    return (f"{summary}scored {total} item{'' if total == 1 else 's'} in {', '.join(options.modes)} in {seconds:.1f} s "
            f"({total / max(seconds, 1e-9):.2f} items/s{', items already in the results included' if resumed else ''})\nresults: {output}")


class _Counted:
    """A progress passed on, keeping the total it was started with (the items this run read)."""

    def __init__(self, progress: Progress):
        self.progress, self.total = progress, None

    def start(self, total: int | None) -> None:
        self.total = total
        self.progress.start(total)

    def advance(self, done: int, **counts: int) -> None:
        self.progress.advance(done, **counts)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").rstrip("\n")
