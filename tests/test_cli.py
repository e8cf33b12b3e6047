"""The `s2s` command line: help, version, summaries and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from s2sbench import __version__
from s2sbench.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"s2sbench {__version__}"


def _commands(group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if hasattr(command, "commands"):  # a group (typer ships its own click)
            found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_command_walk_sees_every_command():
    assert {("build",), ("score",), ("push",), ("langs", "check"), ("voices",)} <= set(COMMANDS) and len(COMMANDS) >= 12


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_teaches_by_examples_in_80_columns(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0 and "Usage" in result.output
    lines = result.output.splitlines()
    examples = lines[lines.index("  Examples:") + 1:] if "  Examples:" in lines else []
    examples = [line.strip() for line in examples[:next((i for i, line in enumerate(examples) if not line.strip()), len(examples))]]
    assert 2 <= sum(line.startswith("s2s ") for line in examples) <= 4, result.output
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert "…" not in result.output  # nothing cut
    assert not re.search(r"<(str|int|float|bool|path|list)\b", result.output), "Python types in the help"


def test_build_help_explains_every_option():
    text = runner.invoke(app, ["build", "--help"], env={"COLUMNS": "200"}).output
    for option in ["--output", "--format", "--lang", "--profile", "--map", "--template", "--tts", "--voices", "--speak", "--limit", "--seed", "--skip-bad-rows", "--workers"]:
        assert option in text


def test_formats_lists_every_builder():
    output = runner.invoke(app, ["formats"]).output
    for name in ["storycloze", "xstorycloze", "cmmlu", "mmlu", "s2sbench", "items", "csv", "jsonl"]:
        assert name in output


def test_adapters_lists_every_adapter_with_its_modes_and_model_types():
    from s2sbench.scorer.adapters import adapter_modes, adapters, model_types

    result = runner.invoke(app, ["adapters"])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split() == ["ADAPTER", "MODES", "AUTO", "PICKS", "IT", "FOR"]
    rows = {line.split()[0]: line.split(maxsplit=2)[1:] for line in lines}
    assert sorted(rows) == adapters() and {"causal-lm", "cascade", "qwen2-audio", "granite-speech"} <= set(rows)
    for name, (modes, _) in rows.items():
        assert modes == ",".join(adapter_modes(name))
    for model_type, name in model_types().items():  # every type auto knows, on its adapter's line
        assert model_type in rows[name][1].split(", ")
    assert rows["granite-speech"] == ["t2t,s2t", "granite_speech"]
    assert rows["qwen2.5-omni"][1] == "qwen2_5_omni, qwen2_5_omni_thinker"
    assert rows["qwen3-omni"] == ["t2t,s2t", "qwen3_omni_moe, qwen3_omni_moe_thinker"]
    assert rows["phi-4-multimodal"] == ["t2t,s2t", "phi4_multimodal"]
    assert rows["cascade"] == ["t2t,s2t,s2s", "--model cascade:ASR+LM"]
    assert rows["causal-lm"][0] == "t2t" and "gguf" in rows["causal-lm"][1]


def test_build_prints_a_summary(tmp_path: Path):
    result = runner.invoke(app, ["build", "sample:zh", "--lang", "zh", "-o", str(tmp_path / "b"), "--limit", "2", "-q", "--no-validate"])
    assert result.exit_code == 0, result.output
    assert f"built {tmp_path / 'b'}: 2 items" in result.output and "synthesized" in result.output


def test_bad_row_is_one_line_naming_file_line_and_field(tmp_path: Path):
    source = tmp_path / "bad.csv"
    source.write_text("InputStoryid,InputSentence1,InputSentence2,InputSentence3,InputSentence4,RandomFifthSentenceQuiz1,RandomFifthSentenceQuiz2,AnswerRightEnding\n"
                      "a1,One.,Two.,Three.,Four.,Good end.,Bad end.,3\n")
    result = subprocess.run([sys.executable, "-m", "s2sbench", "build", str(source), "-o", str(tmp_path / "b"), "--no-validate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {source}:2: AnswerRightEnding: answer '3' out of range (expected one of 1, 2)"
    assert not (tmp_path / "b" / "items.jsonl").exists() or not (tmp_path / "b" / "items.jsonl").read_text()


def test_missing_source_and_unknown_format_are_clear(tmp_path: Path):
    missing = runner.invoke(app, ["build", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "b")])
    assert missing.exit_code == 2 and "no such file or directory" in missing.output
    unknown = runner.invoke(app, ["build", "sample:en", "--format", "nope", "-o", str(tmp_path / "b")])
    assert unknown.exit_code == 2 and "unknown format 'nope'" in unknown.output


def test_build_json_never_holds_a_token(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secretvalue123")
    runner.invoke(app, ["build", "sample:en", "-o", str(tmp_path / "b"), "--limit", "1", "-q", "--no-validate"])
    assert "hf_secretvalue123" not in (tmp_path / "b" / "build.json").read_text()
    assert json.loads((tmp_path / "b" / "build.json").read_text())["status"] == "complete"


def test_one_device_syntax_everywhere(tmp_path: Path):
    from s2sbench.devices import device_index
    from s2sbench.synth.piper import _use_cuda

    assert device_index("cuda:1") == ("cuda", 1) and device_index("cuda") == ("cuda", 0) and device_index("cpu") == ("cpu", 0)
    assert _use_cuda("cuda:0") and not _use_cuda("cpu")
    with pytest.raises(Exception, match="CUDA_VISIBLE_DEVICES=1"):
        _use_cuda("cuda:1")
    for command in (["build", "sample:en", "-o", str(tmp_path / "b")], ["validate", str(tmp_path / "b")], ["score", str(tmp_path / "b"), "-m", "x"]):
        result = runner.invoke(app, [*command, "--device", "gpu1"])
        assert result.exit_code == 2 and result.stderr.strip() == "error: --device 'gpu1': expected auto, cpu, cuda or cuda:N (e.g. cuda:1)", result.output
    assert not (tmp_path / "b").exists()


def test_each_long_command_takes_a_frozen_dataclass_with_a_field_per_row_of_its_table():
    import dataclasses

    from s2sbench import cli_params

    tables = {cli_params.BuildInputs: cli_params.BUILD, cli_params.AugmentInputs: cli_params.AUGMENT, cli_params.ScoreInputs: cli_params.SCORE,
              cli_params.ReportInputs: cli_params.REPORT, cli_params.PushInputs: cli_params.PUSH}
    for inputs, table in tables.items():
        fields = dataclasses.fields(inputs)
        assert inputs.PARAMS == table
        assert [(f.name, f.type) for f in fields] == [(row.name, row.type) for row in table], inputs.__name__
        given = inputs(**{row.name: None for row in table})
        with pytest.raises(dataclasses.FrozenInstanceError):
            given.quiet = True  # type: ignore[misc]
        with pytest.raises(TypeError):
            inputs(**{row.name: None for row in table}, misspelt=1)
