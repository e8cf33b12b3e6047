"""The validation report of a build directory: ``validation.json``, ``validation.md``, ``validation.png``,
and ``report.html``, all of it on one self-contained page (:mod:`s2sbench.webpage`) with the worst
clips playable in it.

Computed by streaming ``items.jsonl`` once: counts per subset, voice and part (context or
candidate), reason codes, the error distribution, and the worst clips. ``validation.json`` also
lists every clip's verdict. The page and ``validation.md`` name a local source, model or voice file
by its last part (:func:`s2sbench.tables.public_source`), never the directories it sits in.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from s2sbench._io import atomic_file, inside, write_atomic
from s2sbench.builddir import FAILURES_FILE, BuildDirectory
from s2sbench.items import Item
from s2sbench.plotting import png, pyplot
from s2sbench.storage import ClipStore
from s2sbench.tables import Section, Table, markdown_sections, public_source, to_html
from s2sbench.webpage import ClipBudget, audio_player, escape, facts, image, page, sections_html

WORST_CLIPS = 20
LISTED_FAILED_ITEMS = 200  # failed items named on the pages (validation.json lists every one)
ERROR_BINS = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)


@dataclass
class ValidationReport:
    clips_passed: int = 0
    clips_failed: int = 0
    items_passed: int = 0
    items_failed: int = 0
    by: dict[str, dict[str, Counter]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Counter)))
    reasons: Counter = field(default_factory=Counter)
    errors_by_subset: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    worst: list[tuple[float, int, dict]] = field(default_factory=list)
    failed_items: list[str] = field(default_factory=list)
    not_made: list[dict] = field(default_factory=list)  # failed.jsonl: items whose audio could not be read or spoken, not in items.jsonl

    @property
    def items_not_made(self) -> int:
        return len(self.not_made)

    @property
    def clips(self) -> int:
        return self.clips_passed + self.clips_failed

    @property
    def pass_rate(self) -> float:
        return self.clips_passed / self.clips if self.clips else 0.0


def clip_speakers(item: Item) -> Iterator[tuple[str, int | None, str, str | None, str | None, dict]]:
    """(part, candidate index, text, voice, engine, verdict) of each validated clip of an item; the
    engine only where the build rotated several (``audio.engines``), else None."""
    validation, audio = item.validation or {}, item.audio or {}
    voices, engines = audio.get("voices") or {}, audio.get("engines") or {}
    if validation.get("context"):
        yield "context", None, item.context, voices.get("context"), engines.get("context"), validation["context"]
    for index, verdict in enumerate(validation.get("candidates") or []):
        candidate_voices, candidate_engines = voices.get("candidates") or [None] * (index + 1), engines.get("candidates") or [None] * (index + 1)
        yield "candidate", index, item.candidates[index], candidate_voices[index], candidate_engines[index], verdict


def _histogram(errors: list[float]) -> list[int]:
    """Counts per bin: exactly 0, then (0, 0.05], (0.05, 0.1], ... and above the last edge."""
    counts = [0] * (len(ERROR_BINS) + 1)
    for error in errors:
        counts[0 if error <= 0 else 1 + sum(error > edge for edge in ERROR_BINS[1:])] += 1
    return counts


def _mean(errors: list[float]) -> float | None:
    return round(sum(errors) / len(errors), 4) if errors else None


def _median(errors: list[float]) -> float | None:
    if not errors:
        return None
    ordered, middle = sorted(errors), len(errors) // 2
    return round(ordered[middle] if len(errors) % 2 else (ordered[middle - 1] + ordered[middle]) / 2, 4)


def _bin_labels() -> list[str]:
    pairs = zip(ERROR_BINS[:-1], ERROR_BINS[1:])
    return ["0"] + [f"({low:g}, {high:g}]" for low, high in pairs] + [f"> {ERROR_BINS[-1]:g}"]


def not_made(directory: BuildDirectory) -> list[dict]:
    """The items the last run could not make (``failed.jsonl``: a recording that is not audio, an engine
    error), each ``{"id", "error"}``: left out of items.jsonl, and so of every clip count, they are counted apart."""
    path = directory.root / FAILURES_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn line of a killed run: the next run rewrites the file
        if isinstance(record, dict):
            records.append({"id": str(record.get("id")), "error": str(record.get("error") or "")})
    return records


def collect(directory: BuildDirectory, clip_lines: Any | None = None) -> ValidationReport:
    report = ValidationReport(not_made=not_made(directory))
    sequence = 0
    for number, item in directory.iter_numbered_items():
        if not item.validation:
            continue
        if item.validation.get("passed"):
            report.items_passed += 1
        else:
            report.items_failed += 1
            report.failed_items.append(item.id)
        for part, index, text, voice, engine, verdict in clip_speakers(item):
            passed = bool(verdict.get("passed"))
            report.clips_passed += passed
            report.clips_failed += not passed
            for axis, key in (("subset", item.subset), ("voice", voice or "(recording)"), ("part", part), ("engine", engine)):
                if key is not None:  # the engine only in a build of several
                    report.by[axis][key]["passed" if passed else "failed"] += 1
            report.reasons.update(verdict.get("reasons", []))
            error = float(verdict.get("error", 1.0))
            report.errors_by_subset[item.subset].append(error)
            path = item.audio["context"] if index is None else item.audio["candidates"][index]
            record = {"id": item.id, "subset": item.subset, "part": part, "index": index, "path": path, "voice": voice, "text": text, **verdict}
            sequence += 1
            entry = (error, -sequence, {**record, "where": f"{directory.items_path}:{number}"})  # for report.html to name a bad path
            if len(report.worst) < WORST_CLIPS:
                heapq.heappush(report.worst, entry)
            elif entry > report.worst[0]:
                heapq.heapreplace(report.worst, entry)
            if clip_lines is not None:
                clip_lines.write(("," if sequence > 1 else "") + "\n    " + json.dumps(record, ensure_ascii=False))
    return report


def _rate_table(title: str, table: dict[str, Counter]) -> Table:
    rates = Table([title, "clips", "passed", "failed", "pass rate"], "lrrrr")
    for key in sorted(table):
        passed, failed = table[key]["passed"], table[key]["failed"]
        rates.add(key, passed + failed, passed, failed, f"{passed / max(passed + failed, 1):.1%}")
    return rates


def header_lines(report: ValidationReport, settings: dict[str, Any]) -> list[str]:
    """What was checked and how much passed, above the tables."""
    asr = settings.get("asr") or {}
    unmade = ""
    if report.not_made:
        first = report.not_made[0]
        unmade = (f" **{report.items_not_made} of {report.items_passed + report.items_failed + report.items_not_made} items could not be made** "
                  f"(their audio could not be read or spoken; not in items.jsonl, so in no count above; failed.jsonl lists them, "
                  f"first {first['id']}: {first['error'][:200]}).")
    return [
        f"ASR round trip with {asr.get('engine')} `{public_source(asr.get('model'))}`; metric {settings.get('metric')}, "
        f"threshold {settings.get('max_error')}, normalizer {' > '.join(map(str, settings.get('normalizer', [])))}, "
        f"retries {settings.get('retries', 0)}.",
        f"**{report.clips_passed} of {report.clips} clips passed ({report.pass_rate:.1%})**; "
        f"{report.items_failed} of {report.items_passed + report.items_failed} items have a failing clip "
        f"(kept in items.jsonl with their verdicts, excluded from push by default).{unmade}",
    ]


def worst_first(report: ValidationReport) -> list[dict]:
    """The worst clips' records, the highest error first."""
    return [record for _, _, record in sorted(report.worst, key=lambda entry: entry[:2], reverse=True)]


def validation_sections(report: ValidationReport, players: list[str] | None = None) -> list[Section]:
    """The tables of ``validation.md`` (and of ``report.html``): pass rates, reasons, the error
    distribution, the worst clips and the items with a failing clip. ``players``: for the page, an
    ``<audio>`` player per worst clip (:func:`worst_first` order), a column of the worst clips."""
    axes = ("subset", "voice", "engine", "part") if report.by.get("engine") else ("subset", "voice", "part")
    sections: list[Section] = [(f"Pass rate by {axis}", _rate_table(axis, report.by[axis])) for axis in axes]
    reasons = Table(["reason", "clips"], "lr")
    for reason, count in report.reasons.most_common():
        reasons.add(reason, count)
    sections.append(("Reasons", reasons if reasons.rows else Table(["reason", "clips"], "lr", [["(none)", "0"]])))
    distribution = Table(["subset", *_bin_labels()], "l" + "r" * len(_bin_labels()))
    for subset, errors in sorted(report.errors_by_subset.items()):
        distribution.add(subset, *_histogram(errors))
    sections.append(("Error distribution", distribution))
    shown = min(WORST_CLIPS, len(report.worst))
    worst = Table(["error", "id", "part", "reasons", "reference", "transcript"], "rlllll")
    for record in worst_first(report):
        part = record["part"] if record["index"] is None else f"candidate {record['index']}"
        worst.add(f"{float(record.get('error', 1.0)):.2f}", record["id"], part, ", ".join(record.get("reasons", [])), record["text"], record.get("asr", ""))
    if players is not None:
        worst.markup_header, worst.markup = "clip", players
    sections.append((f"All {shown} clips, worst first" if shown == report.clips else f"The {shown} worst clips", worst))
    named = ", ".join(f"`{i}`" for i in report.failed_items[:LISTED_FAILED_ITEMS]) or "(none)"
    if len(report.failed_items) > LISTED_FAILED_ITEMS:  # the pages stay one screen's reading at any size; validation.json has them all
        named += f", and {len(report.failed_items) - LISTED_FAILED_ITEMS} more (validation.json: failed_items)"
    sections.append((f"Items with a failing clip ({len(report.failed_items)})", named))
    return sections


def _markdown(report: ValidationReport, settings: dict[str, Any]) -> str:
    first, second = header_lines(report, settings)
    lines = ["# Validation report", "", first, "", second, "", *markdown_sections(validation_sections(report), escape=True)]
    return "\n".join(lines) + "\n"


def _plot(report: ValidationReport) -> bytes | None:
    """A histogram of the clips' ASR errors per subset as PNG bytes; None without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    subsets = sorted(report.errors_by_subset)
    figure, axes = plt.subplots(len(subsets) or 1, 1, figsize=(7, 2.4 * max(len(subsets), 1)), squeeze=False)
    for axis, subset in zip(axes[:, 0], subsets):
        axis.hist([min(e, 1.0) for e in report.errors_by_subset[subset]], bins=20, range=(0, 1), color="#4477aa")
        axis.set_title(f"{subset}: ASR error per clip")
        axis.set_xlabel("error (capped at 1)")
        axis.set_ylabel("clips")
    figure.tight_layout()
    return png(figure)


BUILD_FACTS = ("status", "created", "updated", "source", "tts", "speak", "audio", "validation", "counts")  # build.json sections shown
# build.json values that name a source, a model or a voice, perhaps a local one; any other value
# that is an absolute or home path (``engine:`` before it or not) is shown by its last part too.
LOCAL_PATHS = {("source", "spec"), ("tts", "spec"), ("tts", "model"), ("tts", "engines", "spec"), ("tts", "engines", "model"),
               ("validation", "asr", "model"), ("validation", "asr", "weights")}
_ABSOLUTE = re.compile(r"^(?:file://|(?:[A-Za-z][\w.-]+:)?(?:/|~|[A-Za-z]:[\\/]|\\\\))")


def public_facts(value: Any, key: tuple[str, ...] = ()) -> Any:
    """build.json's sections with each local path of :data:`LOCAL_PATHS` (and any absolute path) as
    :func:`s2sbench.tables.public_source` names it."""
    if isinstance(value, dict):
        return {name: public_facts(inner, (*key, name)) for name, inner in value.items()}
    if isinstance(value, list):
        return [public_facts(inner, key) for inner in value]
    if isinstance(value, str) and (key in LOCAL_PATHS or _ABSOLUTE.match(value)):
        return public_source(value)
    return value


def build_page(directory: BuildDirectory, report: ValidationReport, figure: bytes | None, clips: ClipStore | None = None) -> str:
    """``report.html``: the build's facts, the validation figure and tables, and the worst clips
    with players (:mod:`s2sbench.webpage`). ``clips``: where the clips are (a URL build's store; by
    default the build directory)."""
    manifest = directory.read_manifest()
    clips = clips or ClipStore(directory.root)
    players, budget = [], ClipBudget()
    for record in worst_first(report):
        field = "audio.context" if record["index"] is None else f"audio.candidates[{record['index']}]"
        inside(directory.root, record["path"], f"{record['where']}: {field}")  # a path leaving the build is refused, not read
        players.append(audio_player(clips.read(record["path"]), record["path"], budget))
    sections = validation_sections(report, players)
    # The first screen is the verdict: pass rates by subset and the worst clips, playable; then the
    # rest of the tables and the figure; the build's settings last, folded.
    worst = [section for section in sections if isinstance(section[1], Table) and section[1].markup_header is not None]
    rest = [section for section in sections[1:] if section not in worst]
    body = [f"<p>{escape(line.replace('**', '').replace('`', ''))}</p>" for line in header_lines(report, manifest.get("validation") or {})]
    body += sections_html([sections[0], *worst])
    if figure is not None:
        body.append(image(figure, "ASR error per clip, by subset"))
    body += sections_html(rest)
    settings = to_html(facts(public_facts({key: manifest[key] for key in BUILD_FACTS if key in manifest})))
    body.append(f"<h2>Build</h2><details><summary>settings, sources, engines and counts (build.json)</summary>{settings}</details>")
    return page(f"Build report: {public_source(directory.root)}", body)


def write_reports(directory: BuildDirectory, clips: ClipStore | None = None) -> ValidationReport:
    """Write validation.json, validation.md, validation.png and report.html; returns the aggregates.
    ``clips``: where a URL build's clips are (its directory is a local mirror without them)."""
    settings = directory.read_manifest().get("validation") or {}
    json_path = directory.root / "validation.json"
    with atomic_file(json_path) as handle:
        handle.write('{\n  "clips": [')
        report = collect(directory, handle)
        summary = {
            "settings": settings,
            "counts": {"clips": report.clips, "passed": report.clips_passed, "failed": report.clips_failed,
                       "items_passed": report.items_passed, "items_failed": report.items_failed, "items_not_made": report.items_not_made},
            "pass_rate": round(report.pass_rate, 4),
            # The ASR error over the clips: what a robustness variant (s2s augment) is measured by. The
            # median beside the mean: one decoding loop (a WER of 15) moves a small build's mean a lot.
            "mean_error": _mean([e for errors in report.errors_by_subset.values() for e in errors]),
            "median_error": _median([e for errors in report.errors_by_subset.values() for e in errors]),
            "mean_error_by_subset": {s: _mean(e) for s, e in sorted(report.errors_by_subset.items())},
            "by": {axis: {k: dict(v) for k, v in table.items()} for axis, table in report.by.items()},
            "reasons": dict(report.reasons),
            "failed_items": report.failed_items,
            "not_made": report.not_made,
            "error_histogram": {"bins": list(ERROR_BINS), "by_subset": {s: _histogram(e) for s, e in report.errors_by_subset.items()}},
        }
        handle.write("\n  ],\n" + json.dumps(summary, ensure_ascii=False, indent=2)[2:] + "\n")
    write_atomic(directory.root / "validation.md", _markdown(report, settings))
    figure = _plot(report)
    if figure is not None:
        write_atomic(directory.root / "validation.png", figure)
    write_atomic(directory.root / "report.html", build_page(directory, report, figure, clips))
    return report
