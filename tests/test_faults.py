"""Faults a hand, another tool or a bad file put in a build or a profile: each ends in one line naming
where (exit status 2) before any work, or is read as what it is; nothing already built is lost."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench._io import repair_tail
from s2sbench.builddir import BuildDirectory
from s2sbench.cli import app
from s2sbench.errors import ProfileError
from s2sbench.profiles import load_profile
from s2sbench.validate.revalidate import RevalidateOptions, validate_build
from tests.cli_checks import one_line_error

runner = CliRunner()


@pytest.fixture
def copy(five_build: Path, tmp_path: Path) -> Path:
    target = tmp_path / "build"
    shutil.copytree(five_build, target)
    return target


@pytest.fixture
def deadline():
    """A reader that blocks (a FIFO opened for reading) fails the test instead of hanging the suite."""

    def expired(signum, frame):
        raise TimeoutError("blocked for 60 s")

    before = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, before)


class SilentRecognizer:
    """Hears nothing, at once: validation's bookkeeping without a model."""

    def transcribe(self, samples, sample_rate, language):
        return ""

    def identity(self) -> dict:
        return {"engine": "silent"}


def item_ids(build_dir: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (build_dir / "items.jsonl").read_bytes().splitlines() if line.strip()]


def score_items(build_dir: Path) -> list:
    from s2sbench.scorer.inputs import load_score_items

    return list(load_score_items(str(build_dir)))


# --------------------------------------------------------------------------- 1. a last item without its newline


def test_a_last_item_without_its_newline_is_kept_by_every_reader(copy: Path, tmp_path: Path):
    path = copy / "items.jsonl"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    ids = item_ids(copy)
    assert len(ids) == 5

    assert [item.id for item in BuildDirectory(copy).iter_items()] == ids
    assert [item.id for item in score_items(copy)] == ids
    result = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q", "--no-verify"])
    assert result.exit_code == 0, result.output
    assert "story: 5 items" in result.stdout
    validate_build(copy, RevalidateOptions(), recognizer=SilentRecognizer())
    assert item_ids(copy) == ids and path.read_bytes().endswith(b"\n")
    assert all(json.loads(line)["validation"] for line in path.read_bytes().splitlines())


def test_a_rebuild_keeps_a_last_item_without_its_newline_and_appends_after_it(copy: Path):
    path = copy / "items.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]).rstrip(b"\n"))  # two items to go, the last kept one without newline
    summary = build(BuildOptions(source="sample:en", output=copy, limit=5, validate=False))
    assert summary.items == 5 and summary.items_added == 2 and summary.clips_synthesized == 0
    assert path.read_bytes() == b"".join(lines)


def test_repair_tail_completes_a_whole_last_line_and_cuts_a_torn_one(tmp_path: Path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}')
    assert repair_tail(path) and path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    path.write_bytes(b'{"a": 1}\n{"b": "caf\xc3')  # torn inside a character
    assert repair_tail(path) and path.read_bytes() == b'{"a": 1}\n'
    path.write_bytes(b'{"a": 1}\n{"b": "caf\xe9"}')  # not torn: a byte no UTF-8 writer wrote; a reader says where
    assert repair_tail(path) and path.read_bytes() == b'{"a": 1}\n{"b": "caf\xe9"}\n'


def test_a_torn_last_item_is_still_cut(copy: Path):
    path = copy / "items.jsonl"
    whole = path.read_bytes()
    path.write_bytes(whole + whole.splitlines(keepends=True)[0][:40])
    assert len(list(BuildDirectory(copy).iter_items())) == 5
    BuildDirectory(copy).repair()
    assert path.read_bytes() == whole


# --------------------------------------------------------------------------- 2. thresholds and profiles


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "1e308", "11"])
def test_a_threshold_out_of_range_is_refused_before_any_work(copy: Path, tmp_path: Path, value: str):
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    one_line_error(runner.invoke(app, ["validate", str(copy), f"--max-error={value}", "-q"]), "--max-error", "expected an error rate from 0 to 10")
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before
    output = tmp_path / "new"
    one_line_error(runner.invoke(app, ["build", "sample:en", "-o", str(output), f"--max-error={value}", "-q"]), "--max-error")
    assert not output.exists()


GOOD_PROFILE = """
code = "xx"
name = "Test"
[tts]
engine = "espeak"
voices = { espeak = ["en-us", "en-us+f3"], coqui = ["Ana Florence"] }
[asr]
engine = "faster-whisper"
model = "base"
[text]
metric = "wer"
max_error = 0.4
chars_per_second = [5.0, 25.0]
"""


@pytest.mark.parametrize(("old", "new", "key"), [
    ('[tts]\nengine = "espeak"', 'tts = "espeak"\n[tts2]\nengine = "espeak"', "tts: expected a table"),
    ('code = "xx"', 'asr = "faster-whisper:base"\ncode = "xx"', "asr: expected a table"),
    ('code = "xx"', 'scorer = "x"\ncode = "xx"', "scorer: expected a table"),
    ('code = "xx"', 'text = ["wer"]\ncode = "xx"', "text: expected a table"),
    ('espeak = ["en-us", "en-us+f3"]', 'espeak = "en-us"', "tts.voices.espeak: expected an array"),
    ('espeak = ["en-us", "en-us+f3"]', 'espeak = [1, 2]', "tts.voices.espeak[0]: expected a voice name"),
    ('espeak = ["en-us", "en-us+f3"]', 'espeak = ["; touch X"]', "tts.voices.espeak[0]: '; touch X' is not a voice name"),
    ('espeak = ["en-us", "en-us+f3"]', 'espeak = ["en-us", "../x"]', "tts.voices.espeak[1]: '../x' is not a voice name"),
    ('voices = {', 'models = "x"\nvoices = {', "tts.models: expected a table"),
    ('metric = "wer"', 'metric = "bleu"', "text.metric: 'bleu': expected one of wer, cer"),
    ('max_error = 0.4', 'max_error = nan', "text.max_error: nan is not an error rate"),
    ('max_error = 0.4', 'max_error = -1', "text.max_error: -1 is not an error rate"),
    ('max_error = 0.4', 'max_error = inf', "text.max_error: inf is not an error rate"),
    ('max_error = 0.4', 'max_error = 1e308', "text.max_error: 1e+308 is not an error rate"),
    ('max_error = 0.4', 'max_error = "0.4"', "text.max_error: expected a number"),
    ('chars_per_second = [5.0, 25.0]', 'chars_per_second = [5.0, 25.0, 30.0]', "text.chars_per_second: expected [SLOWEST, FASTEST]"),
    ('chars_per_second = [5.0, 25.0]', 'chars_per_second = [25.0, 5.0]', "text.chars_per_second"),
    ('metric = "wer"', 'metric = "wer"\nnormalizer = "nfkc"', "text.normalizer: expected an array"),
    ('metric = "wer"', 'metric = "wer"\nnormalizer = ["nfkc", "shout"]', "text.normalizer[1]: unknown normalizer step 'shout'"),
    ('code = "xx"', 'code = 3', "code: expected a string"),
    ('code = "xx"', 'code = "../xx"', "code: '../xx' is not a name"),
])
def test_a_malformed_profile_fails_at_load_naming_the_file_and_the_key(tmp_path: Path, old: str, new: str, key: str):
    assert old in GOOD_PROFILE
    text = GOOD_PROFILE.replace(old, new, 1)
    top = key.split(":")[0]
    if top in ("asr", "text"):  # the key given a value of another type: its table goes
        text = text.replace(f"[{top}]\n", "[unused]\n")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        load_profile(str(path))
    message = str(raised.value)
    assert message.startswith(f"{path}: {key}") and "\n" not in message, message
    output = tmp_path / "out"
    one_line_error(runner.invoke(app, ["build", "sample:en", "-o", str(output), "--profile", str(path), "-q", "--no-validate"]), f"{path}: {key}")
    assert not output.exists()


def test_a_good_profile_and_every_bundled_one_load(tmp_path: Path):
    from s2sbench.profiles import bundled_profiles

    path = tmp_path / "good.toml"
    path.write_text(GOOD_PROFILE, encoding="utf-8")
    profile = load_profile(str(path))
    assert profile.tts_voices["coqui"] == ["Ana Florence"] and profile.max_error == 0.4 and profile.chars_per_second == (5.0, 25.0)
    assert all(load_profile(code).code == code for code in bundled_profiles())


# --------------------------------------------------------------------------- 3. items.jsonl that is not UTF-8


def test_items_that_are_not_utf8_are_one_line_naming_line_and_column(copy: Path, tmp_path: Path):
    path = copy / "items.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"she", b"sh\xe9", 1) if b"she" in lines[2] else lines[2][:30] + b"\xe9" + lines[2][31:]
    column = lines[2].index(b"\xe9") + 1  # the line before the byte is ASCII here
    path.write_bytes(b"".join(lines))
    before = path.read_bytes()
    expected = f"items.jsonl:3: not UTF-8 (byte 0xe9 at column {column})"
    one_line_error(runner.invoke(app, ["validate", str(copy), "-q"]), expected)
    one_line_error(runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q"]), expected)
    one_line_error(runner.invoke(app, ["score", str(copy), "-m", "no-such-model", "-o", str(tmp_path / "results"), "-q"]), expected)
    assert path.read_bytes() == before and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- 4. a clip that is not a regular file


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


def _make_directory(path: Path) -> None:
    path.mkdir()


def _make_loop(path: Path) -> None:
    path.symlink_to(path.name)


def _make_device(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null: /dev/zero (1, 5) would be read until memory runs out
    except PermissionError:
        pytest.skip("making a device node needs root")


@pytest.mark.parametrize(("make", "problem"), [(_make_fifo, "is a FIFO, not a regular file"), (_make_directory, "is a directory, not a regular file"),
                                               (_make_loop, "a loop of symbolic links"), (_make_device, "is a character device, not a regular file")])
@pytest.mark.parametrize("field", ["context", "candidates"])
def test_a_clip_that_is_not_a_regular_file_is_one_line_for_every_reader(copy: Path, tmp_path: Path, deadline, make, problem: str, field: str):
    record = json.loads((copy / "items.jsonl").read_bytes().splitlines()[1])
    relative = record["audio"]["context"] if field == "context" else record["audio"]["candidates"][1]
    where = "items.jsonl:2: audio.context" if field == "context" else "items.jsonl:2: audio.candidates[1]"
    (copy / relative).unlink()
    make(copy / relative)
    before = (copy / "items.jsonl").read_bytes()
    one_line_error(runner.invoke(app, ["validate", str(copy), "-q"]), where, problem)
    one_line_error(runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "-q"]), where, problem)
    one_line_error(runner.invoke(app, ["score", str(copy), "-m", "no-such-model", "-o", str(tmp_path / "results"), "-q"]), where, problem)
    one_line_error(runner.invoke(app, ["build", "sample:en", "-o", str(copy), "--limit", "5", "--no-validate", "-q"]), where, problem)
    assert (copy / "items.jsonl").read_bytes() == before and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- 5. --device cuda without a GPU


def test_cuda_without_a_gpu_is_one_line_before_any_work(copy: Path, tmp_path: Path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    message = "error: --device cuda: no CUDA GPU is visible (torch.cuda.is_available() is False)"
    output = tmp_path / "new"
    before = (copy / "items.jsonl").read_bytes()
    for command in (["build", "sample:en", "-o", str(output)], ["validate", str(copy)], ["score", str(copy), "-m", "no-such-model", "-o", str(tmp_path / "r")]):
        result = runner.invoke(app, [*command, "--device", "cuda", "-q"])
        assert result.exit_code == 2 and result.stderr.strip() == message, result.output
    result = runner.invoke(app, ["build", "sample:en", "-o", str(output), "--device", "cuda:1", "-q"])
    one_line_error(result, "--device cuda:1: no CUDA GPU is visible")
    assert not output.exists() and (copy / "items.jsonl").read_bytes() == before


# --------------------------------------------------------------------------- 6. --max-shard-size


@pytest.mark.parametrize("size", ["500M", "500MB", "2G", "1.5GB", "1MiB", "1048576"])
def test_max_shard_size_takes_the_usual_units(copy: Path, tmp_path: Path, size: str):
    result = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "--max-shard-size", size, "-q", "--no-verify"])
    assert result.exit_code == 0, result.output
    assert "story: 5 items" in result.stdout


@pytest.mark.parametrize("size", ["lots", "0", "-5M", "500X", "M", ""])
def test_a_bad_max_shard_size_is_one_line(copy: Path, tmp_path: Path, size: str):
    result = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "out"), "--max-shard-size", size, "-q"])
    one_line_error(result, f"--max-shard-size {size!r}: expected a size such as 500M")
    assert not (tmp_path / "out").exists()
