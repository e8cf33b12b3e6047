"""Shared fixtures: offline settings, models built once per test run, one sample build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No test reaches a network: the Hub clients must fail fast instead of trying.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# A Ray Data execution that makes no progress for 5 minutes fails instead of hanging the suite.
os.environ.setdefault("RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S", "300")

from s2sbench import BuildOptions, build  # noqa: E402
from tests.models import build_tiny_vits  # noqa: E402


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    tiny models' ops are microseconds long, and with 2+ intra-op threads on a busy small machine
    thread hand-offs cost more than the work (measured: 67 s instead of 7 s for the transformers
    ASR tests)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def whisper():
    """The offline Whisper base (faster-whisper) with 30 s windows, loaded once per run (``with_window``
    gives the same model under ``auto``, the builds' default)."""
    from s2sbench.validate.asr import ASRSpec, FasterWhisper

    return FasterWhisper(ASRSpec("faster-whisper", "base", "cpu", "30"), threads=2)


@pytest.fixture(scope="session")
def five_build(tmp_path_factory) -> Path:
    """``s2s build sample:en --limit 5 --no-validate``: 5 spoken items, built once per run. Read only:
    a test that changes a build copies it first."""
    output = tmp_path_factory.mktemp("five") / "build"
    build(BuildOptions(source="sample:en", output=output, limit=5, validate=False))
    return output


@pytest.fixture(scope="session")
def tiny_vits(tmp_path_factory) -> Path:
    """A tiny random Coqui VITS model directory (model.pth + config.json), built once per run."""
    return build_tiny_vits(tmp_path_factory.mktemp("tiny-vits"))


@pytest.fixture(scope="session")
def sample_en_build(tmp_path_factory) -> Path:
    """``s2s build sample:en --limit 10 --seed 1`` (5 stories, 5 questions, 40 clips) with the default
    engine and validation, built once per run. Read only. Ten items, not the sample's 28: every clip is
    recognized, and the whole sample took 3.5 minutes of the suite here."""
    output = tmp_path_factory.mktemp("builds") / "sample-en"
    build(BuildOptions(source="sample:en", output=output, lang="en", limit=10, seed=1))
    return output


def _spoken_sample(tmp_path_factory, limit: int) -> Path:
    output = tmp_path_factory.mktemp("builds") / f"sample-en-{limit}"
    build(BuildOptions(source="sample:en", output=output, limit=limit, seed=5, validate=False))
    return output


@pytest.fixture(scope="session")
def spoken_build(tmp_path_factory) -> Path:
    """4 spoken items of ``sample:en``: seed 5 picks 2 stories (K=2) and 2 questions (K=4). Read only."""
    return _spoken_sample(tmp_path_factory, 4)


@pytest.fixture(scope="session")
def items(spoken_build):
    """The score items of ``spoken_build``."""
    from s2sbench.scorer.inputs import load_score_items

    items = list(load_score_items(str(spoken_build)))
    assert sorted(len(i.candidates) for i in items) == [2, 2, 4, 4]
    assert all(i.context_audio for i in items)
    return items


@pytest.fixture(scope="session")
def ten_build(tmp_path_factory) -> Path:
    """10 spoken items of ``sample:en`` (6 stories, K=2; 4 questions, K=4; contexts of 2 to 12 s)."""
    return _spoken_sample(tmp_path_factory, 10)


@pytest.fixture(scope="session")
def ten_items(ten_build):
    from s2sbench.scorer.inputs import load_score_items

    return list(load_score_items(str(ten_build)))
