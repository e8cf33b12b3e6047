"""Inputs from a closed set: templates name known fields only, a results directory's run.json is
checked before a merge rewrites anything, a folder with items but no build.json is no build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app

runner = CliRunner()
QUESTIONS = Path(__file__).parent / "fixtures" / "sources"


@pytest.mark.parametrize("template", ["{option!r:{letter}}", "{option.__class__}", "{0}", "{option:>{letter}}", "{answer}", "{option"])
def test_a_template_outside_the_closed_set_is_one_line(tmp_path: Path, template: str):
    result = runner.invoke(app, ["build", "sample:en", "--template", template, "-o", str(tmp_path / "b"), "--no-validate", "--limit", "1"])
    assert result.exit_code == 2 and "--template" in result.stderr and "{option}, {letter}, {question}" in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "b" / "items.jsonl").exists()


def test_literal_braces_and_every_field_are_a_template(tmp_path: Path):
    result = runner.invoke(app, ["build", str(QUESTIONS / "cmmlu"), "--format", "cmmlu", "--lang", "zh", "--template", "{{{letter}}} {option} ({question})",
                                 "-o", str(tmp_path / "b"), "--no-validate", "--speak", "context", "--limit", "1", "-q"])
    assert result.exit_code == 0, result.output
    item = json.loads((tmp_path / "b" / "items.jsonl").read_text().splitlines()[0])
    assert item["candidates"][0].startswith("{A} ") and item["candidates"][0].endswith(f"({item['context']})")


def test_a_merge_over_an_edited_run_json_writes_nothing(spoken_build: Path, tmp_path: Path):
    results = tmp_path / "r"
    results.mkdir()
    (results / "scores.jsonl").write_text(json.dumps({"id": "story-en-000000", "subset": "story", "mode": "t2t", "candidate": 0, "answer": 0,
                                                      "loss": 1.0, "n_tokens": 3, "last": True}) + "\n")
    (results / "run.json").write_text(json.dumps({"model": "m", "modes": "t2t"}))
    result = runner.invoke(app, ["score", "--merge", "-o", str(results)])
    assert result.exit_code == 2 and "modes: expected a list" in result.stderr and not (results / "summary.json").exists()


def test_items_without_a_build_json_are_no_build(spoken_build: Path, tmp_path: Path):
    shutil.copytree(spoken_build, tmp_path / "b")
    (tmp_path / "b" / "build.json").unlink()
    result = runner.invoke(app, ["score", str(tmp_path / "b"), "-m", "unused", "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "not a build directory" in result.stderr and "Unknown split" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_text_from_data_is_isolated_and_clipped_on_report_pages(tmp_path: Path):
    import html
    import re

    from s2sbench.tables import Table, to_html
    from s2sbench.webpage import STYLE, page

    marks = "a" + "\u0301" * 10_000
    override = "\u202egnp.elif"
    table = Table(["id", "context", "error"], "llr", [["item-1", marks, "0.10"], ["item-2", override, "0.20"]])
    text = to_html(table)
    cells = re.findall(r"<td(?: class=num)?>(.*?)</td>", text, re.S)
    assert cells[1] == f"<div class=t dir=auto>{html.escape(marks)}</div>" and cells[4] == f"<div class=t dir=auto>{html.escape(override)}</div>"
    assert cells[2] == "0.10"  # numbers are ours
    assert re.search(r"\.t \{[^}]*max-height: 12em;[^}]*overflow: hidden", STYLE)
    path = tmp_path / "page.html"
    path.write_text(page("hostile texts", [text]), encoding="utf-8")
    from tests.browser import open_page

    seen = open_page(path)
    assert seen["errors"] == [] and seen["console"] == [], seen


def test_a_shard_size_below_a_row_gives_one_row_a_shard(spoken_build: Path, tmp_path: Path):
    result = runner.invoke(app, ["push", str(spoken_build), "--to-dir", str(tmp_path / "out"), "--max-shard-size", "1KB"])
    assert result.exit_code == 0, result.output
    for config in ("story", "question"):
        shards = sorted((tmp_path / "out" / config).glob("*.parquet"))
        assert len(shards) == 2 and shards[-1].name == "test-00001-of-00002.parquet"


def test_a_clip_replaced_after_its_verdict_is_neither_published_nor_scored(sample_en_build: Path, tmp_path: Path):
    build = tmp_path / "b"
    shutil.copytree(sample_en_build, build)
    items = [json.loads(line) for line in (build / "items.jsonl").read_text().splitlines()]
    kept = next(n for n, item in enumerate(items, start=1) if item["validation"]["passed"])
    item = items[kept - 1]
    assert len(item["validation"]["context"]["sha256"]) == 64  # each verdict names the bytes it judged
    other = next(i for i in items if i["audio"]["context"] != item["audio"]["context"])
    (build / item["audio"]["context"]).write_bytes((build / other["audio"]["context"]).read_bytes())  # other audio, a valid WAV
    pushed = runner.invoke(app, ["push", str(build), "--to-dir", str(tmp_path / "out")])
    assert pushed.exit_code == 2 and f"items.jsonl:{kept}: audio.context:" in pushed.stderr and "changed since it was validated" in pushed.stderr
    scored = runner.invoke(app, ["score", str(build), "-m", "unused", "-o", str(tmp_path / "r")])
    assert scored.exit_code == 2 and "changed since it was validated" in scored.stderr and len(scored.stderr.strip().splitlines()) == 1
    validated = runner.invoke(app, ["validate", str(build), "-q"])  # heard again: a verdict on the new bytes
    assert validated.exit_code == 0, validated.output
    again = runner.invoke(app, ["push", str(build), "--to-dir", str(tmp_path / "out")])
    assert "changed since it was validated" not in again.output
