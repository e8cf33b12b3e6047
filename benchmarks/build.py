"""Builds timed: faster-whisper's windows (``--asr-window auto`` vs ``30``), then batching.

Windows (``--part windows``): each set (the sample's stories, ``--held-out`` generated stories whose
texts no threshold was ever set on, and long questions) built in one run, the same items, ``--asr-window 30`` then
``auto``, ``--repeats`` times in turn (default 2: the shared machine's timings vary); prints each
build's time, ``build_window_speedup=X`` (the 30 s build's best time over auto's),
``verdict_disagreement=X`` (the share of clips whose pass/fail differs from the 30 s window's; every
disagreement listed with both transcripts), the mean and median error under each (auto's, and that
of auto's first hearing before a failing clip is heard again at 30 s), and how many clips auto
heard again. Sets: ``stories``, the English sample's 16 stories (48
clips of 1.7-12 s; the headline lines, unprefixed), and ``questions``, generated CMMLU-format
questions with four options whose spoken questions last 10-25 s (the options are short clips).

Batches (``--part batches``): the same generated source built at batch size 1 and at the default batch.
Prints clips/s of each and ``build_batched_speedup=X``, then the peak memory (RSS) of builds of
N and 4N items and ``rss_4n_over_n=X``, and the projected wall time of a 3742-item sStoryCloze build.

Each build runs in a fresh process (so its peak RSS is its own) into a fresh directory (so every
clip is synthesized and recognized), with espeak-ng and validation by ``--asr`` (default Whisper
base, faster-whisper) on ``--device``; ``--retries 0`` by default, so both builds do the same work.

    PYTHONPATH=. python benchmarks/build.py [--part all|windows|batches] [--repeats 2] [--stories 30] [--device cuda] [--batch-size 8]

Targets: ``build_window_speedup >= 2.0`` on a 2-core CPU with ``verdict_disagreement <= 0.03`` on
the sample stories (for ``auto`` to be the default); (issue 14) ``build_batched_speedup >= 1.25`` on a
2-core CPU, ``>= 5`` with faster-whisper on a GPU; ``rss_4n_over_n <= 1.10``.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import resource
import statistics
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from benchmarks.executors import write_stories
from s2sbench.pipeline.options import DEFAULT_BATCH_SIZE

STORYCLOZE_ITEMS = 3742  # sStoryCloze: 3742 two-way items, 3 clips each


def _build(source: str, output: str, options: dict, results: multiprocessing.Queue) -> None:
    from s2sbench import BuildOptions, build

    started = time.perf_counter()
    summary = build(BuildOptions(source=source, output=Path(output), **options))
    seconds = time.perf_counter() - started
    clips = summary.clips_synthesized + summary.clips_reused  # every clip is checked: a text two items share is one file
    results.put((seconds, clips, summary.items, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measured_build(source: str, output: Path, **options) -> tuple[float, int, int, float]:
    """(seconds, clips in the build, items, peak RSS in MiB) of one build in a fresh process."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_build, args=(source, str(output), options, results))
    process.start()
    outcome = results.get()
    process.join()
    return outcome


def write_sample_stories(path: Path) -> Path:
    """The English sample's stories (items format): 16 items, a context and two endings each."""
    rows = [line for line in files("s2sbench.sample").joinpath("en.jsonl").read_text(encoding="utf-8").splitlines()
            if json.loads(line)["subset"] == "story"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# Generated questions (original text): a setting, 1 to 4 more facts, then the question. Spoken by
# espeak-ng at its default rate they last 10 to 25 s; the four options are short.
_PEOPLE = ["A baker", "A farmer", "A teacher", "A nurse", "A pilot", "A painter"]
_FACTS = ["The town has one bridge over a slow river.", "Every morning the market opens at seven and closes before noon.",
          "Last winter the roads were closed for two weeks because of heavy snow.",
          "Her neighbours grow apples, pears and plums in a long garden behind the school.",
          "The nearest hospital is forty kilometres away, on the other side of the hills.",
          "Most families keep chickens, and some keep a cow or two for milk."]
_PLACES = ["north", "south", "east", "west"]
_SEASONS = ["Summer", "Autumn", "Winter", "Spring"]
_REASONS = ["To buy fish", "To see a doctor", "To sell snow", "To cross the sea", "To fly a kite", "To mend a boat"]
_FRUITS = ["Apples", "Pears", "Plums", "Bananas", "Mangoes", "Coconuts"]


def _question(index: int) -> tuple[str, list[str], int]:
    """The question, four options and the right one's index of generated item ``index``."""
    kind, turn = index % 4, index // 4
    if kind == 0:
        per_day = 20 + 5 * turn
        return f"how many loaves does the shop sell in a week if it sells {per_day} on each of six days?", \
            [str(6 * per_day), str(5 * per_day), str(7 * per_day), str(4 * per_day)], 0
    if kind == 1:
        options = _SEASONS[turn % 4 :] + _SEASONS[: turn % 4]
        return "which season makes the journey to the city take the longest?", options, options.index("Winter")
    if kind == 2:
        options = [_REASONS[(turn + k) % len(_REASONS)] for k in range(4)]
        if "To see a doctor" not in options:
            options[turn % 4] = "To see a doctor"
        return "what is the main reason people in the town travel to the city?", options, options.index("To see a doctor")
    grown = ["Apples", "Pears", "Plums"]
    wrong = _FRUITS[3 + turn % 3]
    options = grown[: turn % 4] + [wrong] + grown[turn % 4 :]
    return "which of these fruits is not grown in the garden?", options, options.index(wrong)


def write_long_questions(path: Path, count: int) -> Path:
    """``count`` CMMLU-format questions (index, Question, A, B, C, D, Answer) whose questions last
    10-25 s spoken; the options differ from item to item."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "Question", "A", "B", "C", "D", "Answer"])
        for index in range(count):
            facts = [_FACTS[(index + k) % len(_FACTS)] for k in range(1 + index % 4)]
            question, options, answer = _question(index)
            person, place = _PEOPLE[index % len(_PEOPLE)], _PLACES[index // len(_PEOPLE) % len(_PLACES)]
            text = f"{person} lives in a small town in the {place}. " + " ".join(facts) + f" Given this, {question}"
            writer.writerow([index, text, *options, "ABCD"[answer]])
    return path


def _verdicts(root: Path) -> dict[tuple[str, str], dict]:
    """Every clip's verdict in a build, by (item id, part)."""
    verdicts = {}
    for line in (root / "items.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        parts = [("context", item["validation"]["context"])]
        parts += [(f"candidate {i}", v) for i, v in enumerate(item["validation"]["candidates"] or [])]
        for part, verdict in parts:
            verdicts[(item["id"], part)] = verdict
    return verdicts


def _errors(values: list[float]) -> str:
    return f"mean {statistics.fmean(values):.3f}, median {statistics.median(values):.3f}"


def compare_windows(label: str, source: str, root: Path, options: dict, headline: bool, repeats: int, fmt: str | None = None) -> None:
    """Build ``source`` with ``--asr-window 30`` then ``auto``, ``repeats`` times in turn (each into a
    fresh directory; the best time of each counts), and print how they differ."""
    extra = {"format": fmt} if fmt else {}
    seconds: dict[str, list[float]] = {"30": [], "auto": []}
    verdicts: dict[str, dict] = {}
    for repeat in range(repeats):
        for window in ("30", "auto"):
            output = root / f"{label}-{window}-{repeat}"
            took, clips, items, _ = measured_build(source, output, asr_window=window, **options, **extra)
            seconds[window].append(took)
            found = _verdicts(output)
            assert verdicts.setdefault(window, found) == found, "a build's verdicts changed from one run to the next"
            durations = [v["duration"] for (_, part), v in found.items() if part == "context"]
            print(f"{label} --asr-window {window}: {items} items, {clips} clips (contexts {min(durations):.1f}-{max(durations):.1f} s) "
                  f"in {took:.1f} s = {clips / took:.2f} clips/s", flush=True)
    seconds = {window: min(times) for window, times in seconds.items()}
    full, auto = verdicts["30"], verdicts["auto"]
    assert full.keys() == auto.keys()
    differ = [key for key in full if full[key]["passed"] != auto[key]["passed"]]
    prefix = "" if headline else f"{label}: "
    print(f"{prefix}build_window_speedup={seconds['30'] / seconds['auto']:.2f} (best of {repeats}: {seconds['30']:.1f} s and {seconds['auto']:.1f} s)")
    print(f"{prefix}verdict_disagreement={len(differ) / len(full):.3f} ({len(differ)} of {len(full)} clips)")
    for key in differ:
        a, f = auto[key], full[key]
        print(f"  {key[0]} {key[1]}: auto ({a.get('window')} s) {'pass' if a['passed'] else 'fail'} error {a['error']:.2f} {a['asr']!r}; "
              f"30 s {'pass' if f['passed'] else 'fail'} error {f['error']:.2f} {f['asr']!r}")
    again = [v for v in auto.values() if "short_window" in v]
    first = [v["short_window"]["error"] if "short_window" in v else v["error"] for v in auto.values()]
    print(f"{label} error: 30 s {_errors([v['error'] for v in full.values()])}; auto {_errors([v['error'] for v in auto.values()])}; "
          f"auto's first hearing {_errors(first)}")
    print(f"{label} passed: 30 s {sum(v['passed'] for v in full.values())}, auto {sum(v['passed'] for v in auto.values())} of {len(full)}; "
          f"auto heard {len(again)} clips again at 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=30, help="N: generated StoryCloze-format items (3 clips each)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="the batched build's batch size")
    parser.add_argument("--asr", default="faster-whisper:base")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--part", choices=("all", "windows", "batches"), default="all")
    parser.add_argument("--questions", type=int, default=16, help="generated long questions (5 clips each) for the windows part")
    parser.add_argument("--repeats", type=int, default=2, help="builds of each set under each window, in turn; the best time counts")
    parser.add_argument("--held-out", type=int, default=24, help="generated stories (3 clips each, texts no threshold was set on) for the windows part")
    args = parser.parse_args()
    options = {"lang": "en", "asr": args.asr, "device": args.device, "retries": args.retries}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        if args.part in ("all", "windows"):
            window_options = {**options, "batch_size": args.batch_size}
            stories = str(write_sample_stories(root / "stories.jsonl"))
            compare_windows("stories", stories, root, window_options, headline=True, repeats=args.repeats)
            if args.held_out:
                from benchmarks.scale import write_items

                held_out = str(write_items(root / "held-out.jsonl", args.held_out * 5 // 4))  # one in five is a question: dropped below
                lines = [line for line in Path(held_out).read_text(encoding="utf-8").splitlines() if '"subset": "story"' in line]
                Path(held_out).write_text("\n".join(lines[: args.held_out]) + "\n", encoding="utf-8")
                compare_windows("held-out", held_out, root, window_options, headline=False, repeats=args.repeats, fmt="items")
            questions = str(write_long_questions(root / "questions.csv", args.questions))
            compare_windows("questions", questions, root, window_options, headline=False, repeats=args.repeats, fmt="cmmlu")
        if args.part == "windows":
            return
        source = str(write_stories(root / "stories.csv", args.stories))
        rates = {}
        for batch_size in (1, args.batch_size):
            seconds, clips, items, rss = measured_build(source, root / f"batch{batch_size}", batch_size=batch_size, **options)
            rates[batch_size] = clips / seconds
            print(f"batch {batch_size}: {items} items, {clips} clips in {seconds:.1f} s = {rates[batch_size]:.2f} clips/s, peak RSS {rss:.0f} MiB", flush=True)
        print(f"build_batched_speedup={rates[args.batch_size] / rates[1]:.2f}")
        hours = STORYCLOZE_ITEMS * 3 / rates[args.batch_size] / 3600
        print(f"projected sStoryCloze build ({STORYCLOZE_ITEMS} items, {STORYCLOZE_ITEMS * 3} clips) at batch {args.batch_size}: {hours:.1f} h")

        many = str(write_stories(root / "stories4.csv", 4 * args.stories))
        peaks = {}
        for label, items_source in (("N", source), ("4N", many)):
            seconds, clips, items, rss = measured_build(items_source, root / f"rss-{label}", batch_size=args.batch_size, **options)
            peaks[label] = rss
            print(f"{label}: {items} items, {clips} clips in {seconds:.1f} s, peak RSS {rss:.0f} MiB", flush=True)
        print(f"rss_4n_over_n={peaks['4N'] / peaks['N']:.3f}")


if __name__ == "__main__":
    main()
