"""Inputs made to break a reader: JSON nested past the parser's recursion, lines that are not records,
score files edited by hand, clips and prompts far longer than any benchmark's, a huge source read
for five items, a full disk, a machine without FFmpeg. Each ends in one line naming the file, line
and field (exit status 2), or is read as what it is; nothing already made is lost."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from s2sbench import BuildOptions
from s2sbench.builders import BuildContext
from s2sbench.cli import app
from s2sbench.clip_length import MAX_CLIP_SECONDS
from s2sbench.errors import ProfileError
from s2sbench.pipeline.source import scan_source
from s2sbench.profiles import MAX_PROMPT_CHARS, load_profile
from tests.test_faults import GOOD_PROFILE, one_line_error
from tests.test_report import results_dir

runner = CliRunner()
DEEP = "[" * 100_000 + "]" * 100_000  # 200 kB: inside the 1 MiB line limit, far past json's recursion
MAP = ["--format", "jsonl", "--map", "context=prompt,candidates=endings,answer=label", "--license", "cc0-1.0"]


def story(n: int) -> dict:
    return {"prompt": f"Tom went to the store for the {n}th time.", "endings": ["He bought milk.", "The moon ate him."], "label": 0}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def copy(five_build: Path, tmp_path: Path) -> Path:
    target = tmp_path / "build"
    shutil.copytree(five_build, target)
    return target


# --------------------------------------------------------------------------- sources


@pytest.mark.parametrize(("line", "problem"), [(DEEP, "json: not valid JSON (nested too deeply"), ('{"prompt": ' + DEEP + "}", "nested too deeply"),
                                               ("[1, 2, 3]", "json: expected an object"), ("42", "json: expected an object"),
                                               ('"a story"', "json: expected an object")])
def test_a_source_line_that_is_no_record_is_one_line(tmp_path: Path, line: str, problem: str):
    source = write_lines(tmp_path / "src.jsonl", [json.dumps(story(1)), line])
    result = runner.invoke(app, ["build", str(source), *MAP, "-o", str(tmp_path / "out"), "--no-validate", "-q"])
    one_line_error(result, "src.jsonl:2:", problem)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("spec", "problem"), [("context=__class__,candidates=endings,answer=label", "src.jsonl:1: __class__: missing column"),
                                             ("context=prompt,candidates=__dict__|endings,answer=label", "src.jsonl:1: __dict__: missing column"),
                                             ("__class__=prompt,candidates=endings,answer=label", "--map: unknown key(s) __class__")])
def test_a_hostile_map_names_columns_never_attributes(tmp_path: Path, spec: str, problem: str):
    source = write_lines(tmp_path / "src.jsonl", [json.dumps(story(1))])
    result = runner.invoke(app, ["build", str(source), "--format", "jsonl", "--map", spec, "--license", "cc0-1.0", "-o", str(tmp_path / "out"), "-q"])
    one_line_error(result, problem)
    assert not (tmp_path / "out").exists()


def test_a_limit_reads_the_source_only_up_to_the_limit(tmp_path: Path):
    """``--limit 5`` (no --seed) builds the first five items: the rows after them are never read, so
    a 200,000-row source costs what a 200-row one does, and a broken row after the limit is no error."""
    small = write_lines(tmp_path / "small.jsonl", [json.dumps(story(n)) for n in range(200)])
    big = write_lines(tmp_path / "big.jsonl", [json.dumps(story(n)) for n in range(200_000)] + ["not json"])

    def peak(source: Path) -> tuple[int, int]:
        options = BuildOptions(source=str(source), output=tmp_path / "unused", format="jsonl", limit=5, validate=False)
        context = BuildContext(lang="en", profile=load_profile("en"), column_map={"context": "prompt", "candidates": "endings", "answer": "label"})
        tracemalloc.start()
        try:
            scan = scan_source(options, context)
            return scan.total, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    (small_total, small_peak), (big_total, big_peak) = peak(small), peak(big)
    assert small_total == big_total == 5
    assert big_peak < small_peak + 256 * 1024, (small_peak, big_peak)  # 256 kB of slack for allocator noise; reading all rows took ~45 MB
    result = runner.invoke(app, ["build", str(big), *MAP, "-o", str(tmp_path / "out"), "--limit", "5", "--no-validate", "-q", "--speak", "context"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "build.json").read_text())
    assert manifest["counts"]["source_items_read"] == 5 and "source_items" not in manifest["counts"]
    assert sum(1 for _ in (tmp_path / "out" / "items.jsonl").open()) == 5


def test_right_to_left_and_zero_width_characters_are_text_kept_byte_for_byte(tmp_path: Path):
    """ZWNJ and ZWJ are part of Persian and Indic spelling, and a bidi override is text too: kept as
    written through build, export and pull (report pages isolate each text, tests/test_closed_inputs.py)."""
    context = "Tom\u200b went \u202ehome\u202c to \u0633\u0644\u0627\u0645\u200c today.\u200d"
    source = write_lines(tmp_path / "src.jsonl", [json.dumps({**story(1), "prompt": context})])
    assert runner.invoke(app, ["build", str(source), *MAP, "-o", str(tmp_path / "b"), "--no-validate", "-q"]).exit_code == 0
    assert runner.invoke(app, ["push", str(tmp_path / "b"), "--to-dir", str(tmp_path / "e"), "-q", "--allow-incomplete"]).exit_code == 0
    pulled = runner.invoke(app, ["pull", str(tmp_path / "e"), "-o", str(tmp_path / "p")])
    assert pulled.exit_code == 0, pulled.output
    for directory in ("b", "p"):
        assert json.loads((tmp_path / directory / "items.jsonl").read_text(encoding="utf-8"))["context"] == context


# --------------------------------------------------------------------------- build directories


def test_deep_json_in_a_build_is_one_line_for_every_reader(copy: Path, tmp_path: Path):
    lines = (copy / "items.jsonl").read_text().splitlines()
    write_lines(copy / "items.jsonl", [lines[0], DEEP, *lines[1:]])
    for command in (["validate", str(copy), "-q"], ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q"],
                    ["score", str(copy), "-m", "no-such-model", "-o", str(tmp_path / "r"), "-q"]):
        one_line_error(runner.invoke(app, command), "items.jsonl:2: item: nested too deeply")
    write_lines(copy / "items.jsonl", lines)
    (copy / "build.json").write_text(DEEP)
    one_line_error(runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q"]), "build.json: not valid JSON (nested too deeply")
    (copy / "build.json").write_text("[]")
    one_line_error(runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q"]), "build.json: expected a JSON object, found an array")
    assert not (tmp_path / "out").exists()


def long_clip(path: Path, seconds: float) -> None:
    sf.write(path, np.zeros(int(seconds * 16000), dtype=np.int16), 16000, subtype="PCM_16")


@pytest.mark.parametrize("field", ["audio.context", "audio.candidates[1]"])
def test_a_clip_longer_than_any_benchmark_clip_is_refused_from_its_header(copy: Path, tmp_path: Path, field: str):
    record = json.loads((copy / "items.jsonl").read_text().splitlines()[1])
    relative = record["audio"]["context"] if field == "audio.context" else record["audio"]["candidates"][1]
    (copy / relative).unlink()
    long_clip(copy / relative, MAX_CLIP_SECONDS + 1)
    before = (copy / "items.jsonl").read_bytes()
    problem = f"clip is {MAX_CLIP_SECONDS + 1:.0f} s, longer than the {MAX_CLIP_SECONDS:.0f} s a benchmark clip may last"
    for command in (["validate", str(copy), "-q"], ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q"],
                    ["score", str(copy), "-m", "no-such-model", "-o", str(tmp_path / "r"), "-q"]):
        one_line_error(runner.invoke(app, command), f"items.jsonl:2: {field}", problem)
    assert (copy / "items.jsonl").read_bytes() == before and not (tmp_path / "out").exists()


def test_a_clip_of_the_longest_length_is_still_read(copy: Path, tmp_path: Path):
    record = json.loads((copy / "items.jsonl").read_text().splitlines()[0])
    (copy / record["audio"]["context"]).unlink()
    long_clip(copy / record["audio"]["context"], MAX_CLIP_SECONDS)
    result = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q", "--allow-incomplete"])
    assert result.exit_code == 0, result.output


def test_an_over_long_clip_in_a_pulled_export_is_refused(copy: Path, tmp_path: Path):
    from s2sbench.publish.schema import clip_problem

    long_clip(tmp_path / "long.wav", MAX_CLIP_SECONDS + 60)
    assert clip_problem((tmp_path / "long.wav").read_bytes(), 16000).startswith(f"clip is {MAX_CLIP_SECONDS + 60:.0f} s")


# --------------------------------------------------------------------------- prompts


def test_a_prompt_longer_than_any_prompt_fails_at_load_and_in_a_recorded_task(copy: Path, tmp_path: Path):
    profile = tmp_path / "en.toml"
    profile.write_text(GOOD_PROFILE + f'[scorer]\ntext_prefix = "{"word " * (MAX_PROMPT_CHARS // 5 + 1)}"\n')
    with pytest.raises(ProfileError, match=rf"en\.toml: scorer\.text_prefix: {MAX_PROMPT_CHARS + 5:,} characters, longer than"):
        load_profile(str(profile))
    manifest = json.loads((copy / "build.json").read_text())
    manifest["task"]["prompts"]["speech_prefix"] = "word " * 400_000
    (copy / "build.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["score", str(copy), "-m", "no-such-model", "--modes", "t2t", "-o", str(tmp_path / "r"), "-q"])
    one_line_error(result, "build.json: task.prompts.speech_prefix: 2,000,000 characters, longer than")


# --------------------------------------------------------------------------- results directories


def edited(path: Path, number: int, change) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = change(lines[number - 1])
    write_lines(path, lines)


@pytest.mark.parametrize(("change", "problem"), [
    (lambda line: DEEP, "scores.jsonl:3: not a JSON line"),
    (lambda line: "[1, 2]", "scores.jsonl:3: expected a JSON object"),
    (lambda line: line.replace('"loss": 1.0', '"loss": NaN'), "scores.jsonl:3: loss: expected a number, got nan"),
    (lambda line: line.replace('"loss": 1.0', '"loss": "1.0"'), "scores.jsonl:3: loss: expected a number"),
    (lambda line: line.replace('"candidate": 0', '"candidate": -1'), "scores.jsonl:3: candidate: expected a count"),
    (lambda line: line.replace('"mode": "t2t"', '"mode": "x2y"'), "scores.jsonl:3: mode: expected t2t, s2t or s2s"),
    (lambda line: line.replace('"id": "i1"', '"id": 7'), "scores.jsonl:3: id: expected an id"),
])
def test_a_score_line_edited_by_hand_is_one_line_from_report(tmp_path: Path, change, problem: str):
    good = results_dir(tmp_path / "good", "m", {"t2t": [1] * 12})
    bad = results_dir(tmp_path / "bad", "m", {"t2t": [1] * 12})
    edited(bad / "scores.jsonl", 3, change)
    one_line_error(runner.invoke(app, ["report", str(good), str(bad)]), problem)


@pytest.mark.parametrize(("content", "problem"), [(DEEP, "run.json: not valid JSON (nested too deeply"), ("[1]", "run.json: expected a JSON object, found an array"),
                                                  (None, "not a results directory"), ("file", "not a results directory")])
def test_a_broken_results_directory_is_one_line_from_report(tmp_path: Path, content: str | None, problem: str):
    good = results_dir(tmp_path / "good", "m", {"t2t": [1] * 12})
    bad = results_dir(tmp_path / "bad", "m", {"t2t": [1] * 12})
    if content is None:
        (bad / "run.json").unlink()
    elif content == "file":
        shutil.rmtree(bad)
        bad.write_text("not a directory")
    else:
        (bad / "run.json").write_text(content)
    one_line_error(runner.invoke(app, ["report", str(good), str(bad), "--html", str(tmp_path / "page.html")]), problem)
    assert not (tmp_path / "page.html").exists()


def test_html_and_huge_numbers_in_results_stay_text_on_the_report_page(tmp_path: Path):
    from tests.browser import open_page

    hostile = "<script>alert(1)</script></audio><img src=x onerror=alert(2)>"
    good = results_dir(tmp_path / "good", "m", {"t2t": [1] * 12, "s2t": [1, 0] * 6})
    bad = results_dir(tmp_path / "bad", f"org/{hostile}", {"t2t": [1] * 12, "s2t": [0] * 12},
                      facets={f"i{n}": {"voice": hostile, "category": "</td><script>alert(3)</script>", "duration": 1e308, "words": 10**30} for n in range(12)})
    edited(bad / "scores.jsonl", 1, lambda line: line.replace('"loss": 1.0', '"loss": 1e308'))
    edited(bad / "scores.jsonl", 2, lambda line: line.replace('"loss": 2.0', '"loss": -1e308'))
    run = json.loads((bad / "run.json").read_text())
    (bad / "run.json").write_text(json.dumps({**run, "dataset": {"hub": hostile, "revision": 10**40}}))
    result = runner.invoke(app, ["report", str(good), str(bad), "--html", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<img src=x" not in text
    seen = open_page(tmp_path / "page.html")
    assert seen["errors"] == [] and seen["console"] == [] and seen["audio"] == [], seen


# --------------------------------------------------------------------------- a full disk


@contextlib.contextmanager
def full_disk(path: Path, free_pages: int, size_kb: int = 256):
    """A tmpfs at ``path`` with ``free_pages`` pages of 4 kB left; skipped where mounting is not allowed."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        (path / "filler").write_bytes(b"x" * (size_kb * 1024 - free_pages * 4096))
        yield path / "filler"
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.mark.parametrize("free_pages", [0, 1, 2, 3])
def test_a_full_disk_while_scoring_is_one_line_naming_the_file_and_the_rerun_completes(copy: Path, tmp_path: Path, free_pages: int):
    from tests.models import build_tiny_causal_lm, sample_texts

    model = build_tiny_causal_lm(tmp_path / "lm", sample_texts(), seed=1)
    command = ["score", str(copy), "-m", str(model), "--modes", "t2t", "--device", "cpu", "-q"]
    whole = runner.invoke(app, [*command, "-o", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    with full_disk(tmp_path / "disk", free_pages) as filler:
        full = runner.invoke(app, [*command, "-o", str(filler.parent / "r")])
        line = one_line_error(full, "no space left on device")
        assert f"{filler.parent / 'r'}/" in line  # names the file
        filler.unlink()
        again = runner.invoke(app, [*command, "-o", str(filler.parent / "r")])
        assert again.exit_code == 0, again.output
        assert (filler.parent / "r" / "scores.jsonl").read_bytes() == (tmp_path / "whole" / "scores.jsonl").read_bytes()


def test_a_full_disk_while_augmenting_is_one_line_and_the_rerun_completes(copy: Path, tmp_path: Path):
    command = ["augment", str(copy), "--noise-snr", "20,10", "--no-validate", "-q"]
    whole = runner.invoke(app, [*command, "-o", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    with full_disk(tmp_path / "disk", 20, size_kb=8192) as filler:  # room for about one clip in ten
        one_line_error(runner.invoke(app, [*command, "-o", str(filler.parent / "aug")]), "no space left on device", str(filler.parent / "aug"))
        filler.unlink()
        again = runner.invoke(app, [*command, "-o", str(filler.parent / "aug")])
        assert again.exit_code == 0, again.output
        for variant in ("snr20", "snr10"):
            assert (filler.parent / "aug" / variant / "items.jsonl").read_bytes() == (tmp_path / "whole" / variant / "items.jsonl").read_bytes()


# --------------------------------------------------------------------------- no FFmpeg

# torchcodec as it loads on a machine without FFmpeg's shared libraries: found, but its import fails.
NO_FFMPEG = '''
import importlib.abc, importlib.machinery, sys
class NoFFmpeg(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, self) if name.split(".")[0] == "torchcodec" else None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        raise RuntimeError("Could not load libtorchcodec. Likely causes: FFmpeg is not properly installed. "
                           "FFmpeg version 7: Could not load this library: libtorchcodec_core7.so")
sys.meta_path.insert(0, NoFFmpeg())
'''


def test_push_verify_and_pull_need_no_ffmpeg(five_build: Path, tmp_path: Path):
    from tests.hub_server import HubServer
    from tests.test_push_hub import ALICE, client_env

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_FFMPEG)
    with HubServer(users={ALICE: "alice"}) as hub:
        env = {**client_env(hub, tmp_path / "home", ALICE), "PYTHONPATH": str(site)}

        def s2s(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "s2sbench", *args], env=env, capture_output=True, text=True, timeout=300)

        probe = subprocess.run([sys.executable, "-c", "import torchcodec"], env=env, capture_output=True, text=True)
        assert "Could not load libtorchcodec" in probe.stderr  # the stand-in holds
        pushed = s2s("push", str(five_build), "--repo", "alice/spoken", "--license", "cc0-1.0", "--allow-incomplete")
        assert pushed.returncode == 0 and "verified" in pushed.stdout, pushed.stderr[-3000:]
        pulled = s2s("pull", "alice/spoken", "-o", str(tmp_path / "pulled"))
        assert pulled.returncode == 0, pulled.stderr[-3000:]
    built = [json.loads(line) for line in (five_build / "items.jsonl").read_text().splitlines()]
    again = [json.loads(line) for line in (tmp_path / "pulled" / "items.jsonl").read_text().splitlines()]
    assert [item["context"] for item in again] == [item["context"] for item in built]
    for old, new in zip(built, again):
        assert (tmp_path / "pulled" / new["audio"]["context"]).read_bytes() == (five_build / old["audio"]["context"]).read_bytes()
