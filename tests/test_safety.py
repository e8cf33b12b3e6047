"""A build directory or source may come from anyone: nothing read from one leaves it, bad input ends in
one line naming file, line and field (exit status 2), and a re-run repairs what a crash or a hand broke."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench._io import DirectoryLock, inside, repair_tail
from s2sbench.cli import app
from s2sbench.errors import BuildDirectoryError, S2SBenchError, SourceRowError
from s2sbench.publish import PushOptions, push
from tests.cli_checks import one_line_error

runner = CliRunner()


@pytest.fixture(scope="module")
def small_build(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("safety") / "build"
    build(BuildOptions(source="sample:en", output=output, limit=2, validate=False))
    return output


@pytest.fixture
def copy(small_build: Path, tmp_path: Path) -> Path:
    """A copy of the small build, in its own folder, to break by hand."""
    target = tmp_path / "box" / "build"
    shutil.copytree(small_build, target)
    return target


def edit_item(build_dir: Path, index: int, change) -> None:
    lines = (build_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[index])
    change(record)
    lines[index] = json.dumps(record)
    (build_dir / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- names that become paths


@pytest.mark.parametrize("layout", ["hub", "s2sbench"])
def test_a_subset_that_climbs_out_is_refused_before_anything_is_written(copy: Path, tmp_path: Path, layout: str):
    edit_item(copy, 0, lambda r: r.update(subset="../../../../escaped"))
    before = files_under(tmp_path)
    result = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "--layout", layout])
    one_line_error(result, "items.jsonl:1: subset:", "is not a name")
    assert files_under(tmp_path) == before and not (tmp_path / "out").exists()
    assert not list(tmp_path.parent.rglob("escaped*"))


def test_a_config_name_that_climbs_out_is_refused(copy: Path, tmp_path: Path):
    with pytest.raises(S2SBenchError, match="--config-name: '../x' is not a name"):
        push(PushOptions(builds=[copy], to_dir=tmp_path / "out", config="../x"))


@pytest.mark.parametrize(("field", "value"), [("context", "../../../../etc/hostname"), ("candidates", "/etc/passwd"), ("context", "audio/\x00x.wav")])
def test_a_clip_path_outside_the_build_is_refused_by_every_reader(copy: Path, tmp_path: Path, field: str, value: str):
    def point_outside(record):
        if field == "context":
            record["audio"]["context"] = value
        else:
            record["audio"]["candidates"][1] = value

    edit_item(copy, 1, point_outside)
    where = "audio.context" if field == "context" else "audio.candidates[1]"
    pushed = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out")])
    one_line_error(pushed, "items.jsonl:2:", where)
    assert not (tmp_path / "out").exists()
    scored = runner.invoke(app, ["score", str(copy), "--model", str(tmp_path / "no-model"), "-o", str(tmp_path / "r"), "-q"])
    one_line_error(scored, "items.jsonl:2:", where)
    validated = runner.invoke(app, ["validate", str(copy), "-q"])
    one_line_error(validated, "items.jsonl:2:", where)


def test_a_link_inside_the_build_that_points_outside_is_refused(copy: Path, tmp_path: Path):
    secret = tmp_path / "secret.wav"
    shutil.copy(next(copy.rglob("*.wav")), secret)
    (copy / "audio" / "link.wav").symlink_to(secret)
    edit_item(copy, 0, lambda r: r["audio"].update(context="audio/link.wav"))
    with pytest.raises(BuildDirectoryError, match="leaves the directory"):
        push(PushOptions(builds=[copy], to_dir=tmp_path / "out"))


def test_inside_accepts_only_relative_paths_that_stay(tmp_path: Path):
    assert inside(tmp_path, "audio/ab/c.wav", "x") == (tmp_path / "audio/ab/c.wav").resolve()
    for bad in ["../x", "/etc/passwd", "a/../../x", "", None, 3, "a\x00b"]:
        with pytest.raises(BuildDirectoryError):
            inside(tmp_path, bad, "x")


# --------------------------------------------------------------------------- clips are audio before they are published


def test_a_text_file_in_place_of_a_clip_is_not_published(copy: Path, tmp_path: Path):
    clip = copy / json.loads((copy / "items.jsonl").read_text().splitlines()[1])["audio"]["candidates"][0]
    clip.write_text("not audio at all, but long enough to pass a size check " * 4)
    result = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out")])
    one_line_error(result, "items.jsonl:2: audio.candidates[0]:", "not audio")
    assert not (tmp_path / "out").exists()


def test_a_clip_at_another_rate_is_not_published(copy: Path, tmp_path: Path):
    clip = copy / json.loads((copy / "items.jsonl").read_text().splitlines()[0])["audio"]["context"]
    sf.write(clip, np.zeros(8000, dtype=np.float32) + 0.1, 8000)
    with pytest.raises(S2SBenchError, match=r"items.jsonl:1: audio.context: .*sampled at 8000 Hz, the build's rate is 16000 Hz"):
        push(PushOptions(builds=[copy], to_dir=tmp_path / "out"))


def test_a_release_uttid_that_climbs_out_is_a_row_error(tmp_path: Path):
    from s2sbench.builders import BuildContext, get_builder
    from s2sbench.profiles import load_profile

    release = tmp_path / "S2S" / "cmmlu"
    (release / "cmmlu_rewrite").mkdir(parents=True)
    row = {"uttid": "1000_/../../../../etc/x", "first": "Q?", "A": "a", "B": "b", "C": "c", "D": "d", "answer": "A"}
    (release / "cmmlu_rewrite_4.jsonl").write_text(json.dumps(row) + "\n")
    entries = list(get_builder("s2sbench").read(release / "cmmlu_rewrite_4.jsonl", BuildContext(lang="zh", profile=load_profile("zh"))))
    assert isinstance(entries[0], SourceRowError) and entries[0].field == "uttid" and "is not a name" in entries[0].problem


# --------------------------------------------------------------------------- hostile source rows


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), encoding="utf-8")
    return path


STORY = {"context": "Tom went out.", "candidates": ["He came back.", "He flew away."], "answer": 0}


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ({**STORY, "subset": "../../x"}, "subset", "is not a name"),
        ({**STORY, "subset": "a/b"}, "subset", "is not a name"),
        ({**STORY, "id": "../../etc/passwd"}, "id", "is not a name"),
        ({**STORY, "id": "x" * 129}, "id", "is not a name"),
        ({**STORY, "context": "Tom\x00went out."}, "context", "control character U+0000"),
        ({**STORY, "candidates": ["He came back.", "He\x1bflew."]}, "candidates[1]", "control character U+001B"),
        ({**STORY, "context": "word " * 30000}, "context", "more than the limit of 100000"),
        ({**STORY, "context": "Tom\udcffwent out."}, "context", "lone surrogate U+DCFF"),
        ({**STORY, "answer": "0"}, "answer", "out of range"),
        ({**STORY, "answer": True}, "answer", "out of range"),
        ({**STORY, "candidates": "He came back."}, "candidates", "expected a list"),
        ('{"context": "' + "x" * (2**20 + 10) + '"}', "line", "longer than the limit of 1048576 bytes"),
    ],
)
def test_hostile_rows_are_one_line_errors_and_nothing_is_built(tmp_path: Path, row, field: str, problem: str):
    source = write_jsonl(tmp_path / "src.jsonl", [STORY, row])
    result = runner.invoke(app, ["build", str(source), "--format", "items", "-o", str(tmp_path / "b"), "-q", "--no-validate"])
    one_line_error(result, f"src.jsonl:2: {field}:", problem)
    assert not list((tmp_path / "b").rglob("*.wav"))
    assert {p.parent for p in files_under(tmp_path)} <= {tmp_path, tmp_path / "b"}


def test_skipped_hostile_rows_are_recorded_and_the_rest_is_built(tmp_path: Path):
    source = write_jsonl(tmp_path / "src.jsonl", [STORY, {**STORY, "subset": "../x"}, {**STORY, "context": "Bad\x07bell."}])
    summary = build(BuildOptions(source=str(source), format="items", output=tmp_path / "b", validate=False, speak="context", skip_bad_rows=True))
    skipped = json.loads((tmp_path / "b" / "build.json").read_text())["skipped_rows"]
    assert summary.items == 1 and [(r["line"], r["field"]) for r in skipped] == [(2, "subset"), (3, "context")]


def test_two_rows_with_one_id_and_other_content_are_an_error_naming_both(tmp_path: Path):
    source = write_jsonl(tmp_path / "src.jsonl", [{**STORY, "id": "s1"}, {**STORY, "id": "s2", "context": "Ann sang."}, {**STORY, "id": "s1", "context": "Bo ran."}])
    with pytest.raises(SourceRowError, match=r"src.jsonl:3: id: 's1' is also the id of line 1"):
        build(BuildOptions(source=str(source), format="items", output=tmp_path / "b", validate=False, speak="context", skip_bad_rows=True))


def test_an_exact_duplicate_row_is_still_dropped_quietly(tmp_path: Path):
    source = write_jsonl(tmp_path / "src.jsonl", [{**STORY, "id": "s1"}, {**STORY, "id": "s1"}])
    summary = build(BuildOptions(source=str(source), format="items", output=tmp_path / "b", validate=False, speak="context"))
    assert (summary.items, summary.duplicates) == (1, 1)


# --------------------------------------------------------------------------- re-runs repair


def test_a_rerun_remakes_missing_and_broken_clips(copy: Path):
    before = (copy / "items.jsonl").read_bytes()
    items = [json.loads(line) for line in before.decode().splitlines()]
    gone = copy / items[0]["audio"]["candidates"][0]
    broken = copy / items[1]["audio"]["context"]
    reference = {path: path.read_bytes() for path in (gone, broken)}
    gone.unlink()
    broken.write_bytes(b"")

    summary = build(BuildOptions(source="sample:en", output=copy, limit=2, validate=False))

    assert summary.items_remade == 2 and summary.clips_synthesized == 2
    assert {path: path.read_bytes() for path in (gone, broken)} == reference  # espeak-ng is deterministic: the same clips
    assert (copy / "items.jsonl").read_bytes() == before


def test_repair_tail_cuts_only_a_torn_last_line(tmp_path: Path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    assert repair_tail(path) and path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert not repair_tail(path) and path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    path.write_bytes(b"x" * 200_000)  # one torn line and nothing before it
    assert repair_tail(path) and path.read_bytes() == b""


# --------------------------------------------------------------------------- one writer at a time


def test_a_build_directory_in_use_is_refused_with_its_holder(copy: Path):
    with DirectoryLock(copy, "build directory"), pytest.raises(S2SBenchError, match=rf"in use by process {os.getpid()}"):
        build(BuildOptions(source="sample:en", output=copy, limit=2, validate=False))
    assert build(BuildOptions(source="sample:en", output=copy, limit=2, validate=False)).items == 2  # released


def test_a_lock_dies_with_its_holder(tmp_path: Path):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; from s2sbench._io import DirectoryLock;"
                               "lock = DirectoryLock(Path(sys.argv[1])).__enter__(); print('held', flush=True); time.sleep(60)", str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(S2SBenchError, match=rf"in use by process {holder.pid}"), DirectoryLock(tmp_path):
        pass
    holder.kill()
    holder.wait()
    with DirectoryLock(tmp_path):  # the kernel dropped the dead holder's lock
        pass


# --------------------------------------------------------------------------- one line, never a traceback


def test_an_output_that_is_a_file_is_one_line(tmp_path: Path, small_build: Path):
    target = tmp_path / "a-file"
    target.write_text("x")
    built = runner.invoke(app, ["build", "sample:en", "-o", str(target), "--limit", "1", "-q", "--no-validate"])
    one_line_error(built, str(target))
    pushed = runner.invoke(app, ["push", str(small_build), "--to-dir", str(target)])
    one_line_error(pushed, str(target))
    assert target.read_text() == "x"


def as_another_user(tmp_path: Path, *args: str):
    """``s2s ARGS`` in a fresh process, as the unprivileged ``nobody`` when this runs as root (root
    writes through directory permissions, so the read-only case must be someone else's)."""
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    home.chmod(0o777)  # the other user's caches
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "HF_HOME": str(home / "hf")}
    if prefix and subprocess.run([*prefix, sys.executable, "-c", "import s2sbench"], env=env, capture_output=True).returncode != 0:
        pytest.skip(f"the unprivileged user cannot run this checkout ({sys.executable} sits in a folder only root can enter)")
    return subprocess.run([*prefix, sys.executable, "-m", "s2sbench", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def open_tmp():
    """A scratch directory every user can reach (pytest's own sits in a root-only folder)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="s2s-test-"))
    path.chmod(0o755)
    yield path
    for inner in [path, *path.rglob("*")]:
        if inner.is_dir() and not inner.is_symlink():
            inner.chmod(0o755)
    shutil.rmtree(path)


@pytest.mark.parametrize("command", ["build", "push", "score", "validate"])
def test_a_read_only_output_is_one_line(open_tmp: Path, small_build: Path, command: str):
    tmp_path = open_tmp
    readable = tmp_path / "build"
    shutil.copytree(small_build, readable)
    for path in [readable, *readable.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o555)
    lm = tmp_path / "lm"  # a model directory as the resolver reads it (its config): the read-only output is what is met
    lm.mkdir()
    (lm / "config.json").write_text('{"model_type": "qwen2"}')
    args = {
        "build": ["build", "sample:en", "-o", str(locked / "b"), "--limit", "1", "-q", "--no-validate"],
        "push": ["push", str(readable), "--to-dir", str(locked / "export")],
        "score": ["score", str(readable), "--model", f"cascade:faster-whisper:base+{lm}", "-o", str(locked / "r"), "-q"],
        "validate": ["validate", str(readable), "-q"],
    }[command]
    if command == "validate":
        for path in [readable, *readable.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    result = as_another_user(tmp_path, *args)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count("\n") == 1 and "permission denied" in result.stderr, result.stderr[-3000:]
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize(("name", "text", "extra"), [("empty.jsonl", "", ["--format", "items"]), ("header.csv", "context,ending1,ending2,label\n",
                                                       ["--format", "csv", "--map", "context=context,candidates=ending1|ending2,answer=label"])])
def test_an_empty_or_header_only_source_is_an_error_before_any_directory(tmp_path: Path, name: str, text: str, extra: list[str]):
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["build", str(source), *extra, "-o", str(tmp_path / "b"), "-q", "--no-validate"])
    one_line_error(result, str(source), "no items in this source")
    assert not (tmp_path / "b").exists()


def test_a_language_without_a_profile_points_at_langs_new(tmp_path: Path):
    result = runner.invoke(app, ["build", "sample:en", "--lang", "fr", "-o", str(tmp_path / "b"), "-q", "--no-validate"])
    one_line_error(result, "--lang fr: no bundled language profile", "s2s langs new fr")
    assert not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- fuzz


HOSTILE_STRINGS = ["../../etc/passwd", "/etc/hostname", "a/b", "..", "C:\\x", "x\x00y", "bell\x07", "esc\x1b[31m", "tab\tand\nnewline",
                   "\u202eevil", "", " ", "x" * 100001, "ok words here", "名字", "\udcff"]
HOSTILE_VALUES = [None, 0, -1, 3, True, 1.5, [], {}, ["a"], {"a": 1}]


def _hostile_row(rng, number: int) -> dict:
    """A row whose every field is, at random, fine, a hostile string or a value of the wrong type.
    (Fine ids are unique: two rows with one id stop a build even with --skip-bad-rows.)"""
    def pick(fine):
        roll = rng.random()
        return fine if roll < 0.4 else rng.choice(HOSTILE_STRINGS) if roll < 0.75 else rng.choice(HOSTILE_VALUES)

    row = {"context": pick("Tom went out."), "candidates": pick(["He came back.", "He flew away."]), "answer": pick(0)}
    if isinstance(row["candidates"], list) and rng.random() < 0.5:
        row["candidates"] = [pick("He came back."), pick("He flew away.")]
    for field, fine in (("id", f"row-{number}"), ("subset", "fine-name")):
        if rng.random() < 0.5:
            row[field] = pick(fine)
    return row


@pytest.mark.parametrize("seed", range(3))
def test_fuzzed_hostile_rows_end_as_row_errors_and_nothing_is_written(tmp_path: Path, seed: int):
    import random

    from s2sbench.builders import BuildContext
    from s2sbench.pipeline.source import scan_source
    from s2sbench.profiles import load_profile

    rng = random.Random(seed)
    rows = [_hostile_row(rng, number) for number in range(150)]
    source = tmp_path / "src.jsonl"
    source.write_text("".join(json.dumps(row, ensure_ascii=True) + "\n" for row in rows), encoding="utf-8")
    before = files_under(tmp_path)
    options = BuildOptions(source=str(source), format="items", output=tmp_path / "b", skip_bad_rows=True)
    scan = scan_source(options, BuildContext(lang="en", profile=load_profile("en")))
    assert scan.total + scan.duplicates + len(scan.skipped) == len(rows) and scan.skipped  # every row accounted for
    for record in scan.skipped:
        assert 1 <= record["line"] <= len(rows) and record["field"] and "\n" not in record["problem"], record
    assert files_under(tmp_path) == before  # a scan writes nothing

    first_bad = min(record["line"] for record in scan.skipped)
    result = runner.invoke(app, ["build", str(source), "--format", "items", "-o", str(tmp_path / "b"), "-q", "--no-validate"])
    one_line_error(result, f"src.jsonl:{first_bad}: ")
    assert not (tmp_path / "b" / "audio").exists() and {p.parent for p in files_under(tmp_path)} <= {tmp_path, tmp_path / "b"}


# --------------------------------------------------------------------------- a full disk


class _FullDisk:
    """``os`` as s2sbench._io sees it, with a disk that fills up: after ``room`` whole appends, a write
    stores half of its bytes and reports the short count, as write(2) does on a full disk."""

    def __init__(self, room: int):
        self.room = room

    def __getattr__(self, name):
        return getattr(os, name)

    def write(self, descriptor: int, data: bytes) -> int:
        if self.room == 0:
            return os.write(descriptor, data[: len(data) // 2])
        self.room -= 1
        return os.write(descriptor, data)


def test_a_full_disk_is_one_line_naming_the_file_and_the_rerun_completes(tmp_path: Path, monkeypatch):
    import s2sbench._io

    source = write_jsonl(tmp_path / "src.jsonl", [{**STORY, "id": f"s{k}", "context": f"Tom went out {k} times."} for k in range(4)])
    command = ["build", str(source), "--format", "items", "--license", "cc0-1.0", "-q", "--no-validate", "--speak", "context"]
    whole = runner.invoke(app, [*command, "-o", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output

    with monkeypatch.context() as patch:
        patch.setattr(s2sbench._io, "os", _FullDisk(room=2))
        full = runner.invoke(app, [*command, "-o", str(tmp_path / "b")])
    one_line_error(full, "items.jsonl: no space left on device")
    kept = (tmp_path / "b" / "items.jsonl").read_bytes()
    assert kept.count(b"\n") == 2 and kept.endswith(b"\n")  # the two items written before; no torn line

    again = runner.invoke(app, [*command, "-o", str(tmp_path / "b")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "b" / "items.jsonl").read_bytes() == (tmp_path / "whole" / "items.jsonl").read_bytes()
