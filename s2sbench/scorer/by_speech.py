"""``s2s report --by speech``: how much the voice moves the result.

Give it the results of one model on builds of the same items that differ only in their speech (another
engine, another voice, human recordings). Each run's speech is named from the build it scored
(``build.json``: the engine and its voices, ``kokoro jf_alpha``; a results directory whose source is no
build is named by its directory). The runs are compared on the items every run scored from text and
from speech, per subset:

- per run, the accuracy from speech and the degradation (acc(t2t) - acc(s2t)) with its paired
  bootstrap 95% interval over the items (:func:`s2sbench.scorer.metric.degradation`);
- per pair of runs, the difference of their degradations with a paired bootstrap 95% interval: the
  items are drawn together, so the interval is that of the speech's effect on these items, not of two
  independent samples (:func:`paired_difference`);
- one line: "the speech changes the degradation by up to X points", X the largest difference.

The text is the same in every run (one model, one text per item), so a difference of degradations is
the difference of the spoken accuracies; runs whose text accuracy differs are said to be of another
model or other prompts, and refused.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.scorer.breakdowns import too_few
from s2sbench.scorer.compare import METRICS, shared_runs
from s2sbench.scorer.metric import ACCURACIES, ItemOutcome, degradation
from s2sbench.scorer.results import read_run
from s2sbench.scorer.summary import TOO_FEW, item_outcomes
from s2sbench.tables import Section, Table, markdown_sections


def speech_name(results: Path, run: dict[str, Any]) -> str:
    """What spoke the build a results directory scored, from its build.json: ``ENGINE[:MODEL] VOICE,VOICE``,
    ``human:SPEAKER`` for recordings (``human:SPEAKER + ENGINE VOICE`` where the TTS spoke the rest)."""
    source = run.get("source")
    directory = BuildDirectory(str(source)) if source else None
    if directory is None or not directory.exists():
        return Path(results).name
    manifest = directory.read_manifest()
    tts = manifest.get("tts") or {}
    engines = tts.get("engines") or [tts]  # a build of several engines: each with its voices, joined by +
    synthetic = " + ".join(" ".join(filter(None, [str(engine.get("label") or engine.get("spec") or engine.get("engine") or "?"),
                                                  ",".join(str(voice) for voice in engine.get("voices") or [] if voice)]))
                           for engine in engines)
    recordings = manifest.get("recordings") or {}
    people = ",".join(f"human:{speaker}" for speaker in recordings.get("speakers") or [])
    if not people:
        return synthetic
    return people if recordings.get("only") else f"{people} + {synthetic}"


def per_item(outcomes: list[ItemOutcome], metric: str) -> list[float]:
    """Each item's count towards ``metric``: 1/0 for an accuracy, pairs won for pairwise_acc."""
    if metric == "pairwise_acc":
        return [float(o.wins) for o in outcomes]
    return [float(getattr(o, ACCURACIES[metric])) for o in outcomes]


def weights(outcomes: list[ItemOutcome], metric: str) -> list[float]:
    """What each item counts for in ``metric``'s denominator: 1, or its pairs for pairwise_acc."""
    return [float(o.pairs) if metric == "pairwise_acc" else 1.0 for o in outcomes]


def rate(values: list[float], counts: list[float]) -> float:
    return sum(values) / sum(counts) if sum(counts) else math.nan


def paired_difference(first: list[float], second: list[float], counts: list[float] | None = None, resamples: int = 2000,
                      seed: int = 0) -> dict[str, Any]:
    """sum(first - second) / sum(counts) over the same items (same order; counts default to 1 each),
    with the 95% interval of a paired bootstrap: each resample draws items, both values of an item
    together (NumPy's frozen ``RandomState``, as :func:`~s2sbench.scorer.metric.degradation`)."""
    import numpy as np

    if len(first) != len(second):
        raise ValueError("a paired difference needs the same items")
    n = len(first)
    if n == 0:
        return {"n": 0, "difference": math.nan, "ci": [math.nan, math.nan]}
    difference = np.array(first, dtype=float) - np.array(second, dtype=float)
    total = np.ones(n) if counts is None else np.array(counts, dtype=float)
    draws = np.random.RandomState(seed).randint(0, n, size=(resamples, n))
    sums = total[draws].sum(axis=1)
    samples = np.sort(np.divide(difference[draws].sum(axis=1), sums, out=np.zeros(resamples), where=sums > 0))
    return {"n": n, "difference": float(difference.sum() / total.sum()),
            "ci": [float(samples[int(0.025 * (resamples - 1))]), float(samples[int(math.ceil(0.975 * (resamples - 1)))])]}


def speech_comparison(directories: list[Path], metric: str = "acc") -> dict[str, Any]:
    """Per subset: each run's speech, spoken accuracy and degradation, and each pair's difference of
    degradations, on the items every run scored in t2t and s2t; ``largest``: the largest |difference|."""
    if metric not in METRICS:
        raise S2SBenchError(f"--metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if len(directories) < 2:
        raise S2SBenchError("--by speech compares two or more results directories (one model on builds of the same items)")
    runs, _ = shared_runs(directories)
    models = sorted({run["model"] for run in runs})
    if len(models) > 1:
        raise S2SBenchError(f"--by speech compares one model's runs; these are of {len(models)} models: {', '.join(models)}")
    names = [speech_name(run["directory"], read_run(run["directory"]) or {}) for run in runs]
    outcomes = [item_outcomes(run["scores"])[0] for run in runs]
    subsets: dict[str, Any] = {}
    for subset in sorted(set.intersection(*(set(found) for found in outcomes))):
        by_run = [found[subset] for found in outcomes]
        if not all("t2t" in modes and "s2t" in modes for modes in by_run):
            continue
        items = sorted(set.intersection(*(set(modes["t2t"]) & set(modes["s2t"]) for modes in by_run)))
        if not items:
            continue
        text = per_item([by_run[0]["t2t"][i] for i in items], metric)
        counts = weights([by_run[0]["t2t"][i] for i in items], metric)
        for run, modes in zip(runs, by_run):
            if per_item([modes["t2t"][i] for i in items], metric) != text:
                raise S2SBenchError(f"{run['directory']}: its text scores differ from {runs[0]['directory']}'s on the same items: "
                                    "another model or other prompts, not other speech")
        rows = []
        for run, name, modes in zip(runs, names, by_run):
            drop = degradation([modes["t2t"][i] for i in items], [modes["s2t"][i] for i in items])
            rows.append({"results": run["name"], "speech": name, "n": len(items), "text": rate(text, counts),
                         "speech_acc": rate(per_item([modes["s2t"][i] for i in items], metric), counts),
                         "degradation": drop[metric], "ci": drop[f"{metric}_ci"]})
        spoken = [per_item([modes["s2t"][i] for i in items], metric) for modes in by_run]
        pairs = []
        for a, b in itertools.combinations(range(len(runs)), 2):
            # degradation(a) - degradation(b) = acc_s2t(b) - acc_s2t(a), item by item: the text is shared
            pairs.append({"first": rows[a]["speech"], "second": rows[b]["speech"], **paired_difference(spoken[b], spoken[a], counts)})
        subsets[subset] = {"runs": rows, "pairs": pairs}
    if not subsets:
        raise S2SBenchError("--by speech: the runs share no item scored from both text and speech (score with --modes t2t,s2t)")
    largest = max(abs(pair["difference"]) for found in subsets.values() for pair in found["pairs"])
    return {"metric": metric, "model": models[0], "subsets": subsets, "largest": largest}


def speech_sections(comparison: dict[str, Any]) -> list[Section]:
    metric = comparison["metric"]
    runs = Table(["subset", "speech", "results", "n", f"{metric} t2t", f"{metric} s2t", "degradation [95% CI]"], "lllrrrl")
    pairs = Table(["subset", "speech A", "speech B", "n", "degradation A - B [95% CI, paired]"], "lllrl")
    for subset, found in comparison["subsets"].items():
        for row in found["runs"]:
            low, high = row["ci"]
            interval = f"({TOO_FEW})" if too_few(row["n"]) else f"[{low:+.4f}, {high:+.4f}]"
            runs.add(subset, row["speech"], row["results"], row["n"], f"{row['text']:.4f}", f"{row['speech_acc']:.4f}", f"{row['degradation']:+.4f} {interval}")
        for pair in found["pairs"]:
            low, high = pair["ci"]
            interval = f"({TOO_FEW})" if too_few(pair["n"]) else f"[{low:+.4f}, {high:+.4f}]"
            pairs.add(subset, pair["first"], pair["second"], pair["n"], f"{pair['difference']:+.4f} {interval}")
    line = f"the speech changes the degradation by up to {100 * comparison['largest']:.1f} points ({metric}, {comparison['model']})"
    return [(None, line), (f"Each speech: {comparison['model']} on the items every run scored from text and speech", runs),
            ("Each pair of speeches: the difference of their degradations", pairs)]


def speech_report(directories: list[Path], metric: str = "acc") -> str:
    """``s2s report --by speech`` as Markdown."""
    return "\n".join(markdown_sections(speech_sections(speech_comparison(directories, metric))))
