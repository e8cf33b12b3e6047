"""Where the scorer reads items from: a build directory, a ``push --to-dir`` export (or any
dataset directory with our columns), a Hub dataset id, or the original S2SBench release files.

Audio embedded in a dataset is written once to ``<results>/.audio/`` so adapters always get paths.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from s2sbench._io import file_sha256
from s2sbench.builddir import BuildDirectory, variant_name
from s2sbench.clip_length import length_problem
from s2sbench.errors import S2SBenchError
from s2sbench.items import Item, name_problem
from s2sbench.profiles import build_profile
from s2sbench.publish.schema import check_columns, context_clip_problem, item_category, row_context_verdict
from s2sbench.releases import SourceInfo, check_export_directory, dataset_rows, describe_release
from s2sbench.scorer.adapters import ScoreItem
from s2sbench.task import task_profile


def asr_bucket(verdict: dict[str, Any] | None, threshold: float | None) -> str | None:
    """The context clip's validation error as a bucket: ``0``, ``(0, 0.1]``, ``(0.1, max]``, ``failed``."""
    if not verdict or "error" not in verdict:
        return None
    error = verdict["error"]
    if not verdict.get("passed", True):
        return "failed"
    if error == 0:
        return "0"
    return "(0, 0.1]" if error <= 0.1 else f"(0.1, {threshold:g}]" if threshold is not None else "> 0.1"


def item_facets(item: Item, threshold: float | None) -> dict[str, Any]:
    """What breakdowns group an item by: its category (a CMMLU/MMLU subject), the context clip's voice,
    engine (in a build of several engines), duration and validation error, and the context's length
    in words (characters for a script written without spaces)."""
    audio = item.audio or {}
    return facets(item.context, item_category(item), (audio.get("voices") or {}).get("context"), (item.validation or {}).get("context"), threshold,
                  engine=(audio.get("engines") or {}).get("context"))


def facets(context: str, category: str | None, voice: str | None, verdict: dict[str, Any] | None, threshold: float | None,
           engine: str | None = None) -> dict[str, Any]:
    """An item's facets from its parts, the same for a build's item and an exported row. The engine
    is there only where the build rotated several (one engine is the build's, not an item's)."""
    words = len(context.split())
    return {
        "category": category,
        **({"engine": engine} if engine is not None else {}),
        "voice": voice,
        "duration": verdict.get("duration") if verdict else None,
        "asr_error": asr_bucket(verdict, threshold),
        "words": words if words > 1 else len(context),
    }


def _from_build(root: Path, include_failed: bool) -> Iterator[ScoreItem]:
    directory = BuildDirectory(root).require()
    manifest = directory.read_manifest()
    threshold = (manifest.get("validation") or {}).get("max_error")
    include_failed = include_failed or variant_name(manifest) is not None  # a variant's verdicts do not gate its items
    for number, item in directory.iter_numbered_items():
        if not include_failed and item.validation and not item.validation.get("passed", True):
            continue
        directory.check_verdicts(item, f"{directory.items_path}:{number}")  # no clip scored under a verdict on other bytes
        audio = item.audio or {}
        yield ScoreItem(
            id=item.id, subset=item.subset, lang=item.lang, context=item.context, candidates=list(item.candidates), answer=item.answer,
            context_audio=str(directory.root / audio["context"]) if audio.get("context") else None,
            candidate_audio=[str(directory.root / p) for p in audio["candidates"]] if audio.get("candidates") else None,
            facets=item_facets(item, threshold),
        )


def describe_source(source: str, config: str | None = None, revision: str | None = None) -> SourceInfo:
    """The task and version of ``source``: a build's recorded task (older builds: their profile),
    an export's or a Hub dataset's published ``s2sbench/<config>.json``; a Hub ``revision`` (branch,
    tag or commit) is resolved to its commit, which is what is read and recorded."""
    path = Path(source).expanduser()
    if BuildDirectory(path).exists():
        directory = BuildDirectory(path)
        manifest = directory.read_manifest()
        lang = (manifest.get("source") or {}).get("lang", "en")
        profile = task_profile(manifest["task"], str(directory.build_path)) if manifest.get("task") else build_profile(manifest.get("profile"), lang)
        digest = file_sha256(directory.items_path) if directory.items_path.is_file() else None
        return SourceInfo("build", {"build": path.name, "items_sha256": digest}, {profile.code: profile},
                          threshold=(manifest.get("validation") or {}).get("max_error"))
    if path.is_file():
        return SourceInfo("release", {"release": path.name, "sha256": file_sha256(path)})
    return describe_release(source, config, revision)


def _from_release(jsonl: Path, lang: str) -> Iterator[ScoreItem]:
    from s2sbench.builders import BuildContext, get_builder
    from s2sbench.errors import SourceRowError
    from s2sbench.profiles import load_profile

    for entry in get_builder("s2sbench").read(jsonl, BuildContext(lang=lang, profile=load_profile(lang))):
        if isinstance(entry, SourceRowError):
            raise entry
        yield ScoreItem(entry.id, entry.subset, lang, entry.context, entry.candidates, entry.answer, context_audio=entry.source["context_wav"])


def _from_dataset(name: str, config: str | None, split: str, include_failed: bool, audio_cache: Path, revision: str | None,
                  threshold: float | None) -> Iterator[ScoreItem]:
    audio_cache.mkdir(parents=True, exist_ok=True)

    def stored(item_id: str, suffix: str, clip: dict | None) -> str | None:
        if not clip or not clip.get("bytes"):
            return None
        if (problem := length_problem(clip["bytes"])) is not None:
            raise S2SBenchError(f"{name}: {item_id}: {suffix} audio: {problem}")
        path = audio_cache / f"{item_id}-{suffix}.wav"
        if not path.is_file():
            path.write_bytes(clip["bytes"])
        return str(path)

    # Columns checked against the schema before a row is read, as s2s pull does: candidates stored as
    # one string would otherwise be scored as one-character candidates.
    for number, row in dataset_rows(name, config, split, revision, check=check_columns):
        if not include_failed and row.get("passed") is False:
            continue
        for field_name in ("id", "subset", "lang"):  # the id names cached clip files, the subset result files
            if problem := name_problem(row.get(field_name)):
                raise S2SBenchError(f"{name}: row {number}: {field_name}: {problem}")
        candidates = row.get("candidate_audio") or []
        if problem := context_clip_problem(row):
            raise S2SBenchError(f"{name}: row {number}: {problem}")
        verdict = row_context_verdict(row)
        yield ScoreItem(
            id=row["id"], subset=row["subset"], lang=row["lang"], context=row["context"], candidates=list(row["candidates"]), answer=int(row["answer"]),
            context_audio=stored(row["id"], "context", row.get("context_audio")),
            candidate_audio=[stored(row["id"], f"candidate{k}", c) for k, c in enumerate(candidates)] or None,
            facets=facets(row["context"], row.get("category"), row.get("voice"), verdict, threshold, engine=row.get("engine")) if "context_passed" in row else None,
        )


def load_score_items(source: str, include_failed: bool = False, limit: int | None = None, config: str | None = None, split: str = "test",
                     lang: str = "en", audio_cache: Path | None = None, seed: int | None = None, revision: str | None = None,
                     threshold: float | None = None) -> Iterator[ScoreItem]:
    """The items of ``source``, whatever its kind, in a stable order; with ``limit``, a sample of that
    many spread over the subsets (:func:`stratified_sample`)."""
    path = Path(source).expanduser()
    if BuildDirectory(path).exists():
        def items() -> Iterator[ScoreItem]:
            return _from_build(path, include_failed)
    elif path.is_file() and path.suffix == ".jsonl":
        def items() -> Iterator[ScoreItem]:
            return _from_release(path, lang)
    elif path.is_dir() or (source.count("/") == 1 and not path.exists()):
        if path.is_dir():
            check_export_directory(path)

        def items() -> Iterator[ScoreItem]:
            return _from_dataset(str(path) if path.is_dir() else source, config, split, include_failed, audio_cache or Path(".s2s-audio"),
                                 revision, threshold)
    else:
        raise S2SBenchError(f"{source}: not a build directory, an exported dataset directory, a release jsonl, or a Hub dataset id (OWNER/NAME)")
    if limit is None:
        yield from items()
        return
    chosen = stratified_sample(items(), limit, seed)
    yield from (item for item in items() if item.id in chosen)


def quotas(sizes: dict[str, int], limit: int) -> dict[str, int]:
    """``limit`` items shared among subsets in proportion to their sizes (largest remainders first,
    ties by name), every subset getting one before any gets a second when ``limit`` is small."""
    total = sum(sizes.values())
    if limit >= total:
        return dict(sizes)
    if limit < len(sizes):  # too few for one each: the largest subsets get one
        ranked = sorted(sizes, key=lambda subset: (-sizes[subset], subset))[:limit]
        return {subset: int(subset in ranked) for subset in sizes}
    shares = {subset: 1 + (limit - len(sizes)) * (size - 1) / max(total - len(sizes), 1) for subset, size in sizes.items()}
    given = {subset: min(sizes[subset], int(share)) for subset, share in shares.items()}
    order = sorted(sizes, key=lambda subset: (-(shares[subset] - int(shares[subset])), subset))
    while sum(given.values()) < limit:  # the remainders; limit < total, so some subset has room
        subset = next(s for s in order if given[s] < sizes[s])
        given[subset] += 1
        order.remove(subset)
        order.append(subset)
    return given


def stratified_sample(items: Iterator[ScoreItem], limit: int, seed: int | None) -> set[str]:
    """The ids of ``limit`` items over the subsets (:func:`quotas`): in each subset its first items,
    or with ``seed`` the ones of lowest seeded hash, the same for every run with that seed. Holds at
    most ``limit`` candidates per subset."""
    sizes: dict[str, int] = {}
    kept: dict[str, list[tuple[int, str]]] = {}  # subset -> max-heap (negated rank) of the best ``limit``
    for position, item in enumerate(items):
        sizes[item.subset] = sizes.get(item.subset, 0) + 1
        rank = int(hashlib.sha256(f"{seed}:{item.id}".encode()).hexdigest()[:15], 16) if seed is not None else position
        heap = kept.setdefault(item.subset, [])
        if len(heap) < limit:
            heapq.heappush(heap, (-rank, item.id))
        elif -heap[0][0] > rank:
            heapq.heapreplace(heap, (-rank, item.id))
    chosen: set[str] = set()
    for subset, quota in quotas(sizes, limit).items():
        chosen.update(item_id for _, item_id in sorted(kept[subset], reverse=True)[:quota])
    return chosen
