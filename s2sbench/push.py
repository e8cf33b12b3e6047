"""``s2s push``: export build directories as a Hub dataset (parquet + card) and upload it.

``export()`` writes, in a staging directory, exactly what is uploaded: one config per subset
(``<config>/<split>-0000i-of-0000N.parquet``, audio embedded as the build's own bytes, never
re-encoded), a provenance record per config (``s2sbench/<config>.json``) and ``README.md``.
``push()`` uploads it in one commit, skipping files the repo already holds byte for byte (so a
re-push makes no commit), and reloads it to verify. The token comes from ``HF_TOKEN`` or the
huggingface_hub login and is never printed or written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s2sbench import __version__
from s2sbench.builddir import BuildDirectory
from s2sbench.builders import builders
from s2sbench.errors import S2SBenchError
from s2sbench.items import Item

PROVENANCE_DIR = "s2sbench"


class PushError(S2SBenchError):
    """The Hub refused the push (authentication, permission, repo id) or verification failed."""


@dataclass
class PushOptions:
    builds: list[Path]
    repo: str | None = None
    to_dir: Path | None = None
    config: str | None = None  # one name for a single subset; default: the subset's name
    split: str = "test"
    include_failed: bool = False
    private: bool = False
    revision: str | None = None
    commit_message: str | None = None
    max_shard_size: int = 500 * 2**20
    license: str | None = None
    verify: bool = True
    layout: str = "hub"  # or "s2sbench": the original release's jsonl + wav folders (to_dir only)


@dataclass
class ConfigExport:
    name: str
    rows: int
    files: list[str] = field(default_factory=list)
    audio_digests: list[tuple[str, str]] = field(default_factory=list)  # (id, sha256 of context clip) sample


@dataclass
class PushResult:
    configs: list[ConfigExport]
    directory: Path | None
    commit: str | None = None  # None when nothing changed
    url: str | None = None


def features(sample_rate: int = 16000, audio: bool = True):
    """The exported columns. With ``audio=False`` the clips are plain ``{bytes, path}`` structs:
    rows are written that way, then cast to ``Audio``, which keeps the bytes and needs no
    torchcodec or FFmpeg (encoding through ``Audio`` would)."""
    from datasets import Audio, Features, List, Value

    clip = Audio(sampling_rate=sample_rate) if audio else {"bytes": Value("binary"), "path": Value("string")}
    return Features(
        {
            "id": Value("string"),
            "subset": Value("string"),
            "lang": Value("string"),
            "context": Value("string"),
            "candidates": List(Value("string")),
            "answer": Value("int32"),
            "context_audio": clip,
            "candidate_audio": List(clip),
            "voice": Value("string"),
            "context_asr": Value("string"),
            "context_error": Value("float32"),
            "candidate_asr": List(Value("string")),
            "candidate_error": List(Value("float32")),
            "passed": Value("bool"),
        }
    )


def _row(item: Item, root: Path) -> dict[str, Any]:
    audio = item.audio or {}
    validation = item.validation or {}

    def clip(relative: str) -> dict[str, Any]:
        return {"bytes": (root / relative).read_bytes(), "path": Path(relative).name}

    candidates = validation.get("candidates") or []
    return {
        "id": item.id,
        "subset": item.subset,
        "lang": item.lang,
        "context": item.context,
        "candidates": item.candidates,
        "answer": item.answer,
        "context_audio": clip(audio["context"]) if audio.get("context") else None,
        "candidate_audio": [clip(p) for p in audio["candidates"]] if audio.get("candidates") else [],
        "voice": (audio.get("voices") or {}).get("context"),
        "context_asr": (validation.get("context") or {}).get("asr"),
        "context_error": (validation.get("context") or {}).get("error"),
        "candidate_asr": [v.get("asr") for v in candidates],
        "candidate_error": [v.get("error") for v in candidates],
        "passed": validation.get("passed", True) if validation else True,
    }


def _kept(item: Item, include_failed: bool) -> bool:
    return include_failed or not item.validation or bool(item.validation.get("passed", True))


@dataclass
class SubsetTally:
    """What the card and provenance need of one subset's items, gathered in one streamed pass."""

    lang: str | None = None
    items: int = 0  # kept (exported) items
    failed: int = 0  # items left out for failing validation
    clips: int = 0
    k: set[int] = field(default_factory=set)
    clips_checked: int = 0
    clips_passed: int = 0
    first: list[Item] = field(default_factory=list)  # the first few kept items: example row, digests

    def add(self, item: Item, kept: bool) -> None:
        if not kept:
            self.failed += 1
            return
        self.lang = self.lang or item.lang
        self.items += 1
        self.clips += 1 + len((item.audio or {}).get("candidates") or [])
        self.k.add(len(item.candidates))
        validation = item.validation or {}
        verdicts = [v for v in [validation.get("context"), *(validation.get("candidates") or [])] if v]
        self.clips_checked += len(verdicts)
        self.clips_passed += sum(bool(v.get("passed")) for v in verdicts)
        if len(self.first) < 5:
            self.first.append(item)


def tally_subsets(directory: BuildDirectory, include_failed: bool) -> dict[str, SubsetTally]:
    tallies: dict[str, SubsetTally] = {}
    for item in directory.iter_items():
        tallies.setdefault(item.subset, SubsetTally()).add(item, _kept(item, include_failed))
    return tallies


def _provenance(directory: BuildDirectory, config: str, subset: str, tally: SubsetTally, speak: str) -> dict[str, Any]:
    manifest = directory.read_manifest()
    source = manifest.get("source", {})
    fmt = source.get("format") or ("items" if str(source.get("spec", "")).startswith("sample:") else "custom")
    builder = builders().get(fmt)
    validation = manifest.get("validation")
    return {
        "config": config,
        "subset": subset,
        "lang": tally.lang or source.get("lang"),
        "items": tally.items,
        "clips": tally.clips,
        "k": sorted(tally.k),
        "speak": speak,
        "failed_excluded": tally.failed,
        "source": {"spec": source.get("spec"), "format": fmt, "license": builder.license if builder else "other",
                   "description": builder.description if builder else "custom source"},
        "tts": manifest.get("tts", {}),
        "audio": manifest.get("audio", {}),
        "validation": ({**validation, "clips": tally.clips_checked, "passed": tally.clips_passed} if validation else None),
        "s2sbench_version": manifest.get("versions", {}).get("s2sbench", __version__),
    }


def _write_shards(rows: Callable[[], Iterator[dict]], sample_rate: int, directory: Path, config: str, split: str, max_shard_size: int) -> list[str]:
    import datasets

    dataset = datasets.Dataset.from_generator(rows, features=features(sample_rate, audio=False), cache_dir=str(directory / ".cache"))
    dataset = dataset.cast(features(sample_rate))  # a metadata change: the bytes stay as they are
    shards = max(1, math.ceil(dataset.data.nbytes / max_shard_size))
    names = []
    for index in range(shards):
        name = f"{config}/{split}-{index:05d}-of-{shards:05d}.parquet"
        (directory / config).mkdir(parents=True, exist_ok=True)
        dataset.shard(shards, index, contiguous=True).to_parquet(str(directory / name))
        names.append(name)
    del dataset
    shutil.rmtree(directory / ".cache", ignore_errors=True)
    return names


def config_names(options: PushOptions) -> dict[tuple[str, str], str]:
    """(build, subset) -> config name: the subset, ``--config`` for a single subset, and
    ``<subset>-<lang>`` where two builds hold the same subset (the en and zh samples both have
    ``story``)."""
    pairs = []
    for build_path in options.builds:
        directory = BuildDirectory(build_path).require()
        lang = (directory.read_manifest().get("source") or {}).get("lang", "xx")
        pairs += [(str(build_path), subset, lang) for subset in sorted({item.subset for item in directory.iter_items()})]
    if options.config:
        if len(pairs) > 1:
            raise S2SBenchError(f"--config names one config, but the builds hold {len(pairs)} subsets")
        return {(pairs[0][0], pairs[0][1]): options.config}
    counts: dict[str, int] = {}
    for _, subset, _ in pairs:
        counts[subset] = counts.get(subset, 0) + 1
    return {(build, subset): subset if counts[subset] == 1 else f"{subset}-{lang}" for build, subset, lang in pairs}


def export(options: PushOptions, directory: Path, existing_records: dict[str, dict] | None = None, repo_id: str = "local/export") -> list[ConfigExport]:
    """Write shards, provenance and README.md for ``options.builds`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    records = dict(existing_records or {})
    exports: list[ConfigExport] = []
    example: dict[str, Any] | None = None
    names = config_names(options)
    for build_path in options.builds:
        build_dir = BuildDirectory(build_path).require()
        manifest = build_dir.read_manifest()
        tallies = tally_subsets(build_dir, options.include_failed)
        for subset, tally in sorted(tallies.items()):
            config = names[(str(build_path), subset)]
            if not tally.items:
                raise S2SBenchError(f"{build_path}: subset {subset}: no item passed validation (use --include-failed)")

            def rows(subset=subset, root=build_dir.root) -> Iterator[dict]:
                for item in BuildDirectory(root).iter_items():
                    if item.subset == subset and _kept(item, options.include_failed):
                        yield _row(item, root)

            sample_rate = (manifest.get("audio") or {}).get("sample_rate", 16000)
            files = _write_shards(rows, sample_rate, directory, config, options.split, options.max_shard_size)
            record = _provenance(build_dir, config, subset, tally, manifest.get("speak", "all"))
            provenance = f"{PROVENANCE_DIR}/{config}.json"
            (directory / PROVENANCE_DIR).mkdir(exist_ok=True)
            (directory / provenance).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            records[config] = record
            digests = [(i.id, hashlib.sha256((build_dir.root / i.audio["context"]).read_bytes()).hexdigest()) for i in tally.first if i.audio]
            exports.append(ConfigExport(config, tally.items, files + [provenance], digests))
            if example is None:
                first = tally.first[0]
                example = {"config": config, "row": {"id": first.id, "subset": first.subset, "lang": first.lang, "context": first.context,
                                                      "candidates": first.candidates, "answer": first.answer,
                                                      "context_audio": {"path": Path(first.audio["context"]).name} if first.audio else None}}
    from s2sbench.cards import render_card

    (directory / "README.md").write_text(render_card(repo_id, list(records.values()), options.split, example or {}, options.license), encoding="utf-8")
    return exports


# The original S2SBench release names, by subset (jsonl path, wav folder).
RELEASE_NAMES = {
    "sStoryCloze": ("S2S/StoryCloze/sStory_s2t.jsonl", "S2S/StoryCloze/s-story-firstspeech"),
    "zh-sStoryCloze": ("S2S/StoryCloze/zh_story.jsonl", "S2S/StoryCloze/zh_story"),
    "sCMMLU": ("S2S/cmmlu/cmmlu_rewrite_4.jsonl", "S2S/cmmlu/cmmlu_rewrite"),
}
LETTERS = "ABCD"


def export_release_layout(options: PushOptions, directory: Path) -> list[ConfigExport]:
    """The original release layout: story pairs (uttid/first/last, plausible row first, uttids
    consecutive) and 4-way questions (uttid/first/A-D/answer), each row's context in ``{uttid}.wav``."""
    exports = []
    for build_path in options.builds:
        build_dir = BuildDirectory(build_path).require()
        for subset in sorted({item.subset for item in build_dir.iter_items()}):
            jsonl_name, wav_name = RELEASE_NAMES.get(subset, (f"S2S/{subset}.jsonl", f"S2S/{subset}"))
            (directory / wav_name).mkdir(parents=True, exist_ok=True)
            uttid, rows = 1000, 0
            with open(directory / jsonl_name, "w", encoding="utf-8") as handle:
                for item in build_dir.iter_items():
                    if item.subset != subset or not _kept(item, options.include_failed):
                        continue
                    wav = (build_dir.root / item.audio["context"]).read_bytes() if item.audio else None
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
                            (directory / wav_name / f"{record['uttid']}.wav").write_bytes(wav)
                    uttid += len(records)
                    rows += 1
            exports.append(ConfigExport(subset, rows, [jsonl_name, wav_name]))
    return exports


def configure_endpoint() -> None:
    """Xet uploads only work with the real Hub: disable them for any other endpoint.

    Must run before huggingface_hub is imported (it reads the variable at import).
    """
    endpoint = os.environ.get("HF_ENDPOINT", "")
    if endpoint and "huggingface.co" not in endpoint:
        os.environ.setdefault("HF_HUB_DISABLE_XET", "1")


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _hub_error(exc: Exception, repo: str) -> PushError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        return PushError(f"authentication failed for {repo}: set HF_TOKEN or run `hf auth login` with a write token")
    if status == 403:
        return PushError(f"no write access to {repo}: the token's user cannot write to this namespace")
    if status == 404:
        return PushError(f"{repo}: repository or revision not found (or not visible with this token)")
    return PushError(f"push to {repo} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def push(options: PushOptions) -> PushResult:
    """Export to ``options.to_dir``, or upload to ``options.repo`` in one commit."""
    if options.layout not in ("hub", "s2sbench"):
        raise S2SBenchError(f"--layout must be hub or s2sbench, not {options.layout!r}")
    if options.to_dir is not None:
        target = Path(options.to_dir)
        if options.layout == "s2sbench":
            return PushResult(export_release_layout(options, target), target)
        return PushResult(export(options, target, repo_id=options.repo or target.name), target)
    if not options.repo:
        raise S2SBenchError("give --repo OWNER/NAME to upload, or --to-dir DIR to export")
    if options.layout != "hub":
        raise S2SBenchError("--layout s2sbench writes files for S2SBench's scripts: use it with --to-dir")
    configure_endpoint()
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError
    from huggingface_hub.utils import validate_repo_id

    repo = options.repo
    try:
        validate_repo_id(repo)
        if repo.count("/") != 1:
            raise HFValidationError("expected OWNER/NAME")
    except HFValidationError as exc:
        raise PushError(f"invalid repo id {repo!r}: {str(exc).splitlines()[0]}") from None
    api = HfApi()
    try:
        url = str(api.create_repo(repo, repo_type="dataset", private=options.private, exist_ok=True))
        if options.revision:
            api.create_branch(repo, branch=options.revision, repo_type="dataset", exist_ok=True)
        remote = set(api.list_repo_files(repo, repo_type="dataset", revision=options.revision))
    except HfHubHTTPError as exc:
        raise _hub_error(exc, repo) from None
    with tempfile.TemporaryDirectory(prefix="s2s-push-") as scratch:
        staging = Path(scratch)
        existing = {}
        for name in sorted(remote):
            if name.startswith(f"{PROVENANCE_DIR}/") and name.endswith(".json"):
                path = hf_hub_download(repo, name, repo_type="dataset", revision=options.revision, cache_dir=str(staging / ".hub"))
                existing[Path(name).stem] = json.loads(Path(path).read_text(encoding="utf-8"))
        shutil.rmtree(staging / ".hub", ignore_errors=True)
        exports = export(options, staging / "export", existing, repo_id=repo)
        local = {p.relative_to(staging / "export").as_posix(): p for p in (staging / "export").rglob("*") if p.is_file()}
        info = {entry.path: entry for entry in api.get_paths_info(repo, sorted(set(local) & remote), repo_type="dataset", revision=options.revision)} if set(local) & remote else {}
        operations: list[Any] = []
        for name, path in sorted(local.items()):
            data = path.read_bytes()
            entry = info.get(name)
            if entry is not None:
                lfs = getattr(entry, "lfs", None)
                same = (lfs.sha256 == hashlib.sha256(data).hexdigest()) if lfs else (entry.blob_id == _git_blob_sha1(data))
                if same:
                    continue
            operations.append(CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)))
        pushed = {e.name for e in exports}
        stale = [name for name in remote if name.split("/")[0] in pushed and name.endswith(".parquet") and name not in local]
        operations += [CommitOperationDelete(path_in_repo=name) for name in stale]
        commit = None
        if operations:
            message = options.commit_message or f"s2s push: {', '.join(sorted(pushed))}"
            try:
                commit = api.create_commit(repo, operations, commit_message=message, repo_type="dataset", revision=options.revision).oid
            except HfHubHTTPError as exc:
                raise _hub_error(exc, repo) from None
    if options.verify:
        verify_push(repo, exports, options)
    return PushResult(exports, None, commit, url)


def verify_push(repo: str, exports: list[ConfigExport], options: PushOptions) -> None:
    """Reload every pushed config from the Hub: row counts and sampled audio bytes must match."""
    import datasets

    if "huggingface.co" not in os.environ.get("HF_ENDPOINT", "huggingface.co"):
        datasets.config.USE_PARQUET_EXPORT = False  # the viewer's parquet export exists only on the real Hub
    with tempfile.TemporaryDirectory(prefix="s2s-verify-") as cache:
        for config in exports:
            try:
                loaded = datasets.load_dataset(repo, config.name, split=options.split, revision=options.revision, cache_dir=cache)
            except Exception as exc:
                raise PushError(f"verify: cannot load {repo} config {config.name}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
            if len(loaded) != config.rows:
                raise PushError(f"verify: {repo} config {config.name} has {len(loaded)} rows, pushed {config.rows}")
            raw = loaded.cast_column("context_audio", datasets.Audio(decode=False))
            by_id = {row["id"]: row["context_audio"]["bytes"] for row in raw.select(range(min(len(raw), 50)))}
            for item_id, digest in config.audio_digests:
                if item_id in by_id and hashlib.sha256(by_id[item_id]).hexdigest() != digest:
                    raise PushError(f"verify: audio of {item_id} in {repo}/{config.name} differs from the build")
