"""A release of the paper's size, each stage run as a user runs it, memory measured at two sizes.

Generated items (original text): stories with two endings (three clips each) and four-way questions
(five clips each), 4:1, one source, so a build holds two subsets and a push two configs. At
``--items N`` and at N/4, in the same run, each stage runs as its own ``s2s`` process on the
output of the one before:

    build        s2s build (espeak-ng, validated by the profile's recognizer, --retries 0)
    validate     s2s validate (the verdicts cached by the build: what a re-check costs to read)
    push-hub     s2s push --repo (the loopback Hub the tests use, in a process of its own)
    push-dir     s2s push --to-dir
    pull-hub     s2s pull OWNER/NAME:CONFIG (the stories)
    pull-dir     s2s pull EXPORT:CONFIG
    score-t2t    s2s score (a tiny random LM, every item, t2t)
    score-s2t    s2s score (cascade: Whisper base + the tiny LM, s2t, --limit --slice items)
    report       s2s report --html over both runs
    augment      s2s augment --noise-snr 10 --no-validate

One line per stage and size: ``stage=... items=... seconds=... rate=... peak_rss_mb=... output_mb=...``
(every item is pushed and scored, --include-failed, so each size does the same work per item; the rate counts clips for build, validate and augment, rows for push and pull, items for the rest;
the peak RSS is that process's own, from ``wait4``), then per stage ``rss_ratio`` = peak RSS at N over
peak RSS at N/4, and the pages' sizes (the build's report.html, the score page) with the seconds
headless Chromium took to open each one. Last, the projected time of the full sStoryCloze (3,742
stories) and sCMMLU (4,743 questions) on this machine, from the rates measured at N.

``--no-validate`` builds without the recognizer and leaves out the validate stage: every other stage
at full size in well under an hour on 2 cores (a validated 5,000-item build alone takes hours there).

A run with ``--keep DIR`` can be cut off (a machine shut down mid-build) and run again with the same
arguments: ``DIR/journal.json`` records each finished build and validation and the seconds and peak
RSS of the one in flight (every 15 s), so the next run resumes that ``s2s build`` (its kept clips) and
reports the seconds of all its attempts together; the stages after them run again (the Hub is in memory).

``--resume`` also kills (SIGKILL) a build, a validation, a ``--to-dir`` push and a score of the N-item
set half-way through (by the time the uninterrupted run took), re-runs each, and compares the bytes
of what it wrote with the uninterrupted run's (``resume_<stage>=same|DIFFERENT``).

    PYTHONPATH=. python benchmarks/scale.py [--items 5000] [--slice 100] [--no-validate] [--resume] [--keep DIR]

Targets (issue 35): every ``rss_ratio <= 1.2``; push's peak RSS under 700 MB at any size; each page
under 5 MB at 5,000 items and opening in Chromium.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORYCLOZE_STORIES, CMMLU_QUESTIONS = 3742, 4743
QUESTION_SHARE = 5  # one item in five is a question
TOKEN, OWNER = "hf_scale_token", "bench"
PAGE_LIMIT_MB = 5.0

_NAMES = ["Ana", "Ben", "Carla", "Dev", "Elif", "Femi", "Goro", "Hana", "Ivan", "June", "Kofi", "Lena"]
_DEEDS = ["baked bread", "fixed a bike", "planted roses", "wrote a letter", "painted a fence", "built a shelf", "sewed a coat"]
_PLACES = ["the market", "the library", "the river", "the station", "the garden", "the harbour"]
_SUBJECTS = ["history", "biology", "physics", "geography"]


def _story(index: int) -> dict:
    name, deed, place = _NAMES[index % 12], _DEEDS[index // 12 % 7], _PLACES[index // 84 % 6]
    context = f"On day {index}, {name} {deed} near {place}. It took the whole afternoon. Friends came by to help."
    endings = [f"{name} was proud of the work on day {index}.", f"{name} turned into a cloud on day {index}."]
    answer = index % 2
    return {"id": f"story-{index:06d}", "subset": "story", "context": context,
            "candidates": endings if answer == 0 else endings[::-1], "answer": answer}


def _question(index: int) -> dict:
    count = 10 + index
    options = [str(count * 3), str(count * 3 + 1), str(count * 2), str(count * 4)]
    answer = index % 4
    options[0], options[answer] = options[answer], options[0]
    context = f"A shop at {_PLACES[index % 6]} sells {count} pens on each of three days. How many pens does it sell in all?"
    return {"id": f"question-{index:06d}", "subset": "question", "context": context, "candidates": options, "answer": answer,
            "category": _SUBJECTS[index % 4]}


def write_items(path: Path, count: int) -> Path:
    """``count`` items in our items format: stories and (one in :data:`QUESTION_SHARE`) questions."""
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(count):
            item = _question(index) if index % QUESTION_SHARE == QUESTION_SHARE - 1 else _story(index)
            handle.write(json.dumps(item) + "\n")
    return path


@dataclass
class Stage:
    name: str
    items: int
    seconds: float
    peak_rss_mb: float
    units: int  # clips, rows or items: what ``rate`` counts
    unit: str
    output_mb: float

    def line(self) -> str:
        rate = self.units / self.seconds if self.seconds else 0.0
        return (f"stage={self.name} items={self.items} seconds={self.seconds:.1f} rate={rate:.2f} {self.unit}/s "
                f"peak_rss_mb={self.peak_rss_mb:.0f} output_mb={self.output_mb:.1f}")


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 if path.exists() else 0.0


HEARTBEAT_SECONDS = 15.0


def peak_rss_so_far(pid: int) -> float:
    """A running process's peak RSS in MiB (``VmHWM``), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next((int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:")), 0.0)
    except OSError:
        return 0.0


def s2s(args: list[str], env: dict[str, str], log: Path, kill_after: float | None = None,
        heartbeat: Callable[[float, float], None] | None = None) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, exit status) of ``python -m s2sbench ARGS`` in a process of its own;
    ``kill_after``: SIGKILL it after that many seconds (a crash mid-way); ``heartbeat(seconds, peak)``
    is told how far it is every :data:`HEARTBEAT_SECONDS`, so that a run cut off still knows."""
    started = time.perf_counter()
    deadline = None if kill_after is None else started + kill_after
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ s2s {' '.join(args)}\n")
        out.flush()
        process = subprocess.Popen([sys.executable, "-m", "s2sbench", *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        beat = started
        while True:  # wait4 itself, not Popen.wait: that would reap the child and lose its rusage
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            if deadline is not None and now >= deadline:
                process.send_signal(signal.SIGKILL)
                _, status, usage = os.wait4(process.pid, 0)
                break
            if heartbeat is not None and now - beat >= HEARTBEAT_SECONDS:
                heartbeat(now - started, peak_rss_so_far(process.pid))
                beat = now
            time.sleep(min(0.1, HEARTBEAT_SECONDS))
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode


class Journal:
    """What a kept work directory has done, in ``journal.json``: each long stage's seconds and peak RSS
    over its attempts so far, and whether it finished; written whole (to a temporary file, renamed) at
    every heartbeat, so a run cut off at any moment leaves a journal the next run reads."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def _save(self) -> None:
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, self.path)

    def finished(self, key: str) -> dict | None:
        entry = self.entries.get(key)
        return entry if entry and entry.get("done") else None

    def earlier(self, key: str) -> tuple[float, float]:
        """(seconds, peak RSS) of the attempts of ``key`` that were cut off."""
        entry = self.entries.get(key) or {}
        return entry.get("seconds", 0.0), entry.get("peak_rss_mb", 0.0)

    def progress(self, key: str, seconds: float, peak_rss_mb: float, done: bool = False, **extra: str) -> None:
        self.entries[key] = {"seconds": seconds, "peak_rss_mb": peak_rss_mb, "done": done, **extra}
        self._save()

    def summary(self) -> str:
        return ", ".join(f"{key} {entry['seconds']:.0f} s" + ("" if entry["done"] else " (cut off: goes on)")
                         for key, entry in sorted(self.entries.items()))

    def run(self, key: str, args: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
        """(seconds, peak RSS) of ``s2s ARGS`` over all its attempts: a finished one is read back, one
        cut off is run again (it resumes) and its attempts' seconds added up."""
        if (entry := self.finished(key)) is not None:
            return entry["seconds"], entry["peak_rss_mb"]
        before, before_rss = self.earlier(key)
        seconds, rss, code = s2s(args, env, log, heartbeat=lambda s, peak: self.progress(key, before + s, max(before_rss, peak)))
        if code != 0:
            self.progress(key, before + seconds, max(before_rss, rss))
            sys.exit(f"stage {key} failed (exit {code}); its output is in {log}")
        self.progress(key, before + seconds, max(before_rss, rss), done=True)
        return before + seconds, max(before_rss, rss)


def checked(name: str, args: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    seconds, rss, code = s2s(args, env, log)
    if code != 0:
        sys.exit(f"stage {name} failed (exit {code}); its output is in {log}")
    return seconds, rss


def clips_in(build: Path) -> int:
    clips = 0
    with open(build / "items.jsonl", encoding="utf-8") as handle:
        for line in handle:
            audio = json.loads(line).get("audio") or {}
            clips += bool(audio.get("context")) + len(audio.get("candidates") or [])
    return clips


def tiny_lm(directory: Path) -> Path:
    """A tiny random LM, made in a process of its own: this one stays small, since a child's peak RSS
    starts at its parent's (Linux keeps ``ru_maxrss`` across fork and exec)."""
    texts = [_story(i)["context"] for i in range(50)] + [_question(i)["context"] for i in range(20)]
    script = f"from tests.models import build_tiny_causal_lm\nbuild_tiny_causal_lm(__import__('pathlib').Path({str(directory)!r}), {texts!r})\n"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True)
    return directory


def start_hub(scratch: Path) -> tuple[subprocess.Popen, str]:
    """The tests' loopback Hub in a process of its own (its memory is not a stage's); its URL."""
    script = ("import sys, time\nfrom tests.hub_server import HubServer\n"
              f"hub = HubServer(users={{{TOKEN!r}: {OWNER!r}}}).start()\nprint(hub.url, flush=True)\n"
              "sys.stdin.read()\nhub.stop()\n")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def open_in_chromium(page: Path) -> float | None:
    """Seconds headless Chromium took to load ``page`` and print its DOM; None without Chromium."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        started = time.perf_counter()
        result = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                 f"--user-data-dir={profile}", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=300)
        seconds = time.perf_counter() - started
    return seconds if result.returncode == 0 and "</html>" in result.stdout else None


def run_size(count: int, work: Path, env: dict[str, str], hub_url: str, lm: Path, slice_items: int, log: Path, journal: Journal,
             validate: bool = True) -> list[Stage]:
    """Every stage on a set of ``count`` items, in ``work``; the build and the validation through the
    journal (a finished one is not run again)."""
    source = write_items(work / "items.jsonl", count)
    build, export, results = work / "build", work / "export", work / "results"
    hub_env = {**env, "HF_ENDPOINT": hub_url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": TOKEN}
    repo = f"{OWNER}/scale-{count}"
    stages: list[Stage] = []
    for earlier in (export, results, work / "pulled-hub", work / "pulled-dir", work / "variants", work / "scores.html"):
        # what an earlier run of this directory left after its build (its Hub is gone): made again
        if earlier.is_dir():
            shutil.rmtree(earlier)
        else:
            earlier.unlink(missing_ok=True)

    def stage(name: str, args: list[str], units: int | None, unit: str, output: Path, stage_env: dict[str, str] = env,
              journaled: bool = False) -> None:
        if journaled:
            seconds, rss = journal.run(f"n{count}/{name}", args, stage_env, log)
        else:
            seconds, rss = checked(f"{name} ({count} items)", args, stage_env, log)
        measured = Stage(name, count, seconds, rss, units if units is not None else clips_in(build), unit, size_mb(output))
        stages.append(measured)
        print(measured.line(), flush=True)

    checking = ["--retries", "0"] if validate else ["--no-validate"]
    stage("build", ["build", str(source), "--format", "items", "--lang", "en", "-o", str(build), *checking, "-q"], None, "clips", build,
          journaled=True)
    (work / "built").mkdir(exist_ok=True)
    if not (work / "built" / "items.jsonl").exists():  # as the build wrote it (validate rewrites it), once
        shutil.copy(build / "items.jsonl", work / "built" / "items.jsonl")
    if validate:
        stage("validate", ["validate", str(build), "-q"], None, "clips", build / "validation.json", journaled=True)
    rows = sum(1 for _ in open(build / "items.jsonl", encoding="utf-8"))
    stage("push-hub", ["push", str(build), "--repo", repo, "--license", "cc-by-4.0", "--include-failed", "-q"], rows, "rows", build, hub_env)
    stage("push-dir", ["push", str(build), "--to-dir", str(export), "--license", "cc-by-4.0", "--include-failed", "-q"], rows, "rows", export)
    stories = sum(1 for line in open(source, encoding="utf-8") if '"subset": "story"' in line)
    stage("pull-hub", ["pull", f"{repo}:story", "-o", str(work / "pulled-hub")], stories, "rows", work / "pulled-hub", hub_env)
    stage("pull-dir", ["pull", f"{export}:story", "-o", str(work / "pulled-dir")], stories, "rows", work / "pulled-dir")
    stage("score-t2t", ["score", str(build), "-m", str(lm), "--modes", "t2t", "--include-failed", "--device", "cpu", "-o", str(results / "t2t"), "-q"],
          rows, "items", results / "t2t")
    cascade = f"cascade:faster-whisper:base+{lm}"
    stage("score-s2t", ["score", str(build), "-m", cascade, "--modes", "s2t", "--include-failed", "--limit", str(slice_items), "--device", "cpu",
                        "-o", str(results / "s2t"), "-q"], slice_items, "items", results / "s2t")
    stage("report", ["report", str(results / "t2t"), str(results / "s2t"), "--html", str(work / "scores.html")], rows, "items",
          work / "scores.html")
    stage("augment", ["augment", str(build), "--noise-snr", "10", "--no-validate", "-o", str(work / "variants"), "-q"], None, "clips",
          work / "variants")
    return stages


def digest(paths: list[Path]) -> str:
    """One sha256 over the files (relative names and bytes) under ``paths``, leftovers of a crash included."""
    total = hashlib.sha256()
    for base in paths:
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in files:
            total.update(str(path.relative_to(base.parent)).encode() + b"\0" + path.read_bytes())
    return total.hexdigest()


def resumed(name: str, args: list[str], outputs: list[Path], reference: list[Path], seconds: float, env: dict[str, str], log: Path,
            prepare: Callable[[], None], journal: Journal) -> str:
    """Kill the stage half-way, re-run it, and compare what it wrote with the uninterrupted run's. A
    check whose run was cut off (the journal says it started) only re-runs: that cut was its kill."""
    key = f"resume/{name}"
    if (entry := journal.finished(key)) is not None:
        return entry["verdict"]
    if key not in journal.entries:
        prepare()
        journal.progress(key, 0.0, 0.0)
        _, _, code = s2s(args, env, log, kill_after=seconds / 2)
        if code == 0:  # said as this check's outcome, so that a later run does not take it for a kill
            journal.progress(key, 0.0, 0.0, done=True, verdict="finished before the kill")
            return "finished before the kill"
    checked(f"{name} (re-run after kill -9)", args, env, log)
    verdict = "same" if digest(outputs) == digest(reference) else "DIFFERENT"
    journal.progress(key, 0.0, 0.0, done=True, verdict=verdict)
    return verdict


def resume_checks(work: Path, env: dict[str, str], lm: Path, timings: dict[str, float], log: Path, validate: bool, journal: Journal) -> None:
    source, build, results, again = work / "items.jsonl", work / "build", work / "results", work / "again"
    again.mkdir(exist_ok=True)

    def bare_copy() -> None:  # a validation from scratch: the build's clips without its verdicts or their cache
        shutil.rmtree(again / "bare", ignore_errors=True)
        shutil.copytree(build, again / "bare", ignore=shutil.ignore_patterns(".verdicts*"))

    checks = {
        "build": (["build", str(source), "--format", "items", "--lang", "en", "-o", str(again / "build"),
                   *(["--retries", "0"] if validate else ["--no-validate"]), "-q"],
                  [again / "build" / "items.jsonl", again / "build" / "audio"], [work / "built" / "items.jsonl", build / "audio"], timings["build"],
                  lambda: None),
        "validate": (["validate", str(again / "bare"), "-q"], [again / "bare" / "items.jsonl"], [build / "items.jsonl"],
                     timings["build"], bare_copy),
        "push": (["push", str(build), "--to-dir", str(again / "export"), "--license", "cc-by-4.0", "--include-failed", "-q"], [again / "export"],
                 [work / "export"], timings["push-dir"], lambda: None),
        "score": (["score", str(build), "-m", str(lm), "--modes", "t2t", "--include-failed", "--device", "cpu", "-o", str(again / "t2t"), "-q"],
                  [again / "t2t" / "scores.jsonl"], [results / "t2t" / "scores.jsonl"], timings["score-t2t"], lambda: None),
    }
    if not validate:
        del checks["validate"]
    for name, (args, outputs, reference, seconds, prepare) in checks.items():
        print(f"resume_{name}={resumed(name, args, outputs, reference, seconds, env, log, prepare, journal)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000, help="items of the large set (the small one has a quarter)")
    parser.add_argument("--slice", type=int, default=100, help="items the cascade scores in s2t")
    parser.add_argument("--resume", action="store_true", help="also kill -9 build, validate, push and score of the large set mid-way")
    parser.add_argument("--no-validate", dest="validate", action="store_false",
                        help="build without the recognizer (synthesis only), and no validate stage: the other stages at full size in minutes")
    parser.add_argument("--keep", type=Path, help="work here and keep everything (default: a temporary directory)")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="s2s-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "stages.log"
    env = {**os.environ, "HF_HOME": str(work / "hf-home"), "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "PYTHONPATH": str(ROOT)}
    env.pop("HF_TOKEN", None)
    print(f"work: {work} (every command's output: {log})", flush=True)
    journal = Journal(work / "journal.json")
    if journal.entries:
        print(f"journal: {journal.summary()}", flush=True)
    lm = tiny_lm(work / "tiny-lm")
    hub, hub_url = start_hub(work)
    try:
        sizes = [max(1, args.items // 4), args.items]
        measured = {}
        for count in sizes:
            directory = work / f"n{count}"
            directory.mkdir(exist_ok=True)
            stages = run_size(count, directory, env, hub_url, lm, min(args.slice, count), log, journal, args.validate)
            measured[count] = {stage.name: stage for stage in stages}
        small, large = (measured[count] for count in sizes)
        for name, stage in large.items():
            print(f"rss_ratio stage={name} {stage.peak_rss_mb / small[name].peak_rss_mb:.2f} "
                  f"({stage.peak_rss_mb:.0f} MB at {args.items} items, {small[name].peak_rss_mb:.0f} MB at {sizes[0]})", flush=True)
        for label, page in (("build", work / f"n{args.items}" / "build" / "report.html"), ("scores", work / f"n{args.items}" / "scores.html")):
            opened = open_in_chromium(page)
            print(f"page={label} size_mb={size_mb(page):.2f} chromium_seconds={'n/a' if opened is None else f'{opened:.1f}'}", flush=True)
        build = large["build"]
        clips_per_item = build.units / args.items
        per_clip = build.seconds / build.units
        for name, items, clips in (("sStoryCloze", STORYCLOZE_STORIES, 3), ("sCMMLU", CMMLU_QUESTIONS, 5)):
            rest = sum(stage.seconds / stage.items for key, stage in large.items() if key not in ("build", "score-s2t"))
            hours = (items * clips * per_clip + items * rest) / 3600
            print(f"projected {name}: {items} items, {items * clips} clips: {hours:.2f} h on this machine "
                  f"(build at {1 / per_clip:.2f} clips/s, {'validated' if args.validate else 'synthesis only, not validated'}; "
                  f"measured {clips_per_item:.2f} clips per item here)", flush=True)
        if args.resume:
            resume_checks(work / f"n{args.items}", env, lm, {k: v.seconds for k, v in large.items()}, log, args.validate, journal)
    finally:
        hub.stdin.close()
        hub.wait(timeout=60)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
