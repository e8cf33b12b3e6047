"""Where a build's stages run: one interface, two executors.

An executor takes the pending items (an iterator, read lazily) and yields each one finished, as a
:class:`~.records.BuiltItem` or :class:`~.records.FailedItem`. Both run the batch functions of
:mod:`.stages`, so they make the same build directory:

- :class:`LocalExecutor`: this machine. With one worker, a bounded pipeline in this process: a
  speaking thread and a checking thread, so synthesis of one batch overlaps recognition of the
  previous one (both engines release the GIL while they compute); a work whose clip failed goes
  round again in a later batch. With ``workers > 1``, batches go to worker processes, each running
  every round of its batch. Items come out in source order.
- ``RayExecutor`` (:mod:`.ray`): Ray Data actor pools over the same functions; items come out as
  they finish (the build sorts ``items.jsonl`` at the end).

Memory stays flat in the number of items: at most a few batches are in flight.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing import get_context
from typing import Protocol

from s2sbench.items import Item
from s2sbench.pipeline.records import BuiltItem, FailedItem, ItemWork
from s2sbench.pipeline.stages import SpeakPlan, Stages, build_batch, check_batch, finish, is_pending, loaded_stages, new_work, speak_batch

Finished = BuiltItem | FailedItem


class Executor(Protocol):
    def run(self, items: Callable[[], Iterable[Item]]) -> Iterator[Finished]:
        """Every item ``items()`` yields, finished."""


def batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class LocalExecutor:
    """The stages on this machine; see the module doc."""

    def __init__(self, plan: SpeakPlan, batch_size: int = 8, workers: int = 1):
        self.plan = plan
        self.batch_size = batch_size
        self.workers = workers

    def run(self, items: Callable[[], Iterable[Item]]) -> Iterator[Finished]:
        if self.workers > 1:
            return self._in_processes(items())
        return _Pipeline(loaded_stages(self.plan), self.batch_size).run(items())

    def _in_processes(self, items: Iterable[Item]) -> Iterator[Finished]:
        window: list[Future] = []
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn")) as pool:
            for batch in batches(items, self.batch_size):
                window.append(pool.submit(build_batch, batch, self.plan))
                if len(window) >= self.workers * 2:
                    yield from window.pop(0).result()
            for future in window:
                yield from future.result()


_STOP = object()  # tells a stage thread to end


class _Pipeline:
    """Speak and check in two threads with at most ``in_flight`` batches between them; results in
    source order (a work that goes round again is waited for, so the reorder buffer stays small)."""

    def __init__(self, stages: Stages, batch_size: int, in_flight: int = 3):
        self.stages = stages
        self.batch_size = batch_size
        self.in_flight = in_flight

    def run(self, items: Iterable[Item]) -> Iterator[Finished]:
        plan, stages = self.stages.plan, self.stages
        to_speak: queue.Queue = queue.Queue()
        to_check: queue.Queue = queue.Queue()
        done: queue.Queue = queue.Queue()
        threads = [_stage_thread(to_speak, lambda batch: speak_batch(stages.speaker, batch), to_check if stages.checker else done, done)]
        if stages.checker is not None:
            threads.append(_stage_thread(to_check, lambda batch: check_batch(stages.checker, batch), done, done))

        fresh = (new_work(item, plan) for item in items)
        place: dict[int, int] = {}  # id(work) -> its index in source order
        counter = iter(range(1 << 62))
        retry: list[ItemWork] = []
        finished: dict[int, Finished] = {}
        next_out = flying = 0
        exhausted = False
        try:
            while True:
                while flying < self.in_flight and (retry or not exhausted):
                    batch = retry[: self.batch_size]
                    del retry[: len(batch)]
                    wanted = 0 if exhausted else self.batch_size - len(batch)
                    taken = list(islice(fresh, wanted))
                    exhausted = exhausted or len(taken) < wanted
                    for work in taken:
                        place[id(work)] = next(counter)
                    batch += taken
                    if batch:
                        to_speak.put(batch)
                        flying += 1
                if flying == 0:
                    return
                batch = done.get()
                if isinstance(batch, BaseException):
                    raise batch
                flying -= 1
                for work in batch:
                    if is_pending(work, plan):
                        retry.append(work)  # another attempt, in a later batch
                    else:
                        finished[place.pop(id(work))] = finish(work, plan)
                while next_out in finished:
                    yield finished.pop(next_out)
                    next_out += 1
        finally:
            for thread_queue in (to_speak, to_check):
                thread_queue.put(_STOP)


def _stage_thread(source: queue.Queue, step: Callable[[list[ItemWork]], object], sink: queue.Queue, errors: queue.Queue) -> threading.Thread:
    """A thread applying ``step`` to each batch from ``source``, then handing it on to ``sink``."""

    def loop() -> None:
        while (batch := source.get()) is not _STOP:
            try:
                step(batch)
            except BaseException as exc:  # not an item's error (those stay in the work): the build stops
                errors.put(exc)
                return
            sink.put(batch)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread
