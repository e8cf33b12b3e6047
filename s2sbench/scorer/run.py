"""``s2s score``: stream items through a model adapter into a results directory.

``scores.jsonl`` gets one line per (item, mode, candidate), appended an item at a time, so an
interrupted run resumes from what it wrote. The summary (``summary.json``, ``summary.md`` and an
S2SBench-style ``result_<subset>.jsonl`` per subset) is computed from ``scores.jsonl`` at the end.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import AdapterSpec, Prompt, ScoreItem, load_adapter
from s2sbench.scorer.summary import write_summary

MODES = ("t2t", "s2t")
SCORES_FILE = "scores.jsonl"
RUN_FILE = "run.json"


@dataclass
class ScoreOptions:
    source: str  # a build directory
    output: Path
    model: str
    modes: tuple[str, ...] = MODES
    adapter: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    limit: int | None = None
    include_failed: bool = False  # items whose clips failed validation are skipped by default
    matched_prompts: bool = False


def load_score_items(source: str, include_failed: bool = False, limit: int | None = None) -> Iterator[ScoreItem]:
    """Items of a build directory, audio paths made absolute."""
    directory = BuildDirectory(source).require()
    count = 0
    for item in directory.iter_items():
        if limit is not None and count >= limit:
            return
        if not include_failed and item.validation and not item.validation.get("passed", True):
            continue
        audio = item.audio or {}
        count += 1
        yield ScoreItem(
            id=item.id,
            subset=item.subset,
            lang=item.lang,
            context=item.context,
            candidates=list(item.candidates),
            answer=item.answer,
            context_audio=str(directory.root / audio["context"]) if audio.get("context") else None,
            candidate_audio=[str(directory.root / p) for p in audio["candidates"]] if audio.get("candidates") else None,
        )


def _done(path: Path) -> set[tuple[str, str]]:
    """(item id, mode) pairs already complete in scores.jsonl; a torn last line is cut."""
    if not path.is_file():
        return set()
    with open(path, "rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)
    done = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("last"):
                done.add((record["id"], record["mode"]))
    return done


def score(options: ScoreOptions, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Score every item of ``options.source`` in every mode; returns the summary."""
    unknown = [m for m in options.modes if m not in MODES]
    if unknown:
        raise S2SBenchError(f"--modes: unknown mode(s) {', '.join(unknown)}; known: {', '.join(MODES)}")
    adapter = load_adapter(AdapterSpec(options.model, options.device, options.dtype), options.adapter)
    unsupported = [m for m in options.modes if m not in adapter.modes]
    if unsupported:
        raise S2SBenchError(f"adapter {adapter.identity()['adapter']} cannot score mode(s) {', '.join(unsupported)} (it scores {', '.join(adapter.modes)})")
    output = Path(options.output)
    output.mkdir(parents=True, exist_ok=True)
    run = {"source": options.source, "model": options.model, "modes": list(options.modes), "adapter": adapter.identity(),
           "matched_prompts": options.matched_prompts, "include_failed": options.include_failed, "limit": options.limit}
    previous = json.loads((output / RUN_FILE).read_text()) if (output / RUN_FILE).is_file() else None
    scores_path = output / SCORES_FILE
    if previous is not None and {k: v for k, v in previous.items() if k != "adapter"} != {k: v for k, v in run.items() if k != "adapter"}:
        raise S2SBenchError(f"{output}: holds results of another run ({previous.get('model')} on {previous.get('source')}); choose another -o")
    (output / RUN_FILE).write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n")
    done = _done(scores_path)
    prompts: dict[str, Prompt] = {}
    finished = 0
    descriptor = os.open(scores_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for item in load_score_items(options.source, options.include_failed, options.limit):
            if item.lang not in prompts:
                prompts[item.lang] = Prompt.from_profile(load_profile(item.lang), options.matched_prompts)
            for mode in options.modes:
                if (item.id, mode) in done:
                    continue
                results = adapter.score(item, mode, prompts[item.lang])
                lines = [
                    json.dumps({"id": item.id, "subset": item.subset, "mode": mode, "candidate": k, "answer": item.answer,
                                "loss": r.loss, "n_tokens": r.n_tokens, **({"last": True} if k == len(results) - 1 else {})})
                    for k, r in enumerate(results)
                ]
                os.write(descriptor, ("\n".join(lines) + "\n").encode())  # one write: an item is whole or absent
            finished += 1
            if progress:
                progress(finished)
    finally:
        os.close(descriptor)
    return write_summary(output, options.modes)


def read_scores(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(id, mode) -> {"subset", "answer", "losses", "n_tokens"} from scores.jsonl."""
    grouped: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"losses": {}, "n_tokens": {}})
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            entry = grouped[(record["id"], record["mode"])]
            entry["subset"], entry["answer"] = record["subset"], record["answer"]
            entry["losses"][record["candidate"]] = record["loss"]
            entry["n_tokens"][record["candidate"]] = record["n_tokens"]
    return grouped
