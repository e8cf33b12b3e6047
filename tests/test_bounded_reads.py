"""What a user hands in is read within bounds: a take on the recording page is measured from its
header and decoded a block at a time (never whole), and a dataset card is read only up to a size."""

from __future__ import annotations

import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import S2SBenchError
from s2sbench.record import Prompt, keep_take

runner = CliRunner()
MIB = 2**20


def peak_bytes(call) -> tuple[int, BaseException | None]:
    """The most memory Python (numpy included) held during ``call``, and what it raised."""
    tracemalloc.start()
    raised = None
    try:
        call()
    except BaseException as error:  # noqa: BLE001 - returned to the test to look at
        raised = error
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, raised


def silent_flac(path: Path, seconds: int, rate: int = 16000) -> bytes:
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, format="FLAC", subtype="PCM_16") as handle:
        for _ in range(seconds):
            handle.write(np.zeros(rate, dtype=np.int16))
    return path.read_bytes()


def test_an_hour_of_flac_silence_is_refused_from_its_header(tmp_path: Path):
    data = silent_flac(tmp_path / "hour.flac", 3600)
    assert len(data) < 2 * MIB  # small on the wire, 230 MB of float32 decoded
    peak, raised = peak_bytes(lambda: keep_take(tmp_path / "takes", Prompt("i1", "context", "text"), data))
    assert isinstance(raised, S2SBenchError) and "the take is 3600 s, longer than 600 s" in str(raised)
    assert peak < 16 * MIB, peak
    assert not (tmp_path / "takes").exists()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="FFmpeg makes the browser's format")
def test_a_long_browser_take_is_decoded_a_block_at_a_time_and_stopped_at_the_limit(tmp_path: Path):
    """A webm/opus take (what MediaRecorder sends; no length soundfile reads) of 20 minutes."""
    webm = tmp_path / "long.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "1200", "-c:a", "libopus",
                    "-b:a", "16k", str(webm)], check=True, timeout=300)
    peak, raised = peak_bytes(lambda: keep_take(tmp_path / "takes", Prompt("i1", "context", "text"), webm.read_bytes()))
    assert isinstance(raised, S2SBenchError) and "longer than 600 s" in str(raised), raised
    assert peak < 16 * MIB + 2 * webm.stat().st_size, peak
    short = tmp_path / "short.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=2", "-c:a", "libopus", str(short)],
                   check=True, timeout=60)
    assert keep_take(tmp_path / "takes", Prompt("i1", "context", "text"), short.read_bytes()) == pytest.approx(2.0, abs=0.05)
    assert (tmp_path / "takes" / "i1" / "context.webm").read_bytes() == short.read_bytes()


def test_a_take_that_is_not_audio_is_one_error(tmp_path: Path):
    with pytest.raises(S2SBenchError, match="not audio"):
        keep_take(tmp_path / "takes", Prompt("i1", "context", "text"), b"<html>not a recording</html>")


def test_a_dataset_card_over_the_cap_is_refused_before_it_is_parsed(tmp_path: Path):
    export = tmp_path / "export"
    (export / "story").mkdir(parents=True)
    (export / "README.md").write_text("---\nconfigs: []\n---\n" + "x" * (2 * MIB), encoding="utf-8")
    size = (export / "README.md").stat().st_size
    for command in (["pull", str(export), "-o", str(tmp_path / "pulled"), "-q"], ["score", str(export), "-m", "unused", "-o", str(tmp_path / "r"), "-q"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"error: {export / 'README.md'}: {size} bytes, more than the {MIB} a dataset card may hold (s2s push writes a few KB)"
    assert not (tmp_path / "pulled").exists() and not (tmp_path / "r").exists()


def test_a_hub_dataset_card_over_the_cap_is_refused_by_its_listed_size(tmp_path: Path):
    import sys

    from s2sbench import BuildOptions, build
    from tests.hub_server import HubServer
    from tests.test_push_hub import ALICE, ROOT, client_env

    build(BuildOptions(source="sample:en", output=tmp_path / "b", limit=1, validate=False, speak="context"))
    with HubServer(users={ALICE: "alice"}) as hub:
        env = client_env(hub, tmp_path / "home", ALICE)

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)

        assert run("-m", "s2sbench", "push", str(tmp_path / "b"), "--repo", "alice/card", "--no-verify", "-q").returncode == 0
        card = "from huggingface_hub import HfApi; HfApi().upload_file(path_or_fileobj=b'---\\n---\\n' + b'x' * (2 << 20), path_in_repo='README.md', repo_id='alice/card', repo_type='dataset')"
        assert run("-c", card).returncode == 0
        refused = run("-m", "s2sbench", "pull", "alice/card:story", "-o", str(tmp_path / "pulled"), "-q")
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert refused.stderr.strip() == f"error: alice/card: README.md: {(2 << 20) + 8} bytes, more than the {MIB} a dataset card may hold (s2s push writes a few KB)"
    assert not (tmp_path / "pulled").exists()
