"""The files of a results directory, read and written here only.

- ``run.json``: what the run is (:data:`RECORDED_ONLY` keys describe it without defining it).
- ``scores.jsonl`` (or ``scores.shard-K-of-N.jsonl``, K counted from 1): one line per item, mode and
  candidate, an item's lines appended in one write with the last one marked ``"last"``.
- ``samples.jsonl`` (``--log-samples``): per item and mode, the texts scored and their scores.

Summaries (:mod:`.summary`) and reports (:mod:`.compare`) read scores through :func:`read_scores`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from s2sbench._io import parse_json, read_json_object, repair_tail, write_atomic, write_lines_atomic
from s2sbench.errors import S2SBenchError
from s2sbench.items import name_problem
from s2sbench.scorer.adapters import Prompt, ScoreItem

SCORES_FILE = "scores.jsonl"
SAMPLES_FILE = "samples.jsonl"
RUN_FILE = "run.json"
# run.json keys that describe a run without defining it: a resumed run may differ in them (a newer
# package, the adapter's device) and still add to the same results. Other weights may not.
RECORDED_ONLY = ("adapter", "versions", "prompts", "batch_size")


def run_tag(run: dict[str, Any], adapter: dict[str, Any], prompts: dict[str, Any]) -> str:
    """What every score line names its run by: a digest of what makes its numbers (the weights by their
    digest or Hub revision, the adapter and dtype, the start-of-sequence and prompt conventions, the
    prompts), not of where the items came from, so a build, its export and its Hub copy score to the
    same lines. A line of another run in a results directory is refused, run.json or not."""
    weights = {key: value for key, value in (run.get("weights") or {}).items() if key != "local"}  # the digest names the files, not their folder
    defining = {"weights": weights, "adapter": {key: value for key, value in adapter.items() if key != "device"}, "prompts": prompts,
                **{key: run.get(key) for key in ("model", "bos", "matched_prompts", "prompt_style", "s2s_codebooks")}}
    return hashlib.sha256(json.dumps(defining, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


def read_run(output: Path) -> dict[str, Any] | None:
    """The run.json of a results directory, or None when it has none."""
    path = Path(output) / RUN_FILE
    return read_json_object(path) if path.is_file() else None


def write_run(output: Path, run: dict[str, Any]) -> None:
    write_atomic(Path(output) / RUN_FILE, json.dumps(run, indent=2, ensure_ascii=False) + "\n")


def same_run(run: dict[str, Any]) -> dict[str, Any]:
    """The keys of a run.json that must agree for two runs to share a results directory."""
    return {key: value for key, value in run.items() if key not in RECORDED_ONLY}


def scores_file(shard: tuple[int, int]) -> str:
    """The scores file of a shard, named as ``--shard`` counts (from 1): scores.shard-001-of-004.jsonl."""
    index, count = shard
    return SCORES_FILE if count == 1 else f"scores.shard-{index + 1:03d}-of-{count:03d}.jsonl"


def scored_pairs(path: Path, tag: str | None = None, untagged_ok: bool = False) -> set[tuple[str, str]]:
    """(item id, mode) pairs already complete in a scores file.

    An item's lines are appended in one write, so a kill can only tear the file's tail: whatever
    follows the last complete item (a torn line, or the first lines of an item whose last line is
    missing) is cut, and that item is scored again without a duplicate line. With ``tag``, every line
    must name that run (:func:`run_tag`); lines that name none are accepted only with
    ``untagged_ok`` (older results whose run.json matched this run).
    """
    if not path.is_file():
        return set()
    done: set[tuple[str, str]] = set()
    offset = complete = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            offset += len(line)
            if not line.endswith(b"\n"):
                break
            record = score_line(path, number, line)
            if tag is not None and record.get("run") != tag and not (untagged_ok and "run" not in record):
                raise S2SBenchError(f"{path}:{number}: scored by another run ({'run ' + str(record['run']) if 'run' in record else 'a line that names no run'}; "
                                    f"this one is run {tag}: another model, weights, adapter or prompts); choose another -o")
            if record.get("last"):
                done.add((record["id"], record["mode"]))
                complete = offset
    if complete < path.stat().st_size:
        os.truncate(path, complete)
    return done


def score_line(path: Path, number: int, line: bytes | str) -> dict[str, Any]:
    """One line of a scores file, checked as ``s2s score`` writes it; a line that is not (edited by
    hand, another tool's, a NaN loss) is one error naming the file, the line and the field, never a
    traceback or a figure computed from it."""
    where = f"{path}:{number}"
    try:
        record = parse_json(line)
    except UnicodeDecodeError:
        raise S2SBenchError(f"{where}: not UTF-8") from None
    except json.JSONDecodeError:
        raise S2SBenchError(f"{where}: not a JSON line (the file was changed by hand?)") from None
    if not isinstance(record, dict):
        raise S2SBenchError(f"{where}: expected a JSON object")
    for field, check in SCORE_FIELDS.items():
        if field in record or field in REQUIRED_SCORE_FIELDS:
            if (problem := check(record.get(field))) is not None:
                raise S2SBenchError(f"{where}: {field}: {problem}")
    return record


def _integer(value: object) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else f"expected a count, got {value!r:.40}"


def _number(value: object) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:  # NaN is not equal to itself
        return f"expected a number, got {value!r:.40}"
    return None


def _text(value: object) -> str | None:
    return None if isinstance(value, str) and 0 < len(value) <= 1024 else f"expected an id, got {value!r:.40}"


SCORE_FIELDS = {
    "id": _text,
    "subset": name_problem,  # it names a result_<subset>.jsonl file
    "mode": lambda value: None if value in ("t2t", "s2t", "s2s") else f"expected t2t, s2t or s2s, got {value!r:.40}",
    "candidate": _integer,
    "answer": _integer,
    "loss": _number,
    "n_tokens": _integer,
    "logprob": _number,
    "n_bytes": _integer,
}
REQUIRED_SCORE_FIELDS = ("id", "subset", "mode", "candidate", "answer", "loss", "n_tokens")


def sample_record(adapter: Any, item: ScoreItem, mode: str, prompt: Prompt, results: list) -> dict[str, Any]:
    """What ``--log-samples`` keeps of one item in one mode: the text before the candidates as the
    model read it (audio as ``<audio: PATH>``; the cascade's transcripts), each candidate as scored
    (with its separator), and the scores."""
    heard = getattr(adapter, "heard", {}).pop((item.id, mode), None)
    if heard is not None:  # a cascade: the LM read transcripts
        context, candidates = prompt.text_prefix + heard.context, heard.candidates
    elif mode == "t2t":
        context, candidates = prompt.text_prefix + item.context, item.candidates
    else:
        context = f"{prompt.speech_prefix}<audio: {item.context_audio}>"
        candidates = [f"<audio: {path}>" for path in item.candidate_audio or []] if mode == "s2s" else item.candidates
    record = {"id": item.id, "subset": item.subset, "mode": mode, "answer": item.answer, "context": context,
              "candidates": [prompt.candidate_separator + text for text in candidates], "losses": [r.loss for r in results],
              "logprobs": [r.summed for r in results], "n_tokens": [r.n_tokens for r in results]}
    if prompt.chat:  # the context went in as the user's turn of the model's chat template
        record["prompt_style"] = prompt.style
    return record


def keep_samples_of(path: Path, done: set[tuple[str, str]]) -> None:
    """Keep in the samples file one line per (item, mode) already scored: a kill may have left a
    sample whose scores were never written (that item is scored, and logged, again)."""
    if not path.is_file():
        return
    repair_tail(path)
    seen: set[tuple[str, str]] = set()

    def kept() -> Iterator[str]:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = parse_json(line)
                key = (record["id"], record["mode"])
                if key in done and key not in seen:
                    seen.add(key)
                    yield line

    write_lines_atomic(path, kept())


def read_scores(output: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(id, mode) -> {"subset", "answer", "losses", "n_tokens", "logprobs", "n_bytes"} (each by candidate)
    from every scores file in ``output``. Files written before the summed log-likelihood and byte
    count were kept have neither; their acc_sum and acc_bytes are not known."""
    grouped: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"losses": {}, "n_tokens": {}, "logprobs": {}, "n_bytes": {}})
    for path in sorted(Path(output).glob("scores*.jsonl")):
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                record = score_line(path, number, line)
                entry = grouped[(record["id"], record["mode"])]
                entry["subset"], entry["answer"] = record["subset"], record["answer"]
                entry["losses"][record["candidate"]] = record["loss"]
                entry["n_tokens"][record["candidate"]] = record["n_tokens"]
                if "facets" in record:
                    entry["facets"] = record["facets"]
                if "logprob" in record and "n_bytes" in record:
                    entry["logprobs"][record["candidate"]] = record["logprob"]
                    entry["n_bytes"][record["candidate"]] = record["n_bytes"]
    return grouped
