"""Where the scorer reads items from: a build directory, a ``push --to-dir`` export (or any
dataset directory with our columns), a Hub dataset id, or the original S2SBench release files.

Audio embedded in a dataset is written once to ``<results>/.audio/`` so adapters always get paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.items import name_problem
from s2sbench.profiles import LanguageProfile, build_profile
from s2sbench.scorer.adapters import ScoreItem


def _from_build(root: Path, include_failed: bool) -> Iterator[ScoreItem]:
    directory = BuildDirectory(root).require()
    for item in directory.iter_items():
        if not include_failed and item.validation and not item.validation.get("passed", True):
            continue
        audio = item.audio or {}
        yield ScoreItem(
            id=item.id, subset=item.subset, lang=item.lang, context=item.context, candidates=list(item.candidates), answer=item.answer,
            context_audio=str(directory.root / audio["context"]) if audio.get("context") else None,
            candidate_audio=[str(directory.root / p) for p in audio["candidates"]] if audio.get("candidates") else None,
        )


def build_prompt_profile(source: str) -> LanguageProfile | None:
    """The profile a build directory source was made with (its prompts are the build's); None for other sources."""
    directory = BuildDirectory(Path(source).expanduser())
    if not directory.exists():
        return None
    manifest = directory.read_manifest()
    return build_profile(manifest.get("profile"), (manifest.get("source") or {}).get("lang", "en"))


def _from_release(jsonl: Path, lang: str) -> Iterator[ScoreItem]:
    from s2sbench.builders import BuildContext, get_builder
    from s2sbench.errors import SourceRowError
    from s2sbench.profiles import load_profile

    for entry in get_builder("s2sbench").read(jsonl, BuildContext(lang=lang, profile=load_profile(lang))):
        if isinstance(entry, SourceRowError):
            raise entry
        yield ScoreItem(entry.id, entry.subset, lang, entry.context, entry.candidates, entry.answer, context_audio=entry.source["context_wav"])


def _from_dataset(name: str, config: str | None, split: str, include_failed: bool, audio_cache: Path) -> Iterator[ScoreItem]:
    import datasets

    if config is None:
        try:
            configs = datasets.get_dataset_config_names(name)
        except Exception:  # the load below says what is wrong with the source
            configs = []
        if len(configs) > 1:
            raise S2SBenchError(f"{name}: holds {len(configs)} configs; choose one with --config: {', '.join(configs)}")
    # datasets caches a local folder under its name and config alone: a folder exported again (or another
    # folder of the same name) would be read from the old cache. Local folders are read afresh, into the
    # results directory; Hub datasets are cached by revision and keep the shared cache.
    local = {"cache_dir": str(audio_cache.parent / ".datasets-cache"), "download_mode": "force_redownload"} if Path(name).is_dir() else {}
    try:
        rows = datasets.load_dataset(name, config, split=split, **local)
    except Exception as exc:
        raise S2SBenchError(f"{name}: cannot load dataset (config {config}, split {split}): {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    for column in ("context_audio", "candidate_audio"):
        if column in rows.column_names:
            rows = rows.cast_column(column, datasets.Audio(decode=False) if column == "context_audio" else datasets.List(datasets.Audio(decode=False)))
    audio_cache.mkdir(parents=True, exist_ok=True)

    def stored(item_id: str, suffix: str, clip: dict | None) -> str | None:
        if not clip or not clip.get("bytes"):
            return None
        path = audio_cache / f"{item_id}-{suffix}.wav"
        if not path.is_file():
            path.write_bytes(clip["bytes"])
        return str(path)

    for number, row in enumerate(rows):
        if not include_failed and row.get("passed") is False:
            continue
        for field in ("id", "subset", "lang"):  # the id names cached clip files, the subset result files
            if problem := name_problem(row.get(field)):
                raise S2SBenchError(f"{name}: row {number}: {field}: {problem}")
        candidates = row.get("candidate_audio") or []
        yield ScoreItem(
            id=row["id"], subset=row["subset"], lang=row["lang"], context=row["context"], candidates=list(row["candidates"]), answer=int(row["answer"]),
            context_audio=stored(row["id"], "context", row.get("context_audio")),
            candidate_audio=[stored(row["id"], f"candidate{k}", c) for k, c in enumerate(candidates)] or None,
        )


def load_score_items(source: str, include_failed: bool = False, limit: int | None = None, config: str | None = None, split: str = "test",
                     lang: str = "en", audio_cache: Path | None = None) -> Iterator[ScoreItem]:
    """The items of ``source``, whatever its kind, in a stable order."""
    path = Path(source).expanduser()
    if BuildDirectory(path).exists():
        items = _from_build(path, include_failed)
    elif path.is_file() and path.suffix == ".jsonl":
        items = _from_release(path, lang)
    elif path.is_dir() or (source.count("/") == 1 and not path.exists()):
        items = _from_dataset(str(path) if path.is_dir() else source, config, split, include_failed, audio_cache or Path(".s2s-audio"))
    else:
        raise S2SBenchError(f"{source}: not a build directory, an exported dataset directory, a release jsonl, or a Hub dataset id (OWNER/NAME)")
    for count, item in enumerate(items):
        if limit is not None and count >= limit:
            return
        yield item
