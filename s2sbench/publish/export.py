"""Builds to files: the Hub layout (parquet per config, provenance, card) or the original release's.

:func:`check_builds` reads every build once before anything is written: each item's names, texts
and clip paths (inside the build), each published clip's header (audio at the build's rate), and a
subset with nothing to publish. The exporters then decode every clip again as they embed it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench import __version__
from s2sbench._io import atomic_file, remove_temporary_files, temporary_name, write_atomic
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
from s2sbench.releases import PROVENANCE_DIR
from s2sbench.tables import public_source
from s2sbench.task import published_task, task_record

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
    given = [Path(build).resolve() for build in options.builds]
    if len(set(given)) < len(given):
        twice = next(build for build, path in zip(options.builds, given) if given.count(path) > 1)
        raise S2SBenchError(f"{twice}: given twice; each build is pushed once")
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
        if build.license is None and not before and (last := last_published(build.manifest)) is not None:
            build.license, repo = last
            notify(f"licence: {build.license} (as {build.path} was last pushed to {repo}; build.json records it)")
            continue
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


def last_published(manifest: dict[str, Any]) -> tuple[DataLicense, str] | None:
    """(licence, repo) of the last Hub push of a build (build.json's ``published``), or None."""
    published = manifest.get("published") or {}
    data_license = DataLicense.from_dict(published.get("license")) if isinstance(published, dict) else None
    return (data_license, str(published.get("repo"))) if data_license is not None else None


def held_back(options: PushOptions, checked: list[CheckedBuild]) -> dict[str, tuple[int, Path]]:
    """config -> (items its build holds that failed validation and are left out, the build), for the configs leaving some out."""
    names = config_names(options, checked)
    return {names[(str(build.path), subset)]: (tally.failed, build.path) for build in checked for subset, tally in sorted(build.tallies.items())
            if tally.failed}


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


LM_EVAL_PREFIX = "s2sbench_"
SPEECH_TASK_SUFFIX = "_s2t"  # the speech-mode task beside the text one: s2sbench_<config>_s2t
GROUP_TASK_SUFFIX = "_t2t_s2t"  # the group of both: one lm-eval run reports them side by side
# The characters a prompt keeps as they are inside its Jinja string literal; any other is escaped.
_LITERAL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?-_()")


def jinja_literal(text: str) -> str:
    """``text`` as a Jinja expression that renders to exactly ``text``: a double-quoted string literal
    in ``{{ }}``, every character outside a plain set written as a ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN``
    escape. No brace, quote, backslash, newline or non-ASCII character is left in it, so nothing in
    ``text`` can end the literal or the expression, start a tag, or be normalized by Jinja's lexer
    (which rewrites raw newlines in literals and decodes them with Python's unicode-escape)."""
    if not text:
        return ""
    return '{{ "' + "".join(char if char in _LITERAL_SAFE else _escape(char) for char in text) + '" }}'


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _task_head(name: str, repo_id: str, config: str, split: str, columns: list[str], prompts: dict[str, Any]) -> list[str]:
    """What both modes' task files share: the name, the pushed parquet, the columns read, the candidates.
    Strings are written as JSON, which YAML reads as double-quoted scalars."""
    return [
        f"task: {json.dumps(name)}",
        f"dataset_path: {json.dumps(repo_id)}",
        f"dataset_name: {json.dumps(config)}",
        "dataset_kwargs:",
        f"  columns: {json.dumps(columns)}",
        f"test_split: {json.dumps(split)}",
        "output_type: multiple_choice",
        'doc_to_choice: "{{candidates}}"',
        'doc_to_target: "{{answer}}"',
        f"target_delimiter: {json.dumps(prompts['separator'])}",  # used as it is, never rendered
        "metric_list:",
        "  - metric: acc",
        "  - metric: acc_norm",
    ]


def lm_eval_task(repo_id: str, config: str, split: str, task: dict[str, Any]) -> str:
    """A task YAML for lm-evaluation-harness: the config's text mode (t2t) as ``multiple_choice`` over the
    pushed parquet, with the prompts ``s2s score`` uses (its ``acc`` is our ``acc_sum``); the text prefix
    is a Jinja string literal (:func:`jinja_literal`), so it stays text whatever it holds."""
    prompts = task["prompts"]
    lines = [
        f"# lm-evaluation-harness task: {config} in text mode (t2t), prompts as `s2s score` uses them.",
        f"# lm_eval --model hf --model_args pretrained=MODEL --tasks {LM_EVAL_PREFIX}{config} --include_path lm_eval",
        *_task_head(LM_EVAL_PREFIX + config, repo_id, config, split, list(LM_EVAL_COLUMNS), prompts),
        f"doc_to_text: {json.dumps(jinja_literal(prompts['text_prefix']) + '{{context}}')}",
    ]
    return "\n".join(lines) + "\n"


def lm_eval_speech_task(repo_id: str, config: str, split: str, task: dict[str, Any]) -> str:
    """The config's speech mode (s2t) as an lm-evaluation-harness task: the request's text is the speech
    prefix the build's task records, the context's clip goes with it as the request's audio
    (``doc_to_audio``: the ``context_audio`` column), the candidates follow as in t2t. A model that
    answers audio log-likelihoods runs it: ``--model s2sbench`` (s2sbench.integrations.lm_eval)."""
    prompts = task["prompts"]
    name = LM_EVAL_PREFIX + config + SPEECH_TASK_SUFFIX
    lines = [
        f"# lm-evaluation-harness task: {config} in speech mode (s2t): the context is heard, prompts as `s2s score` uses them.",
        f"# python -m s2sbench.lm_eval --model s2sbench --model_args model=MODEL --tasks {name} --include_path lm_eval",
        *_task_head(name, repo_id, config, split, [*LM_EVAL_COLUMNS, "context_audio"], prompts),
        f"doc_to_text: {json.dumps(jinja_literal(prompts['speech_prefix']))}",
        'doc_to_audio: "context_audio"',
    ]
    return "\n".join(lines) + "\n"


def lm_eval_group(config: str, speech: bool) -> str:
    """A group task holding the config's modes, so one lm-eval run reports t2t and s2t side by side
    (no aggregate: a mean over modes would mean nothing)."""
    tasks = [LM_EVAL_PREFIX + config] + ([LM_EVAL_PREFIX + config + SPEECH_TASK_SUFFIX] if speech else [])
    lines = [
        f"# lm-evaluation-harness group: {config} in {'text and speech mode' if speech else 'text mode'}, reported side by side.",
        f"group: {json.dumps(LM_EVAL_PREFIX + config + GROUP_TASK_SUFFIX)}",
        "task:",
        *(f"  - {json.dumps(name)}" for name in tasks),
    ]
    return "\n".join(lines) + "\n"


def write_lm_eval_tasks(directory: Path, repo_id: str, config: str, split: str, task: dict[str, Any], speech: bool) -> list[str]:
    """The config's lm-eval task files in ``directory/lm_eval``: text mode, speech mode (when its
    contexts are spoken) and their group; their names relative to ``directory``."""
    (directory / LM_EVAL_DIR).mkdir(exist_ok=True)
    files = {f"{LM_EVAL_DIR}/{config}.yaml": lm_eval_task(repo_id, config, split, task)}
    if speech:
        files[f"{LM_EVAL_DIR}/{config}{SPEECH_TASK_SUFFIX}.yaml"] = lm_eval_speech_task(repo_id, config, split, task)
    files[f"{LM_EVAL_DIR}/{config}_group.yaml"] = lm_eval_group(config, speech)
    for name, text in files.items():
        write_atomic(directory / name, text)
    return list(files)


# A row group is written once it holds this many bytes of rows or this many rows: an audio row is
# about half a megabyte, so what the writer holds stays a few tens of MB at any dataset size (and a
# reader seeking one row reads one small group).
ROW_GROUP_BYTES = 32 * 2**20
ROW_GROUP_ROWS = 100


def _row_bytes(row: dict[str, Any]) -> int:
    """About what ``row`` weighs: its clips' bytes and its texts'."""
    clips = [row["context_audio"], *row["candidate_audio"]]
    return sum(len(clip["bytes"]) for clip in clips if clip) + len(row["context"]) + sum(map(len, row["candidates"])) + 512


class ShardWriter:
    """Parquet shards of one config written as rows stream in: a row group at a time (see
    :data:`ROW_GROUP_BYTES`), a new shard once one holds ``max_shard_size`` bytes. Shards are written
    under temporary names and named ``SPLIT-0000K-of-0000N.parquet`` when the last row is in, so a
    killed export leaves no shard that looks whole. The files are what ``datasets`` writes for an
    ``Audio`` dataset (its schema metadata, column options and content-defined chunking), so the Hub's
    viewer and ``load_dataset`` read them as its own."""

    def __init__(self, directory: Path, config: str, split: str, sample_rate: int, max_shard_size: int) -> None:
        from datasets import config as datasets_config
        from datasets.arrow_writer import get_parquet_column_options

        self.cdc = datasets_config.DEFAULT_CDC_OPTIONS
        self.folder, self.config, self.split, self.max_shard_size = directory / config, config, split, max_shard_size
        self.features = features(sample_rate)
        self.schema = self.features.arrow_schema
        self.options = get_parquet_column_options(self.features, self.schema)
        self.rows: list[dict[str, Any]] = []
        self.buffered = 0
        self.parts: list[Path] = []
        self.writer: Any = None
        self.handle: Any = None

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.buffered += _row_bytes(row)
        written = self.handle.tell() if self.handle is not None else 0
        # A group ends at its bound, or where the shard would pass --max-shard-size (a size below one
        # row gives every row a shard of its own).
        if self.buffered >= ROW_GROUP_BYTES or len(self.rows) >= ROW_GROUP_ROWS or written + self.buffered >= self.max_shard_size:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self.rows:
            return
        if self.writer is None:
            self._open()
        self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.rows, self.buffered = [], 0
        if self.handle.tell() >= self.max_shard_size:
            self._close()

    def _open(self) -> None:
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        part = temporary_name(self.folder / f"{self.split}-{len(self.parts):05d}.parquet")
        self.parts.append(part)
        self.handle = open(part, "wb")  # noqa: SIM115 - closed by _close, which each shard reaches
        self.writer = pq.ParquetWriter(self.handle, schema=self.schema, use_content_defined_chunking=self.cdc,
                                       write_page_index=True, **self.options)

    def _close(self) -> None:
        self.writer.add_key_value_metadata({"content_defined_chunking": json.dumps(self.cdc)})
        self.writer.close()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        self.writer = self.handle = None

    def finish(self) -> list[str]:
        """Write what is left, name the shards, remove this split's shards of an earlier export; the names."""
        self._flush()
        if self.writer is not None:
            self._close()
        if not self.parts:  # no row: one empty shard, as datasets writes for an empty dataset
            self._open()
            self._close()
        names = [f"{self.config}/{self.split}-{index:05d}-of-{len(self.parts):05d}.parquet" for index in range(len(self.parts))]
        for part, name in zip(self.parts, names):
            os.replace(part, self.folder.parent / name)
        for old in self.folder.glob(f"{self.split}-*-of-*.parquet"):
            if f"{self.config}/{old.name}" not in names:
                old.unlink()
        return names

    def abandon(self) -> None:
        """Remove the shards begun (an error stopped the export)."""
        if self.handle is not None:
            self.handle.close()
        for part in self.parts:
            part.unlink(missing_ok=True)


def _write_shards(rows: Iterator[dict], sample_rate: int, directory: Path, config: str, split: str, max_shard_size: int) -> list[str]:
    """Stream ``rows`` into the config's parquet shards (:class:`ShardWriter`); the shards' names."""
    writer = ShardWriter(directory, config, split, sample_rate, max_shard_size)
    try:
        for row in rows:
            writer.add(row)
        return writer.finish()
    except BaseException:
        writer.abandon()
        raise


# Where exports before the streaming writer kept a datasets cache while they ran; one killed then may
# have left it. A name of our own: the export directory may be any directory of the user's.
SHARD_CACHE = ".s2s-export-cache"


def remove_leftovers(directory: Path) -> None:
    """What a killed export left: temporary files (each file and shard is written under a temporary
    name, then renamed) and the cache of an export made before the streaming writer."""
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

            files = _write_shards(rows(), build.sample_rate, directory, config, options.split, options.max_shard_size)
            record = provenance(build, config, subset, tally)
            record_name = f"{PROVENANCE_DIR}/{config}.json"
            (directory / PROVENANCE_DIR).mkdir(exist_ok=True)
            write_atomic(directory / record_name, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
            task_files = write_lm_eval_tasks(directory, repo_id, config, options.split, record["task"], speech=tally.clips > 0)
            records[config] = record
            digests = [(i.id, hashlib.sha256(build.directory.clip_paths(i, i.id)[0].read_bytes()).hexdigest()) for i in tally.first if i.audio]
            exports.append(ConfigExport(config, tally.items, files + [record_name, *task_files], digests))
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
