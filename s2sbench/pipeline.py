"""``s2s build``: read a source, speak every item, write a build directory; resumable.

The build makes two passes over the source text. The first checks every row (so a malformed row
stops the build before any audio is made), drops exact duplicates and chooses the ``--limit``
sample; the second streams the chosen items through the stages of :mod:`s2sbench.stages` and
appends each finished item to ``items.jsonl``. Nothing is held in memory but a digest per item.
The stages run here (``--workers`` processes, items in source order) or on a Ray cluster
(:mod:`s2sbench.ray_executor`, items sorted back into source order at the end).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from s2sbench._io import DirectoryLock
from s2sbench.builddir import BUILD_FILE, ITEMS_FILE, BuildDirectory
from s2sbench.builders import BuildContext, iter_source_items
from s2sbench.builders.table import parse_column_map
from s2sbench.devices import check_device
from s2sbench.errors import S2SBenchError, SourceRowError
from s2sbench.items import Item, item_problems
from s2sbench.licenses import DataLicense
from s2sbench.profiles import LanguageProfile, bundled_profiles, load_profile
from s2sbench.stages import FailedItem, SpeakPlan, ValidationPlan, item_speaker, speak_item
from s2sbench.storage import SMALL_FILES, ClipStore, clip_store, is_url, mirror_directory, pull_small_files, push_small_files
from s2sbench.synth import TTSSpec
from s2sbench.synth.postprocess import AudioOptions
from s2sbench.validate.asr import ASRSpec
from s2sbench.validate.report import write_reports
from s2sbench.versions import package_versions

SPEAK_CHOICES = ("context", "all")
EXECUTORS = ("local", "ray")
VERSIONED_PACKAGES = ("s2sbench", "numpy", "soundfile", "soxr", "pydub", "espeakng-loader", "coqui-tts", "torch", "piper-tts", "datasets")


@dataclass(frozen=True)
class RayOptions:
    """How the build uses a Ray cluster. Actor counts are autoscaling maxima (None: no limit)."""

    address: str | None = None  # "auto", "ray://host:10001", ...; None: RAY_ADDRESS or a local cluster
    tts_gpus: float = 0.0  # GPUs per TTS actor (fractions share a GPU)
    asr_gpus: float = 0.0  # GPUs per ASR actor
    tts_actors: int | None = None
    asr_actors: int | None = None
    cpus_per_actor: float | None = None  # default: 1, or less when the cluster is smaller than the pools
    batch_size: int = 4  # items per batch handed to an actor


@dataclass
class BuildOptions:
    """Everything ``s2s build`` takes. Only ``source`` and ``output`` are required."""

    source: str
    output: Path | str  # a directory, or an fsspec URL (s3://bucket/builds/x) that workers can write
    format: str | None = None
    lang: str = "en"
    profile: str | None = None  # a profile file; default: the bundled profile of ``lang``
    subset: str | None = None
    column_map: str | None = None
    template: str | None = None
    tts: str | None = None  # ENGINE[:MODEL]; default: the profile's engine and model
    voices: list[str] = field(default_factory=list)
    speak: str = "all"
    audio: AudioOptions = field(default_factory=AudioOptions)
    limit: int | None = None
    seed: int | None = None
    skip_bad_rows: bool = False
    workers: int = 1
    device: str = "auto"
    validate: bool = True
    asr: str | None = None  # ENGINE:MODEL; default: the profile's
    max_error: float | None = None  # default: the profile's threshold
    retries: int = 2
    executor: str = "local"  # or "ray"
    ray: RayOptions = field(default_factory=RayOptions)
    license: DataLicense | None = None  # the source text's licence, recorded in build.json for push


@dataclass
class BuildSummary:
    output: Path | str
    items: int  # items in the finished build
    items_added: int  # items written by this run
    clips_synthesized: int
    clips_reused: int
    duplicates: int
    skipped_rows: int
    subsets: dict[str, int]
    seconds: float
    clips_passed: int = 0
    clips_failed: int = 0
    items_failed: int = 0  # items with a clip that failed validation
    item_errors: int = 0  # items not built (an engine error), listed in failed.jsonl; a re-run retries them
    items_remade: int = 0  # items built before whose clips were missing or unreadable: made again


def resolve_tts(options: BuildOptions, profile: LanguageProfile) -> TTSSpec:
    """The TTS spec from ``--tts`` or the profile; a bare engine name takes the profile's model."""
    spec = TTSSpec.parse(options.tts or profile.tts_engine, language=profile.tts_languages.get((options.tts or profile.tts_engine).split(":")[0]), device=options.device)
    if spec.model is None and spec.engine != "espeak" and profile.model_for(spec.engine):
        spec = TTSSpec(spec.engine, profile.model_for(spec.engine), spec.language, spec.device)
    return spec


def _ordered_parallel(function: Callable, items: Iterator[Item], plan: SpeakPlan, workers: int) -> Iterator[tuple[Item, int, int] | FailedItem]:
    """``function(item, plan)`` over ``items`` in worker processes, results in input order, bounded."""
    if workers <= 1:
        for item in items:
            yield function(item, plan)
        return
    window: list[Future] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for item in items:
            window.append(pool.submit(function, item, plan))
            if len(window) >= workers * 4:
                yield window.pop(0).result()
        for future in window:
            yield future.result()


@dataclass
class SourceScan:
    total: int
    duplicates: int
    skipped: list[dict[str, Any]]
    chosen: set[str] | None  # ids chosen by a seeded --limit; None means "the first N"


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


def _verdicts_from(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """What made a build's verdicts (recognizer and thresholds), from its manifest's ``validation``."""
    validation = manifest.get("validation")
    return {k: v for k, v in validation.items() if k != "retries"} if validation else None


def drop_items_with_unusable_clips(directory: BuildDirectory, store: ClipStore) -> int:
    """Take out of items.jsonl the items with a clip that is gone or is not audio (deleted, truncated
    to nothing, overwritten): they are pending again, and the run makes their clips anew."""
    broken = {item.id for item in directory.iter_items() if item.audio and not all(
        store.usable(path) for path in [item.audio["context"], *(item.audio.get("candidates") or [])])}
    if broken:
        directory.rewrite_items(item for item in directory.iter_items() if item.id not in broken)
    return len(broken)


def scan_source(options: BuildOptions, context: BuildContext) -> SourceScan:
    """First pass: check every row, count duplicates, choose the seeded sample."""
    skipped: list[dict] = []
    duplicates: Counter = Counter()
    total = 0
    sample: list[tuple[int, str]] = []  # max-heap by negated rank: the ``limit`` smallest ranks
    for item in _unique_items(iter_source_items(options.source, options.format, context), options.skip_bad_rows, skipped, duplicates):
        total += 1
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
    for item in _unique_items(iter_source_items(options.source, options.format, context), True, [], Counter()):
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
    relative source path, and the provenance recorded from it, is the same on a Ray worker."""
    previous = os.getcwd()
    if os.path.isdir(directory):
        os.chdir(directory)
    try:
        yield from pending_items(options, context, scan, done)
    finally:
        os.chdir(previous)


def _speak(options: BuildOptions, context: BuildContext, scan: SourceScan, plan: SpeakPlan, done: frozenset[str]) -> Iterator[tuple[Item, int, int] | FailedItem]:
    if options.executor == "ray":
        from s2sbench.ray_executor import speak_on_ray

        return speak_on_ray(partial(pending_items_in, os.getcwd(), options, context, scan, done), plan, options.ray)
    return _ordered_parallel(speak_item, pending_items(options, context, scan, done), plan, options.workers)


UPLOAD_EVERY_SECONDS = 60.0  # a URL build uploads its items this often


def _parameters(options: BuildOptions, profile: LanguageProfile, tts: TTSSpec, voices: tuple, identity: dict, validation: dict | None) -> dict[str, Any]:
    """What determines the build's content; a change starts items.jsonl anew (clips are reused)."""
    return {
        "source": {
            "spec": options.source,
            "format": options.format,
            "lang": options.lang,
            "subset": options.subset,
            "map": options.column_map,
            "template": options.template,
            "limit": options.limit,
            "seed": options.seed,
            "skip_bad_rows": options.skip_bad_rows,
        },
        "profile": {"code": profile.code, "path": profile.path, "sha256": profile.digest},
        "tts": {"spec": str(tts), **identity, "voices": list(voices)},
        "speak": options.speak,
        "audio": options.audio.as_dict(),
        "validation": validation,
    }


def build(options: BuildOptions, progress: Callable[[int, int, int], None] | None = None, on_start: Callable[[int], None] | None = None) -> BuildSummary:
    """Build (or resume, or re-run for free) the build directory ``options.output``.

    ``on_start(total)`` is called once the source is checked; ``progress(items, synthesized,
    reused)`` after each finished item.
    """
    started = time.perf_counter()
    if not is_url(options.output) and Path(options.output).exists() and not Path(options.output).is_dir():
        raise S2SBenchError(f"-o {options.output}: a file, not a build directory")
    check_device(options.device)
    if options.speak not in SPEAK_CHOICES:
        raise S2SBenchError(f"--speak must be one of {', '.join(SPEAK_CHOICES)}, not {options.speak!r}")
    if options.profile is None and options.lang not in bundled_profiles():
        # A generic profile would build with another language's threshold and normalizer, silently.
        raise S2SBenchError(f"--lang {options.lang}: no bundled language profile (bundled: {', '.join(bundled_profiles())}); "
                            f"make one with `s2s langs new {options.lang} -o profiles/{options.lang}.toml` and pass it with --profile")
    profile = load_profile(options.profile or options.lang)
    context = BuildContext(
        lang=options.lang,
        profile=profile,
        subset=options.subset,
        column_map=parse_column_map(options.column_map) if options.column_map else {},
        template=options.template,
    )
    tts = resolve_tts(options, profile)
    voices = tuple(options.voices or profile.voices_for(tts.engine) or [None])
    validation_plan = None
    if options.validate:
        asr = ASRSpec.parse(options.asr or f"{profile.asr_engine}:{profile.asr_model}", device=options.device)
        profile_ref = str(Path(options.profile).absolute()) if options.profile else options.lang  # workers reload it
        validation_plan = ValidationPlan(asr, profile_ref, options.max_error, options.retries)
    if options.executor not in EXECUTORS:
        raise S2SBenchError(f"--executor must be one of {', '.join(EXECUTORS)}, not {options.executor!r}")
    scan = scan_source(options, context)
    if scan.total == 0:
        skipped = f" ({len(scan.skipped)} bad rows skipped)" if scan.skipped else ""
        raise S2SBenchError(f"{options.source}: no items in this source{skipped}: an empty file, or a header alone?")
    # An absolute root, so Ray workers started elsewhere write to the same directory.
    url = str(options.output) if is_url(options.output) else None
    plan = SpeakPlan(url or str(Path(options.output).absolute()), tts, voices, options.speak, options.audio, validation_plan)
    loaded = item_speaker(plan)  # loads the engines now, so a missing one fails before any work
    check_voice = getattr(loaded.speaker.maker.engine, "check_voice", None)
    for voice in voices if check_voice else ():
        check_voice(voice)  # an unknown voice fails here, not item by item into failed.jsonl
    validation = None
    if loaded.checker is not None:
        validation = {
            "asr": loaded.checker.validator.recognizer.identity(),
            **loaded.checker.validator.thresholds.as_dict(),
            "retries": options.retries,
        }
    parameters = _parameters(options, profile, tts, voices, loaded.speaker.maker.engine.identity(), validation)
    fingerprint = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:16]

    directory = BuildDirectory(mirror_directory(url) if url else options.output)
    directory.root.mkdir(parents=True, exist_ok=True)
    # One writer at a time: two builds appending to one items.jsonl would interleave their items.
    with DirectoryLock(directory.root, "build directory"):
        if url:
            pull_small_files(url, directory)
        directory.repair()
        previous = directory.read_manifest()
        # Other parameters, or verdicts that `s2s validate` remade with another recognizer or thresholds:
        # start items anew (matching clips are reused), so no verdict is credited to the wrong recognizer.
        if previous.get("fingerprint") != fingerprint or not directory.items_path.is_file() or _verdicts_from(previous) != _verdicts_from(parameters):
            directory.reset_items()
        remade = drop_items_with_unusable_clips(directory, clip_store(plan.root))
        done = directory.item_ids()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = {
            "s2sbench_build": 1,
            "status": "running",
            "fingerprint": fingerprint,
            "created": previous.get("created", now) if previous.get("fingerprint") == fingerprint else now,
            "updated": now,
            **parameters,
            "versions": package_versions(VERSIONED_PACKAGES),
            "counts": {"source_items": scan.total, "duplicates_dropped": scan.duplicates, "skipped_rows": len(scan.skipped)},
            "skipped_rows": scan.skipped,
        }
        recorded = options.license or DataLicense.from_dict(previous.get("license"))
        if recorded is not None:  # not a parameter: giving it later changes no item
            manifest["license"] = recorded.as_dict()
        directory.write_manifest(manifest)
        if url:  # so that a crash before the end leaves a build that another machine resumes
            push_small_files(directory, url, [BUILD_FILE])

        planned = min(scan.total, options.limit) if options.limit is not None else scan.total
        if on_start:
            on_start(planned)
        synthesized = reused = added = 0
        failures: list[FailedItem] = []
        finished = len(done)
        if progress:
            progress(finished, 0, 0)
        uploaded = time.monotonic()
        try:
            results = _speak(options, context, scan, plan, frozenset(done)) if len(done) < planned else iter(())
            for result in results:
                if isinstance(result, FailedItem):
                    failures.append(result)
                    continue
                item, created, kept = result
                directory.append_item(item)
                if url and time.monotonic() - uploaded > UPLOAD_EVERY_SECONDS:  # a crash loses little
                    push_small_files(directory, url, [ITEMS_FILE, BUILD_FILE])
                    uploaded = time.monotonic()
                added += 1
                finished += 1
                synthesized += created
                reused += kept
                if progress:
                    progress(finished, synthesized, reused)
        except BaseException:
            manifest.update(status="interrupted", updated=datetime.now(UTC).isoformat(timespec="seconds"))
            directory.write_manifest(manifest)
            if url:
                push_small_files(directory, url, [ITEMS_FILE, BUILD_FILE])
            raise
        # Ray appends items as actors finish them, and a build may be resumed by either executor.
        directory.sort_items(item.id for item in selected_items(options, context, scan))
        directory.write_failures([failure.as_record() for failure in failures])

        subsets: Counter = Counter()
        clip_count = 0
        for item in directory.iter_items():
            subsets[item.subset] += 1
            clip_count += 1 + len(item.audio.get("candidates") or []) if item.audio else 0
        manifest.update(
            status="incomplete" if failures else "complete",
            updated=datetime.now(UTC).isoformat(timespec="seconds"),
            counts={**manifest["counts"], "items": sum(subsets.values()), "clips": clip_count, "subsets": dict(subsets), "item_errors": len(failures)},
        )
        directory.write_manifest(manifest)
        report = write_reports(directory, clip_store(url) if url else None) if options.validate else None
        if url:
            push_small_files(directory, url, SMALL_FILES)
        return BuildSummary(
            output=url or directory.root,
            items=sum(subsets.values()),
            items_added=added,
            clips_synthesized=synthesized,
            clips_reused=reused,
            duplicates=scan.duplicates,
            skipped_rows=len(scan.skipped),
            subsets=dict(subsets),
            seconds=time.perf_counter() - started,
            clips_passed=report.clips_passed if report else 0,
            clips_failed=report.clips_failed if report else 0,
            items_failed=report.items_failed if report else 0,
            item_errors=len(failures),
            items_remade=remade,
        )
