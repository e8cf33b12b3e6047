"""A recognizer or speech model a profile or ``--asr``/``--tts`` names is that model, never a folder
of the working directory that shares its name; a local model is a path the user gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import EngineError
from s2sbench.synth import TTSSpec
from s2sbench.validate.asr import ASRSpec, FasterWhisper, TransformersASR

runner = CliRunner()


def test_a_build_directory_called_base_is_not_whisper_base(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(app, ["build", "sample:en", "--limit", "1", "--speak", "context", "-o", "base", "--no-validate", "-q"])
    assert made.exit_code == 0, made.output
    checked = runner.invoke(app, ["build", "sample:en", "--limit", "1", "--speak", "context", "-o", "checked", "-q"])
    assert checked.exit_code == 0, checked.output
    assert "validation: 1/1 clips passed" in checked.stdout or "validation: 0/1 clips passed" in checked.stdout


def test_a_local_recognizer_is_a_path_and_a_missing_one_is_said(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small").mkdir()
    with pytest.raises(EngineError, match=r"^cannot load faster-whisper model '\./nowhere': no such model directory"):
        FasterWhisper(ASRSpec("faster-whisper", "./nowhere", "cpu"))
    with pytest.raises(EngineError, match=r"a local model directory is given as a path: faster-whisper:\./small\)$"):
        FasterWhisper(ASRSpec("faster-whisper", "small", "cpu"))  # the name, offline: not the empty folder beside it
    with pytest.raises(EngineError, match=r"^transformers:small: a folder named small is here"):
        TransformersASR(ASRSpec("transformers", "small", "cpu"))


def test_a_coqui_model_path_that_is_not_there_is_said(tmp_path: Path):
    from s2sbench.synth.coqui import identity_of

    with pytest.raises(EngineError, match=r"^coqui:\./no-model: no such model directory$"):
        identity_of(TTSSpec("coqui", "./no-model"))
    assert identity_of(TTSSpec("coqui", "tts_models/en/ljspeech/vits"))["model"] == "tts_models/en/ljspeech/vits"
