"""``s2s pull``: a published dataset (a Hub repo or an export folder) back into a build directory.

Each row becomes an item of ``items.jsonl`` and its clips files of ``audio/``, byte for byte and
under the names they were published with (content-addressed by the build that made them), so the
pulled build can be validated, augmented, scored or pushed again, and a re-export gives the same
parquet bytes. ``build.json`` names the origin (repo, config, commit) and takes the published
record's task, licence, speech and validation settings. Rows are checked as any build's items
are: names, texts, clip names, and each clip as audio at the published rate; a bad row stops the
pull with one line before ``items.jsonl`` is written.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench import __version__
from s2sbench._io import TEMPORARY_PREFIX, DirectoryLock, remove_temporary_files, write_atomic, write_lines_atomic
from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.items import Item, item_problems
from s2sbench.publish.schema import check_columns, clip_problem, context_clip_problem, row_context_verdict
from s2sbench.releases import describe_release, open_rows
from s2sbench.versions import package_versions

CLIP_NAME = re.compile(r"[0-9a-f]{16,64}\.(wav|flac)")


@dataclass
class PullResult:
    output: Path
    config: str | None
    items: int
    clips: int
    origin: dict[str, Any]


def parse_pull_source(text: str) -> tuple[str, str | None]:
    """``REPO[:CONFIG]`` or ``DIR[:CONFIG]`` -> (source, config)."""
    source, _, config = text.partition(":") if not Path(text).exists() else (text, "", "")
    return source, config or None


def pull(source: str, output: Path, config: str | None = None, split: str = "test", revision: str | None = None) -> PullResult:
    """Write the config ``config`` of ``source`` into the build directory ``output`` (see the module doc)."""
    output = Path(output)
    directory = BuildDirectory(output)
    if output.exists() and (not output.is_dir() or not _pull_may_write(directory)):
        raise S2SBenchError(f"-o {output}: exists and is not a build directory: pull into a new directory")
    local = Path(source).expanduser()
    if BuildDirectory(local).exists() or local.is_file():
        raise S2SBenchError(f"{source}: not a published dataset (a Hub repo OWNER/NAME or an export folder): a build directory needs no pull")
    info = describe_release(source, config, revision)
    record = info.record
    if not record and (configs := _configs(source, info)) and info.config not in configs:
        raise S2SBenchError(f"{source}: no config {info.config}; it holds {', '.join(configs)} (s2s pull {source}:{configs[0]})")
    if not record:
        raise S2SBenchError(f"{source}: config {info.config}: no s2sbench/{info.config}.json: not made by s2s push, so its task and licence are unknown")
    previous = directory.read_manifest()
    if previous and previous.get("pulled") != info.identity:
        raise S2SBenchError(f"-o {output}: holds another build ({(previous.get('source') or {}).get('spec')}): pull into a new directory")
    sample_rate = int((record.get("audio") or {}).get("sample_rate", 16000))
    made = not output.exists()
    started = made or not any(output.iterdir())  # nothing of an earlier pull is there to keep
    output.mkdir(parents=True, exist_ok=True)
    try:
        with DirectoryLock(output, "build directory"):
            remove_temporary_files(output, depth=2)  # what a killed pull was writing: items.jsonl, audio/ab/<hash>.wav
            if not previous:  # said first, so that a pull killed at any later point is known as this pull and resumed
                write_atomic(directory.build_path, json.dumps({"s2sbench_build": 1, "status": "running", "pulled": info.identity}, indent=2) + "\n")
            counts: Counter = Counter()
            file = _rows_file(source, info, split)
            rows = open_rows(source, info, split, check=check_columns)
            written = write_lines_atomic(directory.items_path, _items(directory, rows, record, sample_rate, counts, file))
            write_atomic(directory.build_path, _manifest_text(source, info, record, written, counts))
    except S2SBenchError:  # a refused pull leaves nothing it made (an interrupted one is resumed instead)
        if started:
            _remove_pulled(output, made)
        raise
    return PullResult(output, info.config, written, counts["clips"], info.identity)


def _remove_pulled(output: Path, made: bool) -> None:
    """What a refused pull wrote into ``output``: the folder itself when the pull made it, else its contents."""
    if made:
        shutil.rmtree(output, ignore_errors=True)
        return
    for entry in output.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _configs(source: str, info: Any) -> list[str]:
    """The configs the dataset holds (none when it cannot be asked: the refusal then names the missing record)."""
    import datasets

    try:
        return list(datasets.get_dataset_config_names(str(Path(source).expanduser()) if info.kind == "export" else source,
                                                      revision=info.identity.get("revision")))
    except Exception:  # the dataset itself is what the next refusal names
        return []


def _pull_may_write(directory: BuildDirectory) -> bool:
    """Whether a pull may write into this existing folder: it is empty, holds a build (the pull then
    checks it is this pull's), or holds only what a pull killed before writing build.json left (its
    lock and temporary files)."""
    leftovers = {entry.name for entry in directory.root.iterdir()} - {".lock"}
    return directory.build_path.is_file() or all(name.startswith(TEMPORARY_PREFIX) for name in leftovers)


def _rows_file(source: str, info: Any, split: str) -> str:
    """The file a config's rows are read from, as an error names it: the export's shard (or shards), or
    the Hub config's split."""
    if info.kind == "export":
        shards = sorted(Path(source).expanduser().glob(f"{info.config}/{split}-*.parquet" if info.config else f"{split}-*.parquet"))
        if len(shards) == 1:
            return str(shards[0])
        return str(Path(source) / (info.config or "") / f"{split}-*.parquet")
    return f"{source}:{info.config}/{split}"


def _items(directory: BuildDirectory, rows: Iterator[tuple[int, dict]], record: dict[str, Any], sample_rate: int, counts: Counter,
           file: str) -> Iterator[str]:
    fmt = record["source"]["format"]
    for number, row in rows:
        where = f"{file}: row {number}"
        if problem := context_clip_problem(row):
            raise S2SBenchError(f"{where}: {problem}")
        clips = [_store(directory, row.get("context_audio"), f"{where}: context_audio", sample_rate)] if row.get("context_audio") else []
        clips += [_store(directory, clip, f"{where}: candidate_audio[{k}]", sample_rate) for k, clip in enumerate(row.get("candidate_audio") or [])]
        counts["clips"] += len(clips)
        counts[f"subset:{row.get('subset')}"] += 1
        item = Item(
            id=row.get("id"), subset=row.get("subset"), lang=row.get("lang"), context=row.get("context"), candidates=list(row.get("candidates") or []),
            answer=row.get("answer"),
            source={"name": fmt, "row": number, **({"category": row["category"]} if row.get("category") is not None else {})},
            audio=({"context": clips[0], "candidates": clips[1:], **({"voices": {"context": row["voice"]}} if row.get("voice") else {}),
                    **({"engines": {"context": row["engine"]}} if row.get("engine") else {}),
                    "sample_rate": sample_rate} if clips else None),
            validation=_validation(row),
        )
        if problems := item_problems(item):
            field, problem = problems[0]
            raise S2SBenchError(f"{where}: {field}: {problem}")
        yield item.to_json() + "\n"


def _validation(row: dict[str, Any]) -> dict[str, Any] | None:
    """The verdicts a row publishes, as an item holds them (None when the build was not validated)."""
    context = row_context_verdict(row)
    candidates = [{"asr": asr, "error": error} for asr, error in zip(row.get("candidate_asr") or [], row.get("candidate_error") or [])]
    if not context and not candidates:
        return None
    return {"passed": bool(row.get("passed", True)), "context": context, "candidates": candidates}


def _store(directory: BuildDirectory, clip: dict[str, Any], where: str, sample_rate: int) -> str:
    """A published clip written into ``audio/`` under its own name; the relative path the item holds."""
    name = Path(str(clip.get("path") or "")).name
    if not CLIP_NAME.fullmatch(name) or name != clip.get("path"):
        raise S2SBenchError(f"{where}: clip name {str(clip.get('path'))[:80]!r}: expected a content-addressed name (hex digits, .wav or .flac)")
    data = clip.get("bytes") or b""
    if problem := clip_problem(data, sample_rate):
        raise S2SBenchError(f"{where}: {name}: {problem}")
    relative = f"audio/{name[:2]}/{name}"
    path = directory.root / relative
    if path.is_file():
        if path.read_bytes() != data:
            raise S2SBenchError(f"{where}: {name}: two different clips under one name")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    return relative


def _manifest_text(source: str, info: Any, record: dict[str, Any], items: int, counts: Counter) -> str:
    task = {key: value for key, value in (record.get("task") or {}).items() if key not in ("k", "conventions")}
    validation = {key: value for key, value in (record.get("validation") or {}).items() if key not in ("clips", "passed")} or None
    manifest = {
        "s2sbench_build": 1,
        "status": "complete",
        "source": {"spec": source, "format": record["source"]["format"], "lang": record.get("lang"), "subset": record.get("subset")},
        "pulled": info.identity,
        "task": task,
        "tts": record.get("tts") or {},
        "speak": record.get("speak", "all"),
        "audio": record.get("audio") or {},
        "validation": validation,
        "license": record["source"]["license"],
        **({"augment": record["variant"]} if record.get("variant") else {}),
        "versions": {**package_versions(("datasets",)), "s2sbench": __version__, "published_with": record.get("s2sbench_version")},
        "counts": {"items": items, "clips": counts["clips"],
                   "subsets": {key.split(":", 1)[1]: value for key, value in sorted(counts.items()) if key.startswith("subset:")}},
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
