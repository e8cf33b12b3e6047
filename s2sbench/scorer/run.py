"""``s2s score``: stream items through a model adapter into a results directory.

``scores.jsonl`` gets one line per (item, mode, candidate), appended an item at a time, so an
interrupted run resumes from what it wrote. The summary (``summary.json``, ``summary.md`` and an
S2SBench-style ``result_<subset>.jsonl`` per subset) is computed from ``scores.jsonl`` at the end.
Items are read a window at a time, sorted by context length, and scored ``batch_size`` at a time
through the adapter's one call, :meth:`~s2sbench.scorer.adapters.Adapter.loglikelihood`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any

from s2sbench._io import DirectoryLock, append_json, append_line
from s2sbench.builddir import BuildDirectory
from s2sbench.devices import check_device
from s2sbench.errors import S2SBenchError
from s2sbench.profiles import LanguageProfile, load_profile
from s2sbench.progress import SILENT, Progress
from s2sbench.scorer.adapters import (
    Adapter,
    AdapterSpec,
    Prompt,
    ScoreItem,
    ScoreRequest,
    adapter_modes,
    adapter_options,
    adapter_prompt_styles,
    load_adapter,
    resolve_adapter,
)
from s2sbench.scorer.adapters.chat import check_prompt_style
from s2sbench.scorer.adapters.moshi import CODEBOOK_CHOICES
from s2sbench.scorer.adapters.tokens import BOS_POLICIES
from s2sbench.scorer.inputs import SourceInfo, describe_source, load_score_items
from s2sbench.scorer.model_ref import ModelRef, resolve_model
from s2sbench.scorer.provenance import SCORE_PACKAGES, prompt_texts, weights_identity
from s2sbench.scorer.results import (
    RECORDED_ONLY,
    RUN_FILE,
    SAMPLES_FILE,
    SCORES_FILE,
    keep_samples_of,
    read_run,
    run_tag,
    same_run,
    sample_record,
    scored_pairs,
    scores_file,
    write_run,
)
from s2sbench.scorer.summary import write_summary
from s2sbench.task import prompt_differences
from s2sbench.versions import package_versions

MODES = ("t2t", "s2t", "s2s")  # s2s: spoken candidates too, for adapters that hear them (moshi, the cascade)
DEFAULT_MODES = ("t2t", "s2t")
MERGE_WAIT_SECONDS = 3600.0  # how long shard 0 waits for the other shards before merging
SHARD_NAME = re.compile(r"scores\.shard-\d+-of-(\d+)\.jsonl")
AUDIO_CACHE = ".audio"  # a dataset source's clips, written once as files for the adapters
SORT_WINDOW = 512  # items read ahead and sorted by context length, so that batches are of similar lengths


def shard_from_environment() -> tuple[int, int]:
    """(index, count) from torchrun/accelerate (RANK, WORLD_SIZE) or SLURM; else (0, 1)."""
    for rank, size in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank in os.environ and size in os.environ:
            return int(os.environ[rank]), int(os.environ[size])
    return 0, 1


def parse_shard(text: str) -> tuple[int, int]:
    """``--shard K/N`` (the K-th of N shards, counted from 1) as the (index from 0, count) pair."""
    number, _, count = text.partition("/")
    if not (number.strip().isdigit() and count.strip().isdigit()) or not 1 <= int(number) <= int(count):
        raise S2SBenchError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 1/4 for the first of four shards")
    return int(number) - 1, int(count)


def _done_marker(output: Path, shard: tuple[int, int]) -> Path:
    return output / f".{scores_file(shard)}.done"


@dataclass
class ScoreOptions:
    source: str  # a build directory, an exported dataset directory, a Hub id, or a release jsonl
    output: Path
    model: str
    modes: tuple[str, ...] = DEFAULT_MODES
    adapter: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    limit: int | None = None
    include_failed: bool = False  # items whose clips failed validation are skipped by default
    matched_prompts: bool = False
    config: str | None = None  # for dataset sources
    split: str = "test"
    lang: str = "en"  # for release jsonl sources, which do not say their language
    shard: tuple[int, int] | None = None  # (index, count); default: from torchrun/SLURM, else (0, 1)
    batch_size: int = 8  # items per forward, for adapters that batch across items
    seed: int | None = None  # with limit: a seeded sample in each subset, not its first items
    log_samples: bool = False  # samples.jsonl: per item and mode, the texts scored and their scores
    bos: str = "auto"  # what starts a scored sequence: the tokenizer's own tokens, always BOS, never (tokens.py)
    trust_remote_code: bool = False  # run a checkpoint's own modelling code (remote-code families)
    prompt_style: str = "raw"  # raw: S2SBench's wording; chat: the context as the user's turn of the model's chat template (adapters/chat.py)
    s2s_codebooks: str = "semantic"  # which codebooks of a spoken candidate's codec codes s2s scores (moshi): codebook 0, or all
    revision: str | None = None  # of a Hub dataset: a branch, tag or commit (resolved to the commit, recorded)
    profile: str | None = None  # a profile file whose prompts replace the source's published task (a warning names what differs)

    def items(self, info: SourceInfo | None = None):
        """The source's items; with ``info`` (:func:`describe_source`), at the commit and config it resolved."""
        config, revision = (info.config or self.config, info.identity.get("revision", self.revision)) if info else (self.config, self.revision)
        return load_score_items(self.source, self.include_failed, self.limit, config, self.split, self.lang, Path(self.output) / AUDIO_CACHE, self.seed,
                                revision, info.threshold if info else None)


def score(options: ScoreOptions, progress: Progress = SILENT, notify: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Score every item of ``options.source`` in every mode; returns the summary. ``progress`` is
    started with this shard's items (every one read, so a bad one fails before the model loads) and
    advanced as they are scored; ``notify`` gets the warnings a user must read (prompts that differ
    from the source's published task)."""
    check_device(options.device)
    unknown = [m for m in options.modes if m not in MODES]
    if unknown:
        raise S2SBenchError(f"--modes: unknown mode(s) {', '.join(unknown)}; known: {', '.join(MODES)}")
    if not options.modes or len(set(options.modes)) != len(options.modes):
        raise S2SBenchError(f"--modes {','.join(options.modes)!r}: give each mode once, e.g. --modes t2t,s2t")
    shard = options.shard or shard_from_environment()
    if not 0 <= shard[0] < shard[1]:
        raise S2SBenchError(f"shard {shard[0] + 1}/{shard[1]}: shards count from 1 to {shard[1]}")
    output = Path(options.output)
    made = not output.exists()  # before the items are read: a dataset's clips are cached in it
    lock = f".lock-{scores_file(shard)}"
    try:
        return _score_locked(output, shard, options, progress, notify, lock)
    except Exception:  # refused (a model that does not load, modes it lacks): a results directory it made holds nothing
        if made and output.is_dir():
            _remove_if_unscored(output, lock)
        raise


def _score_locked(output: Path, shard: tuple[int, int], options: ScoreOptions, progress: Progress, notify: Callable[[str], None],
                  lock: str) -> dict[str, Any]:
    info = describe_source(options.source, options.config, options.revision)  # the source and its task checked before minutes of loading
    total = sum(1 for position, _ in enumerate(options.items(info)) if position % shard[1] == shard[0])  # every item read: a bad one fails in seconds
    source = BuildDirectory(Path(options.source).expanduser())
    # A build is held for reading (shared with other readers), so no build or validation rewrites it meanwhile;
    # taken first, so a refusal writes nothing. Shards of one run share the results directory, each writing
    # its own scores file: one process per file.
    with source.reading() if source.exists() else contextlib.nullcontext():
        chosen = choose_adapter(options)  # what --model names, and the adapter, before anything is written
        output.mkdir(parents=True, exist_ok=True)
        with DirectoryLock(output, "results directory" if shard[1] == 1 else f"shard {shard[0] + 1}/{shard[1]}", lock):
            return _score_into(output, shard, options, info, total, progress, notify, chosen)


def _remove_if_unscored(output: Path, lock: str) -> None:
    """Remove ``output`` (made by this run) when it holds only this run's lock and clip cache: no score
    to resume from, and no other shard's files."""
    if {entry.name for entry in output.iterdir()} <= {lock, AUDIO_CACHE}:
        shutil.rmtree(output, ignore_errors=True)


def task_prompts(options: ScoreOptions, info: SourceInfo, notify: Callable[[str], None]) -> dict[str, LanguageProfile]:
    """lang -> the profile whose prompts score it: the source's published task; ``--profile`` over it,
    each difference said; the bundled profile for a language the source publishes no task for."""
    if options.profile is None:
        if info.kind in ("export", "hub") and not info.profiles:
            notify(f"{options.source}: publishes no task (not made by s2s push): prompts from the bundled profile of each language")
        return dict(info.profiles)
    given = load_profile(options.profile)
    for lang, published in info.profiles.items():
        if differences := prompt_differences(published, given):
            notify(f"--profile {Path(options.profile).name}: prompts differ from the task {options.source} publishes for {lang}: {'; '.join(differences)}")
    return {lang: given for lang in {*info.profiles, given.code}}


def choose_adapter(options: ScoreOptions) -> tuple[AdapterSpec, str, ModelRef]:
    """The model's spec, the adapter that scores it and what ``--model`` names, all checked before
    the results directory is made or the model loaded: the reference resolved (a missing path, an
    unreadable config, a Hub name that cannot be had are one line), the adapter's prompt styles,
    options and modes."""
    reference = resolve_model(options.model)
    if options.bos not in BOS_POLICIES:
        raise S2SBenchError(f"--bos must be one of {', '.join(BOS_POLICIES)}, not {options.bos!r}")
    if options.s2s_codebooks not in CODEBOOK_CHOICES:
        raise S2SBenchError(f"--s2s-codebooks must be one of {', '.join(CODEBOOK_CHOICES)}, not {options.s2s_codebooks!r}")
    spec = AdapterSpec(reference.text, options.device, options.dtype, {"bos": options.bos, "s2s_codebooks": options.s2s_codebooks,
                                                                            "trust_remote_code": options.trust_remote_code})
    check_prompt_style(options.prompt_style)
    chosen = resolve_adapter(spec, options.adapter, reference)
    if options.prompt_style not in adapter_prompt_styles(chosen):  # before minutes of loading
        raise S2SBenchError(f"adapter {chosen} scores only --prompt-style {', '.join(adapter_prompt_styles(chosen))}")
    takes_codebooks = "s2s_codebooks" in adapter_options(chosen)
    if options.s2s_codebooks != "semantic" and not takes_codebooks:
        raise S2SBenchError(f"--s2s-codebooks applies to adapters that score codec codes (moshi), not to {chosen}")
    known = adapter_modes(chosen)
    if known is not None and [m for m in options.modes if m not in known]:  # before minutes of loading
        raise S2SBenchError(f"adapter {chosen} cannot score mode(s) {', '.join(m for m in options.modes if m not in known)} "
                            f"(it scores {', '.join(known)}): pass --modes {','.join(m for m in options.modes if m in known) or known[0]}")
    return spec, chosen, reference


def _score_into(output: Path, shard: tuple[int, int], options: ScoreOptions, info: SourceInfo, total: int, progress: Progress,
                notify: Callable[[str], None], chosen: tuple[AdapterSpec, str, ModelRef]) -> dict[str, Any]:
    spec, name, reference = chosen
    takes_codebooks = "s2s_codebooks" in adapter_options(name)
    published = task_prompts(options, info, notify)
    adapter = _load_checked_adapter(spec, name, reference, options)
    run = _run_record(options, info, adapter, reference, takes_codebooks)
    previous = read_run(output)
    scores_path = output / scores_file(shard)
    _check_same_run(output, previous, run)
    known_prompts = {lang: Prompt.from_profile(profile, options.matched_prompts, options.prompt_style) for lang, profile in published.items()}
    tag = run_tag(run, run["adapter"], prompt_texts(known_prompts))
    done = scored_pairs(scores_path, tag, untagged_ok=previous is not None)  # before run.json: a refused run leaves the directory as it was
    write_run(output, run)
    if options.log_samples:
        keep_samples_of(output / SAMPLES_FILE, done)
    scores_path.touch()  # there, even empty, once the run has started
    progress.start(total)
    prompts = _score_shard(output, scores_path, shard, options, info, adapter, published, done, tag, progress)
    if prompts:
        run["prompts"] = prompt_texts(prompts)
        write_run(output, run)
    return _finish_shard(output, shard, options, notify)


def _load_checked_adapter(spec: AdapterSpec, name: str, reference: ModelRef, options: ScoreOptions) -> Any:
    """The loaded adapter, refused before any item when it cannot take the prompt style or a mode."""
    adapter = load_adapter(replace(spec, model=reference.source), name)
    if options.prompt_style != "raw":
        adapter.check_prompt_style(options.prompt_style)  # the model's chat template, before any item
    unsupported = [m for m in options.modes if m not in adapter.modes]
    if unsupported:
        raise S2SBenchError(f"adapter {adapter.identity()['adapter']} cannot score mode(s) {', '.join(unsupported)} (it scores {', '.join(adapter.modes)})")
    return adapter


def _run_record(options: ScoreOptions, info: SourceInfo, adapter: Any, reference: ModelRef, takes_codebooks: bool) -> dict[str, Any]:
    """What run.json records of this run: what makes it the same run when resumed, and what it read."""
    run = {"source": options.source, "config": options.config, "split": options.split, "dataset": info.identity,
           "model": options.model, "modes": list(options.modes),
           "adapter": adapter.identity(), "matched_prompts": options.matched_prompts, "include_failed": options.include_failed, "limit": options.limit,
           "seed": options.seed, "bos": options.bos, "weights": weights_identity(options.model, reference), "versions": package_versions(SCORE_PACKAGES),
           "batch_size": options.batch_size}
    if options.prompt_style != "raw":  # another style is another run; recorded only then, so older runs still resume
        run["prompt_style"] = options.prompt_style
    if takes_codebooks:  # other codebooks are another run; only where it applies, so older runs still resume
        run["s2s_codebooks"] = options.s2s_codebooks
    return run


def _check_same_run(output: Path, previous: dict[str, Any] | None, run: dict[str, Any]) -> None:
    """Refuse to resume into ``output`` when it holds another run's results."""
    if previous is not None and "dataset" not in previous:  # a run from before datasets were recorded resumes as it was
        run.pop("dataset")
    if previous is not None and same_run(previous) != same_run(run):
        changed = sorted(key for key in {**previous, **run} if key not in RECORDED_ONLY and previous.get(key) != run.get(key))
        raise S2SBenchError(f"{output}: holds results of another run ({previous.get('model')} on {previous.get('source')}; "
                            f"differs in {', '.join(changed)}); choose another -o")


def _score_shard(output: Path, scores_path: Path, shard: tuple[int, int], options: ScoreOptions, info: SourceInfo, adapter: Any,
                 published: dict[str, LanguageProfile], done: set[tuple[str, str]], tag: str, progress: Progress) -> dict[str, Prompt]:
    """Score this shard's items not yet in ``done``, a batch at a time, appending each item's lines;
    returns the prompts used, by language."""
    prompts: dict[str, Prompt] = {}
    finished = 0
    mine = (item for position, item in enumerate(options.items(info)) if position % shard[1] == shard[0])
    for batch in _batches(_sorted_by_length(mine), options.batch_size):
        for item in batch:
            if item.lang not in prompts:
                profile = published.get(item.lang) or load_profile(item.lang)
                prompts[item.lang] = Prompt.from_profile(profile, options.matched_prompts, options.prompt_style)
        for mode in options.modes:
            todo = [item for item in batch if (item.id, mode) not in done]
            for item, results in zip(todo, _loglikelihood(adapter, [ScoreRequest(item, mode, prompts[item.lang]) for item in todo]), strict=True):
                lines = [
                    json.dumps({"id": item.id, "subset": item.subset, "mode": mode, "candidate": k, "answer": item.answer, "run": tag,
                                "loss": r.loss, "n_tokens": r.n_tokens, "logprob": r.summed, "n_bytes": len(item.candidates[k].encode("utf-8")),
                                **({"facets": item.facets} if k == 0 and item.facets else {}), **({"last": True} if k == len(results) - 1 else {})})
                    for k, r in enumerate(results)
                ]
                if options.log_samples:  # before the scores: a kill between the two leaves a sample that the re-run replaces
                    append_json(output / SAMPLES_FILE, sample_record(adapter, item, mode, prompts[item.lang], results))
                append_line(scores_path, "\n".join(lines))  # one write: an item is whole or absent (a full disk: none of it)
        finished += len(batch)
        progress.advance(finished)
    return prompts


def _finish_shard(output: Path, shard: tuple[int, int], options: ScoreOptions, notify: Callable[[str], None]) -> dict[str, Any]:
    """Mark this shard done; the first shard waits for the others and writes the summary."""
    _done_marker(output, shard).touch()
    if shard[0] != 0:
        return {}
    if not all(_done_marker(output, (index, shard[1])).is_file() for index in range(shard[1])):
        notify(f"shard 1/{shard[1]} is scored; waiting for the other shards to finish to write the summary "
               f"(up to {MERGE_WAIT_SECONDS / 60:.0f} min; stop it and run `s2s score --merge -o {output}` later if they run elsewhere)")
    _wait_for_shards(output, shard[1])
    return write_summary(output, options.modes)


def _sorted_by_length(items: Iterator[ScoreItem], window: int = SORT_WINDOW) -> Iterator[ScoreItem]:
    """``items`` a window at a time, each window sorted by context length (characters; the spoken
    context's length follows it), so that a batch holds contexts of similar length and little of
    its forward is padding. The window does not depend on the batch size: the order, and so a
    resumed run's scores file, is the same for every batch size."""
    window_items = list(islice(items, window))
    while window_items:
        yield from sorted(window_items, key=lambda item: len(item.context))
        window_items = list(islice(items, window))


def _batches(items: Iterator[ScoreItem], size: int) -> Iterator[list[ScoreItem]]:
    batch: list[ScoreItem] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _loglikelihood(adapter: Adapter, requests: list[ScoreRequest]) -> list[list]:
    """``adapter.loglikelihood(requests)``, halving the batch on GPU out-of-memory until one request is left."""
    if not requests:
        return []
    import torch

    try:
        return adapter.loglikelihood(requests)
    except torch.OutOfMemoryError:
        if len(requests) == 1:
            raise
        torch.cuda.empty_cache()
        half = len(requests) // 2
        return _loglikelihood(adapter, requests[:half]) + _loglikelihood(adapter, requests[half:])


def _wait_for_shards(output: Path, count: int, timeout: float = MERGE_WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not all(_done_marker(output, (i, count)).is_file() for i in range(count)):
        if time.monotonic() > deadline:
            raise S2SBenchError(f"{output}: shards still running after {timeout:.0f} s; merge later with `s2s score --merge`")
        time.sleep(1.0)


def merge(output: Path, allow_partial: bool = False) -> dict[str, Any]:
    """Write the summary from the shard files in ``output``; every shard must have finished unless
    ``allow_partial`` (a summary of some shards is a summary of other items than the run's)."""
    output = Path(output)
    run = read_run(output)
    if run is None:
        raise S2SBenchError(f"{output}: not a results directory (no {RUN_FILE})")
    modes = run.get("modes")
    if not isinstance(modes, list) or not modes or any(mode not in MODES for mode in modes):  # an edited run.json: say so, write nothing
        raise S2SBenchError(f"{output / RUN_FILE}: modes: expected a list of {', '.join(MODES)}, not {json.dumps(modes)[:80]}")
    counts = {int(match[1]) for path in output.glob("scores.shard-*-of-*.jsonl") if (match := SHARD_NAME.fullmatch(path.name))}
    if len(counts) > 1:
        raise S2SBenchError(f"{output}: holds shards of runs split {' and '.join(map(str, sorted(counts)))} ways; keep one split")
    if counts:
        count = counts.pop()
        missing = [f"{index + 1}/{count}" for index in range(count) if not _done_marker(output, (index, count)).is_file()]
        if missing and not allow_partial:
            raise S2SBenchError(f"{output}: shard(s) {', '.join(missing)} missing or unfinished; run them, or merge what is there with --allow-partial")
    elif not (output / SCORES_FILE).is_file():
        raise S2SBenchError(f"{output}: no scores to merge")
    with DirectoryLock(output, "results directory"):
        return write_summary(output, tuple(run["modes"]))
