"""docs/adding-a-language.md runs as written: every `s2s ...` and `python -c ...` line of its ```bash
blocks and every ```python block, in order, in one working directory, with real engines (espeak-ng
speaks, the offline Whisper base listens).

What a reader does between the commands (fill in the template's TODO lines, write a threshold) is
done by ``BETWEEN``; the stories file is a one-story XStoryCloze CSV this test writes. A command that
needs the network is in ``SKIPPED`` with the reason, a slow one's smaller input in ``SMALLER``; any
other command added to the guide is run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from s2sbench.cli import app
from tests.test_langs import COLUMNS, _bundled_text

GUIDE = Path(__file__).parent.parent / "docs" / "adding-a-language.md"

# Command prefix -> why it is not run here.
SKIPPED = {
    "s2s build hf://": "downloads XStoryCloze from the Hub",
    "s2s push builds/sw-sample --repo ": "uploads to the Hub (a token and the network)",
}
# Text in a command -> (its smaller stand-in, why).
SMALLER = {
    "for r in list_profiles()]": ("for r in list_profiles() if r.code == 'en']", "a round trip per bundled language takes 25 s; one shows the command works"),
}
# `s2s langs check` prints its table and exits 1 when a round trip fails: a measured result, not an error.
EXIT_CODES = {"s2s langs check ": (0, 1)}

SWAHILI_STORY = ["sw-1", "Juma aliamka mapema asubuhi.", "Alikunywa chai na mkate.", "Kisha alikwenda shuleni.", "Mwalimu alimsalimu.",
                 "Juma alisoma vizuri siku hiyo.", "Juma aliruka hadi mwezini.", "1"]


@dataclass(frozen=True)
class Command:
    line: int  # in the guide
    kind: str  # "s2s", "python -c" or "python" (a whole ```python block)
    text: str


def guide_commands() -> list[Command]:
    commands, fence, start, block = [], None, 0, []
    for number, line in enumerate(GUIDE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            if fence is None:
                fence, start, block = line[3:].strip(), number, []
                continue
            if fence == "python":
                commands.append(Command(start, "python", "\n".join(block)))
            fence = None
        elif fence == "bash" and line.startswith("s2s "):
            commands.append(Command(number, "s2s", line))
        elif fence == "bash" and line.startswith("python -c "):
            commands.append(Command(number, "python -c", line))
        elif fence is not None:
            block.append(line)
    return commands


# --------------------------------------------------------------------------- what the reader does between commands


def fill_in_template(work: Path) -> None:
    """Step 1: "Lines marked TODO are yours" (the bundled Swahili profile's texts stand in)."""
    path = work / "profiles" / "sw.toml"
    bundled = _bundled_text("sw")
    text = path.read_text(encoding="utf-8")
    for key in ("check_sentence", "question_candidate", "speech_prefix"):
        value = re.search(rf'^{key} = ("[^"]*")', bundled, flags=re.M).group(1)
        line = f"{key} = {value}"
        text, count = re.subn(rf'^{key} = "[^"]*"', lambda _, line=line: line, text, count=1, flags=re.M)
        assert count == 1, key
    path.write_text(text, encoding="utf-8")


def write_threshold(work: Path) -> None:
    """Step 5: a max_error from the sample's errors (here above every clip's, so the sample is pushed)."""
    errors = [clip["error"] for clip in json.loads((work / "builds" / "sw-sample" / "validation.json").read_text(encoding="utf-8"))["clips"]]
    path = work / "profiles" / "sw.toml"
    threshold = math.ceil(max(errors) * 20 + 1) / 20
    path.write_text(re.sub(r"^max_error = [0-9.]+", f"max_error = {threshold}", path.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")


BETWEEN: dict[str, Callable[[Path], None]] = {
    "s2s langs new sw -o profiles/sw.toml": fill_in_template,
    "s2s build stories.csv ": write_threshold,
}


# --------------------------------------------------------------------------- running them


def test_every_skip_and_substitution_still_names_a_command_of_the_guide():
    commands = guide_commands()
    assert [c.kind for c in commands].count("python") >= 1 and sum(c.kind == "s2s" for c in commands) >= 6
    for prefix in [*SKIPPED, *BETWEEN, *EXIT_CODES]:
        assert any(c.text.startswith(prefix) for c in commands), f"no command of the guide starts with {prefix!r}"
    for text in SMALLER:
        assert any(text in c.text for c in commands), f"no command of the guide has {text!r}"


def _prefixed(table: dict, text: str):
    return next((value for prefix, value in table.items() if text.startswith(prefix)), None)


def _run_python(code: str, work: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(work.parent / "hf-datasets")}
    return subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=300)


def test_the_guide_runs_as_written(tmp_path: Path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    with open(work / "stories.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS, SWAHILI_STORY])
    monkeypatch.chdir(work)
    runner = CliRunner()
    ran = []
    for command in guide_commands():
        if _prefixed(SKIPPED, command.text):
            continue
        text = command.text
        for original, (smaller, _) in SMALLER.items():
            text = text.replace(original, smaller)
        where = f"docs/adding-a-language.md:{command.line}: {command.text}"
        if command.kind == "s2s":
            result = runner.invoke(app, shlex.split(text, comments=True)[1:])
            code, output = result.exit_code, result.output
            assert result.exception is None or isinstance(result.exception, SystemExit), (where, repr(result.exception))
        else:
            script = shlex.split(text)[2] if command.kind == "python -c" else text
            process = _run_python(script, work)
            code, output = process.returncode, process.stdout + process.stderr
        assert code in (_prefixed(EXIT_CODES, text) or (0,)), f"{where}\nexit {code}\n{output}"
        ran.append((command.text, output))
        if action := _prefixed(BETWEEN, command.text):
            action(work)
    outputs = dict(ran)
    assert len(ran) == len(guide_commands()) - len(SKIPPED)
    # step 7 loads the config `s2s push` wrote, under the name the guide gives
    push = next(output for text, output in ran if text.startswith("s2s push builds/sw-sample --to-dir"))
    load = next(output for text, output in ran if "load_dataset('export/sw', 'sw-sStoryCloze'" in text)
    assert "sw-sStoryCloze: 1 item" in push and "num_rows: 1" in load, (push, load)
    assert "| en | English |" in next(output for text, output in outputs.items() if "check_table" in text)
    assert (work / "profiles" / "sw-v2.toml").is_file()  # the Python API block's last line


def test_the_subset_names_step_4_gives(tmp_path: Path):
    """A config is named after the build's subset: `<lang>-sStoryCloze` for XStoryCloze files, `sStoryCloze`
    for the ROCStories layout (given or sniffed) whatever the language, unless --subset names it."""
    from s2sbench import BuildOptions, build
    from s2sbench.langs import write_profile_template

    profile = str(write_profile_template("de", tmp_path / "de.toml"))
    story = ["de-1", "Anna backte einen Kuchen.", "Sie stellte ihn ans Fenster.", "Der Hund roch ihn.", "Ein Stück fehlte.", "Anna schimpfte.", "Anna flog zum Mond.", "1"]
    rocstories = ["InputStoryid", "InputSentence1", "InputSentence2", "InputSentence3", "InputSentence4", "RandomFifthSentenceQuiz1", "RandomFifthSentenceQuiz2", "AnswerRightEnding"]
    for header in (COLUMNS, rocstories):
        with open(tmp_path / f"{header[0]}.csv", "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, story])

    def subsets(source: str, **options) -> set[str]:
        output = tmp_path / f"build-{len(list(tmp_path.iterdir()))}"
        build(BuildOptions(source=str(tmp_path / source), output=output, lang="de", profile=profile, validate=False, **options))
        return {json.loads(line)["subset"] for line in (output / "items.jsonl").read_text(encoding="utf-8").splitlines()}

    assert subsets("story_id.csv", format="xstorycloze") == {"de-sStoryCloze"}
    assert subsets("InputStoryid.csv") == subsets("InputStoryid.csv", format="storycloze") == {"sStoryCloze"}
    assert subsets("InputStoryid.csv", format="storycloze", subset="de-sStoryCloze") == {"de-sStoryCloze"}
