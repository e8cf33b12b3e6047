"""Builds to files: the Hub layout (parquet per config, provenance, card) or the original release's.

:func:`check_builds` reads every build once before anything is written: each item's names, texts
and clip paths (inside the build), each published clip's header (audio at the build's rate), and a
subset with nothing to publish. The exporters then decode every clip again as they embed it.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench import __version__
from s2sbench._io import atomic_file, remove_temporary_files, write_atomic
from s2sbench.builddir import BuildDirectory, variant_name
from s2sbench.builders import builders
from s2sbench.builders.s2sbench_release import release_paths
from s2sbench.errors import S2SBenchError
from s2sbench.items import name_problem
from s2sbench.licenses import SAMPLE_LICENSE, DataLicense, resolve_license, unknown_license
from s2sbench.profiles import build_profile
from s2sbench.progress import SILENT, Progress
from s2sbench.publish.options import ConfigExport, PushOptions
from s2sbench.publish.schema import SubsetTally, clip_header, features, kept, row
from s2sbench.tables import public_source
from s2sbench.task import published_task, task_record

PROVENANCE_DIR = "s2sbench"
LM_EVAL_DIR = "lm_eval"
# The columns lm-evaluation-harness reads: the audio columns are left out, so it decodes no clip.
LM_EVAL_COLUMNS = ("id", "subset", "lang", "context", "candidates", "answer")
LETTERS = "ABCD"


@dataclass
class CheckedBuild:
    """A build that :func:`check_builds` read: its directory, sample rate and per-subset tallies."""

    path: Path
    directory: BuildDirectory
    manifest: dict[str, Any]  # build.json, read once
    sample_rate: int
    tallies: dict[str, SubsetTally]
    format: str  # the builder that read the source ("custom" when items came from several)
    license: DataLicense | None  # None: nobody has said it (a Hub push may keep the one already published)
    include_failed: bool = False  # --include-failed, or a robustness variant (its verdicts do not gate)


def check_builds(options: PushOptions) -> list[CheckedBuild]:
    """Every build of ``options`` checked (see the module doc); raises with ``FILE:LINE: field: problem``."""
    if options.config is not None and (problem := name_problem(options.config)):
        raise S2SBenchError(f"--config-name: {problem}")
    checked = []
    for build_path in options.builds:
        directory = BuildDirectory(build_path).require()
        directory.check_finished(options.allow_incomplete)
        manifest = directory.read_manifest()
        sample_rate = (manifest.get("audio") or {}).get("sample_rate", 16000)
        include_failed = options.include_failed or variant_name(manifest) is not None
        tallies: dict[str, SubsetTally] = {}
        formats: set[str] = set()
        for number, item in directory.iter_numbered_items():
            formats.add(str(item.source.get("name", "custom")))
            is_kept = kept(item, include_failed)
            tallies.setdefault(item.subset, SubsetTally()).add(item, is_kept)
            if not is_kept:
                continue
            where = f"{directory.items_path}:{number}"
            clips = directory.clip_paths(item, where)
            if not clips:
                raise S2SBenchError(f"{where}: audio: the item has no clips (built with --no-audio?)")
            voices = (item.audio or {}).get("voices") or {}
            spoken_by = [voices.get("context"), *(voices.get("candidates") or [None] * (len(clips) - 1))]
            for field, path, voice in zip(["audio.context"] + [f"audio.candidates[{k}]" for k in range(len(clips) - 1)], clips, spoken_by):
                seconds, problem = clip_header(path, sample_rate)
                if problem:
                    raise S2SBenchError(f"{where}: {field}: {path.relative_to(directory.root.resolve())}: {problem}")
                tallies[item.subset].add_clip(seconds, voice)
        for subset, tally in sorted(tallies.items()):
            if not tally.items:
                raise S2SBenchError(f"{build_path}: subset {subset}: no item passed validation (use --include-failed)")
        fmt = formats.pop() if len(formats) == 1 else "custom"
        builder = builders().get(fmt)
        spec = str((manifest.get("source") or {}).get("spec", ""))
        recognized = SAMPLE_LICENSE if spec.startswith("sample:") else (builder.recognized_license(spec) if builder else None)
        data_license = resolve_license(options.license, DataLicense.from_dict(manifest.get("license")), builder.license if builder else None,
                                       recognized, str(build_path))
        checked.append(CheckedBuild(Path(build_path), directory, manifest, sample_rate, tallies, fmt, data_license, include_failed))
    if not checked:
        raise S2SBenchError("no build directory given")
    return checked


def settle_licenses(options: PushOptions, checked: list[CheckedBuild], published: dict[str, dict], notify: Callable[[str], None]) -> None:
    """Each build's licence, against what the repo already publishes (``published``: config ->
    provenance record). A build whose licence nobody gave keeps its configs' published one; none
    published is an error. A change of a published licence needs ``--license`` and is said."""
    names = config_names(options, checked)
    for build in checked:
        configs = [names[(str(build.path), subset)] for subset in sorted(build.tallies)]
        before = {config: DataLicense.from_dict(published[config]["source"]["license"]) for config in configs if config in published}
        if build.license is None:
            kept = set(before.values())
            if len(kept) != 1 or len(before) != len(configs):
                raise unknown_license(str(build.path))
            build.license = kept.pop()
            notify(f"licence: keeping {build.license} (as published for {', '.join(configs)})")
            continue
        for config, old in before.items():
            if old != build.license:
                if options.license is None:
                    raise S2SBenchError(f"{config}: published under {old}; this push would change it to {build.license}: "
                                        f"give --license {build.license.id} to change it (or --license {old.id} to keep it)")
                notify(f"licence: {old} -> {build.license} ({config})")


def config_names(options: PushOptions, checked: list[CheckedBuild]) -> dict[tuple[str, str], str]:
    """(build, subset) -> config name: the subset, ``--config-name`` for a single subset, and
    ``<subset>-<lang>`` where two builds hold the same subset (the en and zh samples both have
    ``story``); a robustness variant's carries its transform (``sStoryCloze-snr10``), so a parent
    and its variants push side by side."""
    pairs = []
    for build in checked:
        lang = (build.manifest.get("source") or {}).get("lang", "xx")
        variant = variant_name(build.manifest)
        pairs += [(str(build.path), subset, lang, variant) for subset in sorted(build.tallies)]
    if options.config:
        if len(pairs) > 1:
            raise S2SBenchError(f"--config-name names one config, but the builds hold {len(pairs)} subsets")
        return {(pairs[0][0], pairs[0][1]): options.config}
    counts: dict[tuple[str, str | None], int] = {}
    for _, subset, _, variant in pairs:
        counts[(subset, variant)] = counts.get((subset, variant), 0) + 1

    def name(subset: str, lang: str, variant: str | None) -> str:
        base = subset if counts[(subset, variant)] == 1 else f"{subset}-{lang}"
        return f"{base}-{variant}" if variant else base

    names = {(build, subset): name(subset, lang, variant) for build, subset, lang, variant in pairs}
    if len(set(names.values())) < len(names):
        raise S2SBenchError("two builds would push the same config (the same subset, language and variant): push them separately")
    for name in names.values():
        if problem := name_problem(name):
            raise S2SBenchError(f"config name: {problem}")
    return names


def provenance(build: CheckedBuild, config: str, subset: str, tally: SubsetTally) -> dict[str, Any]:
    """The record of one pushed config (``s2sbench/<config>.json``): the card is rendered from these."""
    manifest = build.manifest
    source = manifest.get("source", {})
    builder = builders().get(build.format)
    validation = manifest.get("validation")
    lang = tally.lang or source.get("lang")
    task = manifest.get("task") or task_record(build_profile(manifest.get("profile"), lang), lang)  # older builds: from their profile
    return {
        "config": config,
        "subset": subset,
        "lang": lang,
        "items": tally.items,
        "clips": tally.clips,
        "k": sorted(tally.k),
        "audio_figures": tally.audio_figures(),
        "speak": manifest.get("speak", "all"),
        "failed_excluded": tally.failed,
        "task": published_task(task, sorted(tally.k)),
        "source": {"spec": public_source(source["spec"]) if source.get("spec") else None, "format": build.format, "license": build.license.as_dict(),
                   "description": builder.description if builder else "custom source"},
        "tts": manifest.get("tts", {}),
        "audio": manifest.get("audio", {}),
        "validation": ({**validation, "clips": tally.clips_checked, "passed": tally.clips_passed} if validation else None),
        "s2sbench_version": manifest.get("versions", {}).get("s2sbench", __version__),
        **({"variant": {k: manifest["augment"].get(k) for k in ("name", "transform", "seed", "parent_items_sha256")}} if variant_name(manifest) else {}),
    }


def lm_eval_task(repo_id: str, config: str, split: str, task: dict[str, Any]) -> str:
    """A task YAML for lm-evaluation-harness: the config's text mode (t2t) as ``multiple_choice`` over the
    pushed parquet, with the prompts ``s2s score`` uses (its ``acc`` is our ``acc_sum``). Strings are
    written as JSON, which YAML reads as double-quoted scalars; the prefix is raw text to Jinja."""
    prompts = task["prompts"]
    prefix = "{% raw %}" + prompts["text_prefix"] + "{% endraw %}" if prompts["text_prefix"] else ""
    lines = [
        f"# lm-evaluation-harness task: {config} in text mode (t2t), prompts as `s2s score` uses them.",
        f"# lm_eval --model hf --model_args pretrained=MODEL --tasks {LM_EVAL_PREFIX}{config} --include_path lm_eval",
        f"task: {json.dumps(LM_EVAL_PREFIX + config)}",
        f"dataset_path: {json.dumps(repo_id)}",
        f"dataset_name: {json.dumps(config)}",
        "dataset_kwargs:",
        f"  columns: {json.dumps(list(LM_EVAL_COLUMNS))}",
        f"test_split: {json.dumps(split)}",
        "output_type: multiple_choice",
        f"doc_to_text: {json.dumps(prefix + '{{context}}')}",
        'doc_to_choice: "{{candidates}}"',
        'doc_to_target: "{{answer}}"',
        f"target_delimiter: {json.dumps(prompts['separator'])}",
        "metric_list:",
        "  - metric: acc",
        "  - metric: acc_norm",
    ]
    return "\n".join(lines) + "\n"


LM_EVAL_PREFIX = "s2sbench_"


def _write_shards(rows: Callable[[], Iterator[dict]], sample_rate: int, directory: Path, config: str, split: str, max_shard_size: int) -> list[str]:
    import datasets

    cache = directory / SHARD_CACHE
    try:
        dataset = datasets.Dataset.from_generator(rows, features=features(sample_rate, audio=False), cache_dir=str(cache))
        dataset = dataset.cast(features(sample_rate))  # a metadata change: the bytes stay as they are
        shards = min(len(dataset), max(1, math.ceil(dataset.data.nbytes / max_shard_size)))  # never more shards than rows
        names = []
        for index in range(shards):
            name = f"{config}/{split}-{index:05d}-of-{shards:05d}.parquet"
            (directory / config).mkdir(parents=True, exist_ok=True)
            with atomic_file(directory / name, "wb") as handle:  # a killed export leaves no half shard
                dataset.shard(shards, index, contiguous=True).to_parquet(handle)
            names.append(name)
        del dataset
    except datasets.exceptions.DatasetGenerationError as exc:  # our own error, raised inside the generator
        cause = exc.__cause__ or exc.__context__
        raise (cause if isinstance(cause, S2SBenchError) else exc) from None
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return names


# The shard writer's datasets cache, inside the export while it runs. A name of our own: the export
# directory may be any directory of the user's (`--to-dir ~` must not lose ~/.cache).
SHARD_CACHE = ".s2s-export-cache"


def remove_leftovers(directory: Path) -> None:
    """What a killed export left: temporary files (each file is written whole, then renamed) and
    the shard writer's cache."""
    shutil.rmtree(directory / SHARD_CACHE, ignore_errors=True)
    remove_temporary_files(directory, depth=2)  # <config>/*.parquet, S2S/<subset>/*.wav


def export(options: PushOptions, directory: Path, checked: list[CheckedBuild], existing_records: dict[str, dict] | None = None,
           repo_id: str = "local/export", progress: Progress = SILENT) -> list[ConfigExport]:
    """Write shards, provenance and README.md for the checked builds into ``directory``; ``progress``
    counts the rows written."""
    directory.mkdir(parents=True, exist_ok=True)
    progress.start(sum(tally.items for build in checked for tally in build.tallies.values()))
    written = 0
    remove_leftovers(directory)
    records = dict(existing_records or {})
    exports: list[ConfigExport] = []
    example: dict[str, Any] | None = None
    names = config_names(options, checked)
    for build in checked:
        for subset, tally in sorted(build.tallies.items()):
            config = names[(str(build.path), subset)]

            def rows(subset=subset, build=build) -> Iterator[dict]:
                nonlocal written
                for number, item in build.directory.iter_numbered_items():
                    if item.subset == subset and kept(item, build.include_failed):
                        where = f"{build.directory.items_path}:{number}"
                        build.directory.check_verdicts(item, where)
                        yield row(item, build.directory.clip_paths(item, where), build.sample_rate, where)
                        written += 1
                        progress.advance(written)

            files = _write_shards(rows, build.sample_rate, directory, config, options.split, options.max_shard_size)
            record = provenance(build, config, subset, tally)
            record_name = f"{PROVENANCE_DIR}/{config}.json"
            (directory / PROVENANCE_DIR).mkdir(exist_ok=True)
            write_atomic(directory / record_name, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
            task_name = f"{LM_EVAL_DIR}/{config}.yaml"
            (directory / LM_EVAL_DIR).mkdir(exist_ok=True)
            write_atomic(directory / task_name, lm_eval_task(repo_id, config, options.split, record["task"]))
            records[config] = record
            digests = [(i.id, hashlib.sha256(build.directory.clip_paths(i, i.id)[0].read_bytes()).hexdigest()) for i in tally.first if i.audio]
            exports.append(ConfigExport(config, tally.items, files + [record_name, task_name], digests))
            if example is None:
                first = tally.first[0]
                example = {"config": config, "row": {"id": first.id, "subset": first.subset, "lang": first.lang, "context": first.context,
                                                      "candidates": first.candidates, "answer": first.answer,
                                                      "context_audio": {"path": Path(first.audio["context"]).name} if first.audio else None}}
    from s2sbench.cards import render_card

    write_atomic(directory / "README.md", render_card(repo_id, list(records.values()), options.split, example or {}))
    return exports


def export_release_layout(options: PushOptions, directory: Path, checked: list[CheckedBuild]) -> list[ConfigExport]:
    """The original release layout: story pairs (uttid/first/last, plausible row first, uttids
    consecutive) and 4-way questions (uttid/first/A-D/answer), each row's context in ``{uttid}.wav``."""
    exports = []
    remove_leftovers(directory)
    for build in checked:
        for subset in sorted(build.tallies):
            jsonl_name, wav_name = release_paths(subset)
            (directory / wav_name).mkdir(parents=True, exist_ok=True)
            uttid, rows = 1000, 0
            with atomic_file(directory / jsonl_name) as handle:
                for number, item in build.directory.iter_numbered_items():
                    if item.subset != subset or not kept(item, build.include_failed):
                        continue
                    clips = build.directory.clip_paths(item, f"{build.directory.items_path}:{number}")
                    wav = clips[0].read_bytes() if clips else None
                    if len(item.candidates) == 2:
                        ordered = [item.candidates[item.answer], item.candidates[1 - item.answer]]
                        records = [{"uttid": uttid + i, "first": item.context, "last": text} for i, text in enumerate(ordered)]
                    elif len(item.candidates) == 4:
                        records = [{"uttid": uttid, "first": item.context, **dict(zip(LETTERS, item.candidates)), "answer": LETTERS[item.answer]}]
                    else:
                        raise S2SBenchError(f"{item.id}: the S2SBench layout holds 2- or 4-candidate items, not {len(item.candidates)}")
                    for record in records:
                        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                        if wav is not None:
                            write_atomic(directory / wav_name / f"{record['uttid']}.wav", wav)
                    uttid += len(records)
                    rows += 1
            exports.append(ConfigExport(subset, rows, [jsonl_name, wav_name]))
    return exports
