"""``s2s build``: read a source, speak and check every item, write a build directory; resumable.

:func:`build` wires the parts: check the options, plan the engines, scan the source
(:mod:`.source`), open the build directory (a changed parameter starts ``items.jsonl`` anew, while
every clip whose key is unchanged is reused), then let an executor (:mod:`.executors`) run the
batch stages (:mod:`.stages`) over the pending items, appending each finished item to
``items.jsonl``. At the end the items are put in source order and the reports written.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from s2sbench._io import DirectoryLock, parse_json
from s2sbench.builddir import BUILD_FILE, ITEMS_FILE, BuildDirectory
from s2sbench.builders import BuildContext, get_builder
from s2sbench.builders.table import parse_column_map
from s2sbench.devices import check_device
from s2sbench.errors import S2SBenchError
from s2sbench.licenses import CORPUS, DataLicense
from s2sbench.pipeline.executors import Executor, LocalExecutor
from s2sbench.pipeline.loudness import check_reachable_level, loudness_note, measured_loudness
from s2sbench.pipeline.options import EXECUTORS, SPEAK_CHOICES, BuildOptions, BuildSummary
from s2sbench.pipeline.recordings import scan_recordings
from s2sbench.pipeline.records import FailedItem
from s2sbench.pipeline.source import SourceScan, pending_items_in, scan_source, selected_items
from s2sbench.pipeline.stages import EnginePlan, SpeakPlan, ValidationPlan, loaded_stages
from s2sbench.profiles import LanguageProfile, bundled_profiles, check_max_error, load_profile
from s2sbench.progress import SILENT, Progress
from s2sbench.storage import SMALL_FILES, ClipStore, clip_store, is_url, mirror_directory, pull_small_files, push_small_files
from s2sbench.synth import DEFAULT_VOICES, TTSSpec, engine_identity
from s2sbench.synth.postprocess import DEFAULT_LOUDNESS_LUFS, AudioOptions, check_loudness
from s2sbench.tables import public_source
from s2sbench.task import task_record
from s2sbench.validate.asr import ASRSpec, recognizer_identity
from s2sbench.validate.report import ValidationReport, write_reports
from s2sbench.validate.verdicts import Thresholds
from s2sbench.versions import package_versions

VERSIONED_PACKAGES = ("s2sbench", "numpy", "soundfile", "soxr", "pydub", "pyloudnorm", "espeakng-loader", "coqui-tts", "torch", "piper-tts", "kokoro-onnx", "datasets")
UPLOAD_EVERY_SECONDS = 60.0  # a URL build uploads its items this often



def tts_given(options: BuildOptions) -> list[str]:
    """The ``--tts`` values, in order (none: the profile's engine)."""
    if options.tts is None:
        return []
    return [options.tts] if isinstance(options.tts, str) else list(options.tts)


def resolve_tts(options: BuildOptions, profile: LanguageProfile, given: str | None = None) -> TTSSpec:
    """The TTS spec from ``given`` (default: the first ``--tts``, or the profile's engine); a bare
    engine name takes the profile's model."""
    text = given or next(iter(tts_given(options)), None) or profile.tts_engine
    spec = TTSSpec.parse(text, language=profile.tts_languages.get(text.split(":")[0]), device=options.device)
    if spec.model is None and spec.engine != "espeak" and profile.model_for(spec.engine):
        spec = TTSSpec(spec.engine, profile.model_for(spec.engine), spec.language, spec.device)
    return spec


def _voices_by_engine(voices: list[str], specs: list[TTSSpec]) -> list[list[str]]:
    """Each engine's voices from ``--voices`` entries ``ENGINE=VOICE`` (ENGINE: the engine's name,
    or its ENGINE:MODEL where one engine is given twice), for a build of several engines."""
    chosen: list[list[str]] = [[] for _ in specs]
    for entry in voices:
        name, equals, voice = (part.strip() for part in entry.partition("="))
        if not equals or not name or not voice:
            raise S2SBenchError(f"--voice/--voices {entry!r}: with several --tts, name each voice's engine: ENGINE=VOICE (e.g. {specs[0].engine}=VOICE)")
        matches = [index for index, spec in enumerate(specs) if name.lower() in (str(spec).lower(), spec.engine)]
        if len(matches) != 1:
            which = "none" if not matches else "more than one"
            raise S2SBenchError(f"--voice/--voices {entry!r}: {name!r} is {which} of the engines given ({', '.join(map(str, specs))}); write ENGINE:MODEL=VOICE")
        chosen[matches[0]].append(voice)
    return chosen


def resolve_engines(options: BuildOptions, profile: LanguageProfile) -> tuple[EnginePlan, ...]:
    """The build's engines (``--tts``, once or more) with the voices each rotates over its items:
    ``--voices`` (``ENGINE=VOICE`` with several engines), else the profile's, else the engine's default."""
    specs = [resolve_tts(options, profile, given) for given in tts_given(options) or [profile.tts_engine]]
    labels = [public_source(str(spec)) for spec in specs]
    for index, label in enumerate(labels):
        if label in labels[:index]:
            twice = "given twice" if str(specs[index]) in map(str, specs[:index]) else f"another engine given is named {label!r} too"
            raise S2SBenchError(f"--tts {specs[index]}: {twice}: give each engine once (its voices with --voices)")
    chosen = [options.voices] if len(specs) == 1 else _voices_by_engine(options.voices, specs)
    return tuple(EnginePlan(spec, tuple(voices or profile.voices_for(spec.engine) or [DEFAULT_VOICES.get(spec.engine)]), label)
                 for spec, voices, label in zip(specs, chosen, labels))


def _recorded_audio(output: Path | str) -> dict[str, Any] | None:
    """The ``audio`` section of the build.json already at ``output`` (None: no build there yet)."""
    if is_url(output):
        data = clip_store(str(output)).read(BUILD_FILE)
        try:
            manifest = parse_json(data) if data is not None else {}
        except ValueError:  # unreadable: opening the build directory says so
            return None
    else:
        manifest = BuildDirectory(output).read_manifest() if Path(output).is_dir() else {}
    audio = manifest.get("audio") if isinstance(manifest, dict) else None
    return audio if isinstance(audio, dict) else None


def resolve_audio(options: BuildOptions) -> tuple[AudioOptions, list[str]]:
    """How the build finishes its clips, and a note when it is not what was asked: ``options.audio``,
    or by default -23 LUFS, except that a build made before LUFS levelling (its build.json has
    ``loudness_dbfs`` alone) keeps its recorded options, so a re-run reuses its clips."""
    if options.audio is not None:
        return options.audio, []
    recorded = _recorded_audio(options.output)
    if recorded is not None and "loudness_dbfs" in recorded and "loudness_lufs" not in recorded:
        audio = AudioOptions.from_dict(recorded, f"{options.output}/{BUILD_FILE}")
        return audio, [f"{options.output} was levelled to {audio.loudness_text} (before LUFS) and keeps it with its clips; "
                       f"--loudness-lufs {DEFAULT_LOUDNESS_LUFS:g} levels it anew (every clip made again)"]
    return AudioOptions(), []


def _check_options(options: BuildOptions) -> None:
    """What can be refused before anything is read or loaded."""
    if not is_url(options.output) and Path(options.output).exists() and not Path(options.output).is_dir():
        raise S2SBenchError(f"-o {options.output}: a file, not a build directory")
    check_device(options.device, here=options.executor != "ray")  # a Ray build's GPUs are on its workers
    check_max_error(options.max_error)
    if options.audio is not None:
        check_loudness(options.audio.loudness_lufs)
        check_reachable_level(options.audio, options.validate)
    if options.speak not in SPEAK_CHOICES:
        raise S2SBenchError(f"--speak must be one of {', '.join(SPEAK_CHOICES)}, not {options.speak!r}")
    if options.executor not in EXECUTORS:
        raise S2SBenchError(f"--executor must be one of {', '.join(EXECUTORS)}, not {options.executor!r}")
    if options.recordings_only and not options.recordings:
        raise S2SBenchError("--recordings-only goes with --recordings DIR")
    if options.batch_size < 1:
        raise S2SBenchError(f"--batch-size must be at least 1, not {options.batch_size}")
    if options.license is not None and options.license.id == CORPUS and options.format and get_builder(options.format).license is None:
        raise S2SBenchError(f"--license corpus: the format {options.format} names no corpus with declared terms; pass a licence id")
    if options.profile is None and options.lang not in bundled_profiles():
        # A generic profile would build with another language's threshold and normalizer, silently.
        raise S2SBenchError(f"--lang {options.lang}: no bundled language profile (bundled: {', '.join(bundled_profiles())}); "
                            f"make one with `s2s langs new {options.lang} -o profiles/{options.lang}.toml` and pass it with --profile")


def _plan(options: BuildOptions, profile: LanguageProfile) -> SpeakPlan:
    engines = resolve_engines(options, profile)
    validation = None
    if options.validate:
        asr = ASRSpec.parse(options.asr or f"{profile.asr_engine}:{profile.asr_model}", device=options.device, window=options.asr_window)
        profile_ref = str(Path(options.profile).absolute()) if options.profile else options.lang  # workers reload it
        validation = ValidationPlan(asr, profile_ref, options.max_error, options.retries)
    # An absolute root, so Ray workers started elsewhere write to the same directory.
    root = str(options.output) if is_url(options.output) else str(Path(options.output).absolute())
    recordings = scan_recordings(options.recordings) if options.recordings else None
    return SpeakPlan(root, engines, options.speak, options.audio, validation, recordings, os.getcwd())


def _load_engines(plan: SpeakPlan) -> None:
    """Load the engines of a local build now, so that a missing engine or an unknown voice fails
    before any work (a Ray build loads them in its actors, not on the driver)."""
    stages = loaded_stages(plan)
    for maker, engine in zip(stages.speaker.makers, plan.engines):
        check_voice = getattr(maker.engine, "check_voice", None)
        for voice in engine.voices if check_voice else ():
            check_voice(voice)  # an unknown voice fails here, not item by item into failed.jsonl


def _tts_record(plan: SpeakPlan) -> dict[str, Any]:
    """build.json's ``tts``: the engine's spec, identity and voices; with several engines, their
    labels joined as the spec and each engine's record (with the label items.jsonl names it by)."""
    records = [{"spec": str(engine.tts), **engine_identity(engine.tts), "voices": list(engine.voices)} for engine in plan.engines]
    if len(records) == 1:
        return records[0]
    return {"spec": " + ".join(engine.label for engine in plan.engines),
            "engines": [{"label": engine.label, **record} for engine, record in zip(plan.engines, records)]}


def _parameters(options: BuildOptions, profile: LanguageProfile, plan: SpeakPlan) -> dict[str, Any]:
    """What determines the build's content; a change starts items.jsonl anew (clips are reused).
    The engines' identities are read without loading a model."""
    validation = None
    if plan.validation is not None:
        thresholds = Thresholds.from_profile(profile, plan.audio.sample_rate, plan.validation.max_error)  # the plan's profile, loaded once
        validation = {"asr": recognizer_identity(plan.validation.asr), **thresholds.as_dict(), "retries": options.retries}
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
        "tts": _tts_record(plan),
        **({"recordings": {"engine": "human", **plan.recordings.describe(), "only": options.recordings_only}} if plan.recordings else {}),
        "speak": options.speak,
        "audio": options.audio.as_dict(),
        "validation": validation,
    }


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


def _executor(options: BuildOptions, plan: SpeakPlan) -> Executor:
    if options.executor == "ray":
        from s2sbench.pipeline.ray_executor import RayExecutor

        return RayExecutor(plan, options.ray, options.batch_size)
    return LocalExecutor(plan, options.batch_size, options.workers)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _start_manifest(directory: BuildDirectory, options: BuildOptions, parameters: dict[str, Any], scan: SourceScan,
                    profile: LanguageProfile) -> dict[str, Any]:
    """Open the build directory for this run: items start anew when the parameters (or the verdicts'
    recognizer and thresholds, which `s2s validate` may have changed) differ from the last run's."""
    directory.repair()
    previous = directory.read_manifest()
    fingerprint = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:16]
    if previous.get("fingerprint") != fingerprint or not directory.items_path.is_file() or _verdicts_from(previous) != _verdicts_from(parameters):
        directory.reset_items()  # matching clips are reused; no verdict is credited to the wrong recognizer
    now = _now()
    manifest = {
        "s2sbench_build": 1,
        "status": "running",
        "fingerprint": fingerprint,
        "created": previous.get("created", now) if previous.get("fingerprint") == fingerprint else now,
        "updated": now,
        **parameters,
        "versions": package_versions(VERSIONED_PACKAGES),
        "counts": {"source_items" if scan.complete else "source_items_read": scan.total, "duplicates_dropped": scan.duplicates,
                   "skipped_rows": len(scan.skipped)},
        "skipped_rows": scan.skipped,
        "task": task_record(profile, options.lang),  # not a parameter: the profile's digest is one already
    }
    recorded = options.license or DataLicense.from_dict(previous.get("license"))
    if recorded is not None:  # not a parameter: giving it later changes no item
        manifest["license"] = recorded.as_dict()
    if previous.get("fingerprint") == fingerprint and previous.get("loudness_measured"):  # the same clips: measured already
        manifest["loudness_measured"] = previous["loudness_measured"]
    if previous.get("published"):  # where and under which licence it was last pushed (s2s push): a re-run keeps it
        manifest["published"] = previous["published"]
    directory.write_manifest(manifest)
    return manifest


def build(options: BuildOptions, progress: Progress = SILENT) -> BuildSummary:
    """Build (or resume, or re-run for free) the build directory ``options.output``.

    ``progress`` is started with the items to build once the source is checked, and advanced after
    each finished item with the clips synthesized and reused so far.
    """
    started = time.perf_counter()
    _check_options(options)
    audio, notes = resolve_audio(options)
    options = replace(options, audio=audio)
    profile = load_profile(options.profile or options.lang)
    column_map = parse_column_map(options.column_map) if options.column_map else {}
    context = BuildContext(lang=options.lang, profile=profile, subset=options.subset, column_map=column_map, template=options.template)
    plan = _plan(options, profile)
    scan = _scan_items(options, context)
    parameters = _parameters(options, profile, plan)
    if options.executor == "local":
        _load_engines(plan)

    url = str(options.output) if is_url(options.output) else None
    directory = BuildDirectory(mirror_directory(url) if url else options.output)
    directory.root.mkdir(parents=True, exist_ok=True)
    # One writer at a time: two builds appending to one items.jsonl would interleave their items.
    with DirectoryLock(directory.root, "build directory"):
        if url:
            pull_small_files(url, directory)
        manifest = _start_manifest(directory, options, parameters, scan, profile)
        if url:  # so that a crash before the end leaves a build that another machine resumes
            push_small_files(directory, url, [BUILD_FILE])
        remade = drop_items_with_unusable_clips(directory, clip_store(plan.root))
        planned = min(scan.total, options.limit) if options.limit is not None else scan.total
        progress.start(planned)
        counts, failures = _write_items(directory, url, manifest, options, context, scan, plan, planned, progress)
        # Ray appends items as actors finish them, and a build may be resumed by either executor.
        directory.sort_items(item.id for item in selected_items(options, context, scan))
        directory.write_failures([failure.as_record() for failure in failures])
        subsets = _finish_manifest(directory, manifest, failures)
        if note := _record_loudness(directory, manifest, plan, counts["added"] > 0 or remade > 0, url):
            notes.append(note)
        report = write_reports(directory, clip_store(url) if url else None) if options.validate else None
        if url:
            push_small_files(directory, url, SMALL_FILES)
    return _summary(url or directory.root, manifest, scan, counts, subsets, failures, remade, report, notes, started)


def _scan_items(options: BuildOptions, context: BuildContext) -> SourceScan:
    """The source's scan; a source with no items stops the build here, before anything is written."""
    scan = scan_source(options, context)
    if scan.total == 0:
        skipped = f" ({len(scan.skipped)} bad rows skipped)" if scan.skipped else ""
        raise S2SBenchError(f"{options.source}: no items in this source{skipped}: an empty file, or a header alone?")
    return scan


def _summary(output: Path | str, manifest: dict[str, Any], scan: SourceScan, counts: Counter, subsets: Counter, failures: list[FailedItem],
             remade: int, report: ValidationReport | None, notes: list[str], started: float) -> BuildSummary:
    """What the finished build tells: its counts, this run's work, the validation's verdicts."""
    return BuildSummary(
        output=output,
        items=sum(subsets.values()),
        items_added=counts["added"],
        clips_synthesized=counts["synthesized"],
        clips_reused=counts["reused"] + manifest["counts"]["clips"] - counts["added_clips"],  # an item kept from the last run: its clips are reused
        duplicates=scan.duplicates,
        skipped_rows=len(scan.skipped),
        subsets=dict(subsets),
        seconds=time.perf_counter() - started,
        clips_passed=report.clips_passed if report else 0,
        clips_failed=report.clips_failed if report else 0,
        items_failed=report.items_failed if report else 0,
        item_errors=len(failures),
        items_remade=remade,
        notes=notes,
    )


def _write_items(directory: BuildDirectory, url: str | None, manifest: dict[str, Any], options: BuildOptions, context: BuildContext,
                 scan: SourceScan, plan: SpeakPlan, planned: int, progress: Progress) -> tuple[Counter, list[FailedItem]]:
    """Run the executor over the pending items, appending each finished one; an interruption is
    recorded in build.json (and uploaded for a URL build) before it propagates."""
    done = directory.item_ids()
    counts: Counter = Counter()
    failures: list[FailedItem] = []
    finished = len(done)
    progress.advance(finished)
    uploaded = time.monotonic()
    try:
        if finished >= planned:
            return counts, failures
        items = partial(pending_items_in, os.getcwd(), options, context, scan, frozenset(done))  # runs on the cluster for Ray
        for result in _executor(options, plan).run(items):
            if isinstance(result, FailedItem):
                failures.append(result)
                continue
            directory.append_item(result.item)
            if url and time.monotonic() - uploaded > UPLOAD_EVERY_SECONDS:  # a crash loses little
                push_small_files(directory, url, [ITEMS_FILE, BUILD_FILE])
                uploaded = time.monotonic()
            audio = result.item.audio or {}
            counts.update(added=1, synthesized=result.synthesized, reused=result.reused, added_clips=(1 + len(audio.get("candidates") or [])) if audio else 0)
            finished += 1
            progress.advance(finished, synthesized=counts["synthesized"], reused=counts["reused"])
    except BaseException:
        manifest.update(status="interrupted", updated=_now())
        directory.write_manifest(manifest)
        if url:
            push_small_files(directory, url, [ITEMS_FILE, BUILD_FILE])
        raise
    return counts, failures


def _record_loudness(directory: BuildDirectory, manifest: dict[str, Any], plan: SpeakPlan, changed: bool, url: str | None) -> str | None:
    """Measure the clips' loudness into build.json when this run added items (or none was recorded
    for these parameters); the note when the peak ceiling held clips under the target. A URL
    build's clips are elsewhere: not read back for this."""
    target = plan.audio.loudness_lufs
    if target is None or url:
        return None
    if changed or "loudness_measured" not in manifest:
        manifest["loudness_measured"] = measured_loudness(directory, target)
        directory.write_manifest(manifest)
    return loudness_note(manifest.get("loudness_measured"))


def _finish_manifest(directory: BuildDirectory, manifest: dict[str, Any], failures: list[FailedItem]) -> Counter:
    """The final counts and status in build.json; the items per subset."""
    subsets: Counter = Counter()
    clips = 0
    for item in directory.iter_items():
        subsets[item.subset] += 1
        clips += 1 + len(item.audio.get("candidates") or []) if item.audio else 0
    manifest.update(
        status="incomplete" if failures else "complete",
        updated=_now(),
        counts={**manifest["counts"], "items": sum(subsets.values()), "clips": clips, "subsets": dict(subsets), "item_errors": len(failures)},
    )
    directory.write_manifest(manifest)
    return subsets
