"""What speech broke, to listen to: the items a run got right from text and wrong from speech.

For ``s2s report --html``: per run, up to :data:`MAX_FLIPPED` such items, the worst first (the largest
margin by which an implausible candidate beat the plausible one from speech), each with its context
text, its context clip playable in the page (read from the build the run scored, through the build's
checked clip paths), the transcript where a cascade made one (``samples.jsonl`` of ``--log-samples``),
and each candidate's loss in both modes (the plausible one marked). A run whose source is not a build
directory on this machine (an export, a Hub copy) lists its items without clips. A run where speech
flipped no item says so, and lists the items worst from speech instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from s2sbench._io import parse_json
from s2sbench.builddir import BuildDirectory
from s2sbench.scorer.results import SAMPLES_FILE, read_run
from s2sbench.tables import Section, Table
from s2sbench.webpage import ClipBudget, audio_player

MAX_FLIPPED = 20


def _margin(entry: dict[str, Any]) -> float:
    """How far the plausible candidate lost: its loss minus the best other candidate's (> 0: wrong)."""
    losses = entry["losses"]
    answer = entry["answer"]
    return losses[answer] - min(loss for k, loss in losses.items() if k != answer)


def flipped(scores: dict[tuple[str, str], dict[str, Any]], limit: int = MAX_FLIPPED) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(item id, t2t entry, s2t entry) of the items right from text and wrong from speech, by ``acc``
    (the plausible candidate strictly lowest), the largest speech margin first, then by id."""
    found = []
    for (item_id, mode), spoken in scores.items():
        text = scores.get((item_id, "t2t"))
        if mode != "s2t" or text is None or len(spoken["losses"]) < 2:
            continue
        if _margin(text) < 0 <= _margin(spoken):
            found.append((item_id, text, spoken))
    found.sort(key=lambda entry: (-_margin(entry[2]), entry[0]))
    return found[:limit]


def worst_from_speech(scores: dict[tuple[str, str], dict[str, Any]], limit: int = MAX_FLIPPED) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(item id, t2t entry, s2t entry) of the items scored in both modes, the largest speech margin
    (the plausible candidate's loss over the best other's) first, then by id: what to listen to first
    when speech flipped no item."""
    found = [(item_id, scores[(item_id, "t2t")], spoken) for (item_id, mode), spoken in scores.items()
             if mode == "s2t" and (item_id, "t2t") in scores and len(spoken["losses"]) >= 2]
    found.sort(key=lambda entry: (-_margin(entry[2]), entry[0]))
    return found[:limit]


def _transcripts(directory: Path) -> dict[str, str]:
    """What a cascade heard of each item's context, from ``samples.jsonl`` (s2t lines)."""
    path = directory / SAMPLES_FILE
    heard: dict[str, str] = {}
    if not path.is_file():
        return heard
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = parse_json(line)
            except ValueError:
                continue  # a torn last line: the transcript is left out, the rest stands
            if isinstance(record, dict) and record.get("mode") == "s2t" and isinstance(record.get("context"), str):
                heard[str(record.get("id"))] = record["context"]
    return heard


def _build_items(run: dict[str, Any], wanted: set[str]) -> tuple[BuildDirectory | None, dict[str, Any]]:
    source = (read_run(run["directory"]) or {}).get("source")
    directory = BuildDirectory(str(source)) if source else None
    if directory is None or not directory.exists():
        return None, {}
    items = {}
    for number, item in directory.iter_numbered_items():
        if item.id in wanted:
            items[item.id] = (number, item)
    return directory, items


def _losses(entry: dict[str, Any]) -> str:
    return " ".join(f"{'*' if k == entry['answer'] else ''}{entry['losses'][k]:.3f}" for k in sorted(entry["losses"]))


def flipped_section(run: dict[str, Any], public_name: str, budget: ClipBudget) -> Section | None:
    """The run's flipped items as a page table with a clip column (embedded while the page's ``budget``
    lasts); where speech flipped none, it says so and offers the items worst from speech instead; None
    when no item was scored in both modes."""
    items = flipped(run["shared"])
    title = (f"{public_name}: right from text, wrong from speech ({len(items)}{'' if len(items) < MAX_FLIPPED else ' worst'}, "
             "the largest speech margin first)")
    if not items:
        items = worst_from_speech(run["shared"])
        title = (f"{public_name}: no item was right from text and wrong from speech; the {len(items)} worst from speech, "
                 "to listen to (the largest speech margin first)")
    if not items:
        return None
    directory, built = _build_items(run, {item_id for item_id, _, _ in items})
    heard = _transcripts(run["directory"])
    table = Table(["id", "context", "transcript", "losses t2t (*plausible)", "losses s2t"], "lllll")
    players = []
    for item_id, text, spoken in items:
        number, item = built.get(item_id, (None, None))
        table.add(item_id, item.context if item else "", heard.get(item_id, ""), _losses(text), _losses(spoken))
        clip = None
        if directory is not None and item is not None and item.audio:
            path = directory.clip_paths(item, f"{directory.items_path}:{number}")[0]
            clip = path.read_bytes() if path.is_file() else None
        players.append(audio_player(clip, item.audio["context"] if item is not None and item.audio else "(no clip)", budget))
    table.markup_header, table.markup = "context clip", players
    return title, table
