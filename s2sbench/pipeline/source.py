"""The build's source: check every row, drop exact duplicates, choose the ``--limit`` sample.

The source is read twice, never held: :func:`scan_source` checks every row it reads (so a malformed
row stops the build before any audio is made), counts duplicates and chooses a seeded sample;
:func:`selected_items` then streams the chosen items in source order. Only a digest per item is kept.
With ``--limit N`` and no ``--seed`` the build is the first N items, so the scan stops there: rows
after the limit are never read, and a 200,000-row source costs what its first N rows cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from s2sbench.builders import BuildContext, iter_source_items
from s2sbench.errors import S2SBenchError, SourceRowError
from s2sbench.items import Item, item_problems
from s2sbench.pipeline.options import BuildOptions
from s2sbench.pipeline.recordings import scan_recordings


@dataclass
class SourceScan:
    total: int
    duplicates: int
    skipped: list[dict[str, Any]]
    chosen: set[str] | None  # ids chosen by a seeded --limit; None means "the first N"
    complete: bool = True  # False: the scan stopped at the first N items (--limit without --seed)


def source_items(options: BuildOptions, context: BuildContext) -> Iterator[Item | SourceRowError]:
    """The source's items (and row errors); with ``--recordings-only``, only the items whose context
    was recorded."""
    stream = iter_source_items(options.source, options.format, context)
    if not options.recordings_only:
        return stream
    if not options.recordings:
        raise S2SBenchError("--recordings-only goes with --recordings DIR")
    recordings = scan_recordings(options.recordings)
    return (entry for entry in stream if not isinstance(entry, Item) or recordings.has_context(entry.id))


def _content_digest(item: Item) -> bytes:
    return hashlib.blake2b(json.dumps(item.content_key(), ensure_ascii=False).encode(), digest_size=16).digest()


def _checked(stream: Iterator[Item | SourceRowError]) -> Iterator[Item | SourceRowError]:
    """Items whose names and texts pass :func:`item_problems`; the others as the error of their row."""
    for entry in stream:
        if isinstance(entry, Item):
            problems = item_problems(entry)
            if problems:
                field, problem = problems[0]
                entry = SourceRowError(entry.source.get("file", "source"), entry.source.get("line"), field, problem)
        yield entry


def _unique_items(stream: Iterator[Item | SourceRowError], skip_bad_rows: bool, skipped: list[dict], duplicates: Counter) -> Iterator[Item]:
    """Checked items with exact duplicates dropped; two different items with one id are an error."""
    seen: set[bytes] = set()
    lines: dict[str, int | None] = {}  # id -> the line that gave it
    for entry in _checked(stream):
        if isinstance(entry, SourceRowError):
            if not skip_bad_rows:
                raise entry
            skipped.append(entry.as_record())
            continue
        digest = _content_digest(entry)
        if digest in seen:
            duplicates["dropped"] += 1
            continue
        if entry.id in lines:
            first = lines[entry.id]
            raise SourceRowError(entry.source.get("file", "source"), entry.source.get("line"), "id",
                                 f"{entry.id!r} is also the id of {'line ' + str(first) if first is not None else 'an earlier row'}, with other content")
        seen.add(digest)
        lines[entry.id] = entry.source.get("line")
        yield entry


def scan_source(options: BuildOptions, context: BuildContext) -> SourceScan:
    """First pass: check every row, count duplicates, choose the seeded sample."""
    skipped: list[dict] = []
    duplicates: Counter = Counter()
    total = 0
    first_n = options.limit is not None and options.seed is None
    sample: list[tuple[int, str]] = []  # max-heap by negated rank: the ``limit`` smallest ranks
    for item in _unique_items(source_items(options, context), options.skip_bad_rows, skipped, duplicates):
        total += 1
        if first_n and total >= options.limit:
            return SourceScan(total, duplicates["dropped"], skipped, None, complete=False)
        if options.limit is not None and options.seed is not None:
            rank = int(hashlib.sha256(f"{options.seed}:{item.id}".encode()).hexdigest()[:15], 16)
            if len(sample) < options.limit:
                heapq.heappush(sample, (-rank, item.id))
            elif -sample[0][0] > rank:
                heapq.heapreplace(sample, (-rank, item.id))
    chosen = {item_id for _, item_id in sample} if options.seed is not None and options.limit is not None else None
    return SourceScan(total, duplicates["dropped"], skipped, chosen)


def selected_items(options: BuildOptions, context: BuildContext, scan: SourceScan) -> Iterator[Item]:
    """Second pass: the chosen items, in source order."""
    emitted = 0
    for item in _unique_items(source_items(options, context), True, [], Counter()):
        if options.limit is not None and emitted >= options.limit:
            return
        if scan.chosen is not None and item.id not in scan.chosen:
            continue
        emitted += 1
        yield item


def pending_items(options: BuildOptions, context: BuildContext, scan: SourceScan, done: frozenset[str]) -> Iterator[Item]:
    """The chosen items not yet in the build; module-level so Ray can run it on the cluster."""
    return (item for item in selected_items(options, context, scan) if item.id not in done)


def pending_items_in(directory: str, options: BuildOptions, context: BuildContext, scan: SourceScan, done: frozenset[str]) -> Iterator[Item]:
    """:func:`pending_items` read from ``directory`` (the driver's working directory), so that a
    relative source path, and the provenance recorded from it, is the same on a Ray worker. The
    working directory is ``directory`` only while the source is read for the next item, never while
    the caller holds an item: a lazily consumed generator must not change the process's directory
    under its caller."""
    items = pending_items(options, context, scan, done)
    while True:
        with _working_directory(directory):
            item = next(items, None)
        if item is None:
            return
        yield item


@contextlib.contextmanager
def _working_directory(directory: str) -> Iterator[None]:
    previous = os.getcwd()
    if not os.path.isdir(directory) or os.path.samefile(directory, previous):
        yield
        return
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)
