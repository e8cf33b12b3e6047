"""``s2s build --executor ray``: the build's batch stages (:mod:`.stages`) on Ray Data.

The items stream out of one read task that reads the source on the cluster, so nothing is
collected on the driver; they flow through ``map_batches`` over actor pools, each actor loading its
model once:

    read source -> speak (TTS pool) -> check (ASR pool) -> retry failed clips (TTS + ASR pool)

and come back to the driver, which appends each finished item to ``items.jsonl`` as the local
executor does. The speak and check pools take their own GPU fractions and autoscale from one actor
up to ``*_actors`` (default: as many sets of one actor per pool as the cluster holds). Ray restarts killed actors and retries their
batches; an engine error on one item is recorded with the item (see :mod:`.stages`).
Items arrive out of source order; the build puts ``items.jsonl`` back in source order at the end.
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from s2sbench.errors import S2SBenchError

try:
    import ray
    import ray.data
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask
except ImportError as exc:  # the CLI imports this module only for --executor ray
    raise S2SBenchError("--executor ray needs Ray Data: pip install 's2sbench[ray]'") from exc

from s2sbench.items import Item
from s2sbench.pipeline.options import RayOptions
from s2sbench.pipeline.records import BuiltItem, FailedItem, ItemWork
from s2sbench.pipeline.stages import Checker, Speaker, SpeakPlan, Stages, check_batch, finish, is_pending, new_work, speak_batch

ROWS_PER_BLOCK = 16  # work records per block read from the source
READ_CPUS = 0.25  # the read task parses text; it should never hold a whole core from the actors


class _ItemSource(Datasource):
    """A Ray Data datasource whose one read task streams the pending items' work records."""

    def __init__(self, items: Callable[[], Iterable[Item]], plan: SpeakPlan):
        self.items = items
        self.plan = plan

    def estimate_inmemory_data_size(self) -> None:
        return None

    def get_read_tasks(self, parallelism: int, **_: Any) -> list:
        items, plan = self.items, self.plan

        def read() -> Iterator:
            import pyarrow as pa

            rows: list[dict[str, str]] = []
            for item in items():
                rows.append({"work": new_work(item, plan).to_json()})
                if len(rows) == ROWS_PER_BLOCK:
                    yield pa.Table.from_pylist(rows)
                    rows = []
            if rows:
                yield pa.Table.from_pylist(rows)

        return [ReadTask(read, BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None))]

    def get_name(self) -> str:
        return "S2SBenchItems"


class _Stage:
    """An actor: applies ``step`` to each batch of work records. The plan is a class attribute of
    a subclass made per build (:func:`_bound`), so the stages take no constructor arguments."""

    plan: SpeakPlan

    def step(self, works: list[ItemWork]) -> None:
        raise NotImplementedError

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        works = [ItemWork.from_json(record) for record in batch["work"]]
        self.step(works)
        return {"work": [work.to_json() for work in works]}


class SpeakStage(_Stage):
    def __init__(self):
        self.speaker = Speaker(self.plan)

    def step(self, works: list[ItemWork]) -> None:
        speak_batch(self.speaker, works)


class CheckStage(_Stage):
    def __init__(self):
        self.checker = Checker(self.plan)

    def step(self, works: list[ItemWork]) -> None:
        check_batch(self.checker, works)


class RetryStage(_Stage):
    """Retries of the clips that failed their check: few, so one pool holds both models."""

    def __init__(self):
        self.stages: Stages | None = None

    def step(self, works: list[ItemWork]) -> None:
        pending = [work for work in works if is_pending(work, self.plan)]
        if not pending:
            return  # most batches: their clips passed, no model needed
        if self.stages is None:
            self.stages = Stages(self.plan)
        self.stages.run(pending)


def default_cpus_per_actor(cluster_cpus: float, pools: int) -> float:
    """One CPU per actor, or on a cluster smaller than the pools a share that leaves a tenth of
    it free, rounded down to hundredths."""
    share = (cluster_cpus - READ_CPUS) * 0.9 / pools
    return min(1.0, math.floor(share * 100) / 100)


def pools_that_fit(cluster: dict[str, float], cpus: float, gpus: list[float]) -> int:
    """How many actors each pool may grow to by default: the number of sets of one actor per pool
    that the cluster holds. Ray Data waits on an actor it asked for and cannot place, so a pool
    must never ask for more than fit (a build stalled that way on a two-CPU cluster)."""
    sets = (cluster.get("CPU", 1.0) - READ_CPUS) / (cpus * len(gpus)) if cpus else float("inf")
    if sum(gpus):
        sets = min(sets, cluster.get("GPU", 0.0) / sum(gpus))
    return max(1, math.floor(sets + 1e-9))


def _bound(stage: type[_Stage], plan: SpeakPlan) -> type[_Stage]:
    return type(stage.__name__, (stage,), {"plan": plan})


def _check_reachable(address: str) -> None:
    """Fail fast on a HOST:PORT nobody listens on (Ray itself would retry it for ever)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise S2SBenchError(f"--ray-address {address}: cannot reach a Ray cluster there ({exc.strerror or exc})") from exc


def _connect(options: RayOptions) -> bool:
    """Connect to (or start) Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    if options.address:
        _check_reachable(options.address)
    try:
        ray.init(address=options.address, logging_level=logging.WARNING, log_to_driver=True, include_dashboard=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"--ray-address {options.address}" if options.address else "Ray"
        raise S2SBenchError(f"{where}: {str(exc).splitlines()[0]}") from exc
    return True


def speak_on_ray(items: Callable[[], Iterable[Item]], plan: SpeakPlan, options: RayOptions, batch_size: int) -> Iterator[BuiltItem | FailedItem]:
    """Run the stages for the items ``items()`` yields (called on the cluster; must be picklable)."""
    started = _connect(options)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the CLI shows one bar for the whole build
        context.print_on_execution_start = False
        context.enable_auto_log_stats = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # per-operator chatter; errors still show
        stages: list[tuple[type[_Stage], float, int | None]] = [(SpeakStage, options.tts_gpus, options.tts_actors)]
        if plan.validation is not None:
            stages.append((CheckStage, options.asr_gpus, options.asr_actors))
            if plan.attempts > 1:
                stages.append((RetryStage, options.tts_gpus + options.asr_gpus, options.tts_actors))
        cluster = ray.cluster_resources()
        cpus = options.cpus_per_actor
        if cpus is None:
            cpus = default_cpus_per_actor(cluster.get("CPU", 1.0), len(stages))
        fitting = pools_that_fit(cluster, cpus, [gpus for _, gpus, _ in stages])
        dataset = ray.data.read_datasource(_ItemSource(items, plan), num_cpus=READ_CPUS)
        for stage, gpus, actors in stages:
            dataset = dataset.map_batches(
                _bound(stage, plan),
                batch_size=batch_size,
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors or fitting),
                num_cpus=cpus,
                num_gpus=gpus or None,
            )  # Ray Data's actor defaults restart a killed actor and retry its batch
        for row in dataset.iter_rows():
            yield finish(ItemWork.from_json(row["work"]), plan)
    finally:
        if started:
            ray.shutdown()


class RayExecutor:
    """The :class:`~.executors.Executor` on a Ray cluster."""

    def __init__(self, plan: SpeakPlan, options: RayOptions, batch_size: int):
        self.plan = plan
        self.options = options
        self.batch_size = batch_size

    def run(self, items: Callable[[], Iterable[Item]]) -> Iterator[BuiltItem | FailedItem]:
        return speak_on_ray(items, self.plan, self.options, self.batch_size)
