"""What ``--model`` names is said before any adapter is chosen: each way it can be wrong is one line,
exit status 2, and no results directory. Hub models are served by the loopback Hub of
tests/hub_server.py to the official huggingface_hub client, in a subprocess of its own."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from tests.hub_server import HubServer
from tests.models import build_tiny_causal_lm, sample_texts
from tests.test_push_hub import ALICE, BOB, ROOT, client_env

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"), sample_texts())


def refused(result, message: str, output: Path) -> None:
    """Exit 2, one line ``error: MESSAGE``, and no results directory."""
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {message}", result.stderr
    assert not output.exists()


@pytest.mark.parametrize("model", ["./nonexistent-dir", "/nonexistent", "missing.gguf"])
def test_a_missing_path_is_one_line(five_build: Path, tmp_path: Path, model: str, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["score", str(five_build), "--model", model, "-o", "r"])
    refused(result, f"{model}: no such model directory or file", tmp_path / "r")


def test_a_directory_without_config_json_is_not_a_model(five_build: Path, tmp_path: Path):
    (tmp_path / "weights").mkdir()
    result = runner.invoke(app, ["score", str(five_build), "--model", str(tmp_path / "weights"), "-o", str(tmp_path / "r")])
    refused(result, f"{tmp_path / 'weights'}: a directory without config.json: not a model directory "
                    "(a transformers model holds its config.json)", tmp_path / "r")


def test_a_gguf_that_is_not_one_is_said(five_build: Path, tmp_path: Path):
    (tmp_path / "model.gguf").write_text("not a model\n")
    result = runner.invoke(app, ["score", str(five_build), "--model", str(tmp_path / "model.gguf"), "-o", str(tmp_path / "r")])
    refused(result, f"{tmp_path / 'model.gguf'}: not a GGUF file (it does not start with the GGUF magic bytes)", tmp_path / "r")


def test_auto_never_guesses_the_family_of_an_unreadable_config(five_build: Path, tmp_path: Path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{not json")
    result = runner.invoke(app, ["score", str(five_build), "--model", str(tmp_path / "model"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "cannot read its config.json" in result.stderr and "family is unknown" in result.stderr, result.output
    assert "causal-lm" not in result.stderr and not (tmp_path / "r").exists()
    (tmp_path / "model" / "config.json").write_text('{"hidden_size": 8}')
    result = runner.invoke(app, ["score", str(five_build), "--model", str(tmp_path / "model"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "names no model_type" in result.stderr and not (tmp_path / "r").exists(), result.output


def _weights_file(tmp: Path) -> str:
    (tmp / "weights.bin").write_bytes(b"\0" * 16)
    return str(tmp / "weights.bin")


def _config_of_a_list(tmp: Path) -> str:
    (tmp / "listed").mkdir()
    (tmp / "listed" / "config.json").write_text("[1, 2]")
    return str(tmp / "listed")


# The other refusals the resolver names, offline, one row each: (--model given, the line it gets).
# A callable builds what the reference names in the test's folder and returns the reference.
OFFLINE_REFUSALS = {
    "empty": ("", "--model: empty; give a model directory, a .gguf file, cascade:ASR+LM or a Hub name OWNER/NAME"),
    "cascade_without_lm": ("cascade:faster-whisper:base",
                           "--model 'cascade:faster-whisper:base': expected cascade:ASR_ENGINE:ASR_MODEL+LM "
                           "(e.g. cascade:faster-whisper:base+HuggingFaceTB/SmolLM2-135M)"),
    "cascade_in_a_cascade": ("cascade:faster-whisper:base+cascade:faster-whisper:tiny+a/b",
                             "--model 'cascade:faster-whisper:base+cascade:faster-whisper:tiny+a/b': "
                             "the LM of a cascade is a text LM, not another cascade"),
    "file_not_gguf": (_weights_file, "{model}: a file that is not a .gguf model; give a model directory (with config.json) or a .gguf file"),
    "config_not_an_object": (_config_of_a_list, "{model}: its config.json does not hold an object, so its family is unknown"),
    "nothing_after_at": ("alice/tiny@", "alice/tiny@: nothing after @: give a revision (a branch, a tag or a commit) or leave out the @"),
    "not_a_repo_id": ("no such model!", "no such model!: no such model directory or file, and not a Hub model name (OWNER/NAME[@REVISION])"),
    "revision_not_cached": ("someorg/somemodel@v2",
                            "someorg/somemodel: not a local directory, and not in the Hugging Face cache at revision v2 "
                            "(offline: HF_HUB_OFFLINE is set)"),
}


@pytest.mark.parametrize("case", OFFLINE_REFUSALS, ids=list(OFFLINE_REFUSALS))
def test_each_refusal_of_the_resolver_is_its_one_line(case: str, five_build: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    given, message = OFFLINE_REFUSALS[case]
    model = given(tmp_path) if callable(given) else given
    result = runner.invoke(app, ["score", str(five_build), "--model", model, "-o", str(tmp_path / "r")])
    refused(result, message.format(model=model), tmp_path / "r")


def test_a_cached_model_without_its_config_is_said_with_the_commit_it_holds(five_build: Path, tmp_path: Path, monkeypatch):
    cache, commit = tmp_path / "hub", "0123456789abcdef0123456789abcdef01234567"
    (cache / "models--someorg--cached" / "refs").mkdir(parents=True)
    (cache / "models--someorg--cached" / "refs" / "main").write_text(commit)
    (cache / "models--someorg--cached" / "snapshots" / commit).mkdir(parents=True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    result = runner.invoke(app, ["score", str(five_build), "--model", "someorg/cached", "-o", str(tmp_path / "r")])
    refused(result, f"someorg/cached: in the Hugging Face cache at {commit} without its config.json (offline: HF_HUB_OFFLINE is set), "
                    "so its family is unknown", tmp_path / "r")


def test_a_hub_name_missing_from_the_cache_offline_is_said_before_an_adapter_is_chosen(five_build: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))  # an empty cache
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "home" / "hub"))
    result = runner.invoke(app, ["score", str(five_build), "--model", "someorg/somemodel", "-o", str(tmp_path / "r")])
    refused(result, "someorg/somemodel: not a local directory, and not in the Hugging Face cache (offline: HF_HUB_OFFLINE is set)", tmp_path / "r")
    result = runner.invoke(app, ["score", str(five_build), "--model", "cascade:faster-whisper:base+someorg/somemodel", "-o", str(tmp_path / "r")])
    refused(result, "someorg/somemodel: not a local directory, and not in the Hugging Face cache (offline: HF_HUB_OFFLINE is set)", tmp_path / "r")


def test_a_sweep_checks_every_checkpoint_before_scoring_the_first(five_build: Path, tiny_lm: Path, tmp_path: Path):
    result = runner.invoke(app, ["score", str(five_build), "--model", str(tiny_lm), "--model", "./step-9", "--modes", "t2t", "-o", str(tmp_path / "r")])
    refused(result, "./step-9: no such model directory or file", tmp_path / "r")


def test_adapters_says_what_a_model_reference_is(tiny_lm: Path, tmp_path: Path):
    result = runner.invoke(app, ["adapters", "--model", str(tiny_lm)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{tiny_lm}: a local model directory {tiny_lm} (model_type qwen2)", "--adapter auto picks causal-lm (modes t2t)"]
    result = runner.invoke(app, ["adapters", "--model", "./nope"])
    assert result.exit_code == 2 and result.stderr.strip() == "error: ./nope: no such model directory or file"


# --- the Hub, online -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_models(tiny_lm: Path):
    """alice/tiny (two commits, the first tagged v1), bob's gated bob/gated, on a loopback Hub."""
    with HubServer(users={ALICE: "alice", BOB: "bob"}) as hub:
        files = {path.name: path.read_bytes() for path in tiny_lm.iterdir() if path.is_file()}
        hub.create_repo("alice/tiny", repo_type="model")
        first = hub.land_commit("alice/tiny", files, "the weights", repo_type="model")
        hub.repo("alice/tiny", repo_type="model").refs["refs/tags/v1"] = first.oid
        hub.land_commit("alice/tiny", {"README.md": b"# tiny\n"}, "a card", repo_type="model")
        hub.create_repo("bob/gated", repo_type="model", gated=True)
        hub.land_commit("bob/gated", files, "the weights", repo_type="model")
        hub.create_repo("bob/private", repo_type="model", private=True)
        hub.land_commit("bob/private", files, "the weights", repo_type="model")
        hub.create_repo("alice/cardonly", repo_type="model")
        hub.land_commit("alice/cardonly", {"README.md": b"# weights elsewhere\n"}, "a card", repo_type="model")
        yield hub


def _branch_sharing_a_prefix(hub: HubServer, repo_id: str) -> str:
    """A branch ``twin`` whose one commit's SHA starts with the same 12 hex digits as main's head
    (as two commits of a long history may): the 12 digits are then no unique prefix."""
    repo = hub.repo(repo_id, repo_type="model")
    head = repo.commits[repo.refs["refs/heads/main"]]
    twin = dataclasses.replace(head, oid=head.oid[:12] + ("0" if head.oid[12] != "0" else "1") + head.oid[13:], parent=head.oid,
                               message="a twin")
    repo.commits[twin.oid] = twin
    repo.refs["refs/heads/twin"] = twin.oid
    return head.oid[:12]


def s2s(hub: HubServer, home: Path, *args: str, token: str | None = ALICE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "s2sbench", *args], env=client_env(hub, home, token), capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def test_hub_models_that_cannot_be_had_are_said_as_the_hub_said_it(hub_models: HubServer, five_build: Path, tmp_path: Path):
    home, output = tmp_path / "home", tmp_path / "r"
    args = ("score", str(five_build), "--modes", "t2t", "-o", str(output), "-m")
    assert one_line(s2s(hub_models, home, *args, "alice/absent")) == (
        f"error: alice/absent: not a local directory, and the Hub at {hub_models.url} has no model of that name "
        "(or it is private and this token cannot see it)")
    assert one_line(s2s(hub_models, home, *args, "bob/gated")).startswith(
        f"error: bob/gated: a gated model on the Hub: accept its terms at {hub_models.url}/bob/gated")
    assert one_line(s2s(hub_models, home, *args, "alice/tiny@nope")) == (
        "error: alice/tiny: revision nope not found (branches main; tags v1; or a commit: its full SHA or a unique prefix)")
    assert one_line(s2s(hub_models, home, *args, "bob/private")) == (
        f"error: bob/private: not a local directory, and the Hub at {hub_models.url} has no model of that name "
        "(or it is private and this token cannot see it)")
    head = hub_models.commits("alice/cardonly", repo_type="model")[-1].oid
    assert one_line(s2s(hub_models, home, *args, "alice/cardonly")) == (
        f"error: alice/cardonly: the Hub at {hub_models.url} holds no config.json for it at {head}, so its family is unknown "
        "(a GGUF file is scored from a local path: download it and give --model FILE.gguf)")
    assert not output.exists()


def test_a_commit_prefix_that_names_two_commits_asks_for_more(hub_models: HubServer, five_build: Path, tmp_path: Path):
    prefix = _branch_sharing_a_prefix(hub_models, "alice/tiny")
    try:
        line = one_line(s2s(hub_models, tmp_path / "home", "score", str(five_build), "-m", f"alice/tiny@{prefix}", "-o", str(tmp_path / "r")))
    finally:
        repo = hub_models.repo("alice/tiny", repo_type="model")
        del repo.commits[repo.refs.pop("refs/heads/twin")]
    assert line.startswith(f"error: alice/tiny: revision {prefix} is the start of 2 commits (") and line.endswith("): give more of the SHA")
    assert not (tmp_path / "r").exists()


def test_a_hub_model_scores_at_a_tag_a_branch_or_a_commit_prefix(hub_models: HubServer, five_build: Path, tmp_path: Path):
    first = hub_models.commits("alice/tiny", repo_type="model")[1].oid
    head = hub_models.commits("alice/tiny", repo_type="model")[-1].oid
    scores = {}
    for name, model in (("main", "alice/tiny"), ("tag", "alice/tiny@v1"), ("prefix", f"alice/tiny@{first[:8]}")):
        output = tmp_path / name
        result = s2s(hub_models, tmp_path / "home", "score", str(five_build), "-m", model, "--modes", "t2t", "--device", "cpu", "-o", str(output), "-q")
        assert result.returncode == 0, result.stderr[-3000:]
        run = json.loads((output / "run.json").read_text())
        assert run["weights"] == {"hub": "alice/tiny", "revision": head if name == "main" else first}
        scores[name] = [json.loads(line)["loss"] for line in (output / "scores.jsonl").read_text().splitlines()]
    assert scores["main"] == scores["tag"] == scores["prefix"] and scores["main"]
