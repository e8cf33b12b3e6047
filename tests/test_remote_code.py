"""``--trust-remote-code``: a checkpoint whose modelling code ships with it loads only when asked,
and then runs that code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import S2SBenchError
from s2sbench.scorer.adapters import AdapterSpec, load_adapter
from s2sbench.scorer.run import ScoreOptions, score
from tests.models import build_tiny_causal_lm, sample_texts
from tests.models_remote import build_tiny_remote_lm

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def remote_lm(tmp_path_factory) -> Path:
    return build_tiny_remote_lm(tmp_path_factory.mktemp("remote-lm"))


def test_remote_code_is_refused_in_one_line_unless_trusted(remote_lm, spoken_build, tmp_path):
    with pytest.raises(S2SBenchError, match=r"runs its own modelling code; pass --trust-remote-code if you trust it$"):
        score(ScoreOptions(source=str(spoken_build), output=tmp_path / "r", model=str(remote_lm), modes=("t2t",), device="cpu"))
    adapter = load_adapter(AdapterSpec(str(remote_lm), device="cpu", options={"trust_remote_code": True}))
    assert type(adapter.model).__name__ == "TinyRemoteForCausalLM"  # the checkpoint's own class ran
    assert type(adapter.model).__module__.startswith("transformers_modules.")


def test_a_trusted_remote_model_scores_as_its_layers_do(remote_lm, spoken_build, tmp_path):
    output = tmp_path / "remote"
    result = CliRunner().invoke(app, ["score", str(spoken_build), "-m", str(remote_lm), "--modes", "t2t", "--trust-remote-code",
                                      "--device", "cpu", "-o", str(output), "-q"])
    assert result.exit_code == 0, result.output
    # the same weights as a plain Qwen2 (the remote class is Qwen2's): the same scores
    plain = build_tiny_causal_lm(tmp_path / "plain", sample_texts())
    score(ScoreOptions(source=str(spoken_build), output=tmp_path / "plain-results", model=str(plain), modes=("t2t",), device="cpu"))
    losses = [[json.loads(line)["loss"] for line in (directory / "scores.jsonl").read_text().splitlines()]
              for directory in (output, tmp_path / "plain-results")]
    assert losses[0] == pytest.approx(losses[1], abs=1e-6) and len(losses[0]) == 12
