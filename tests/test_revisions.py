"""Revisions a user can copy: ``s2s push`` prints the full commit SHA and tags a release with
``--tag``; ``s2s pull --revision`` and ``s2s score --revision`` take a full SHA, a unique prefix of
one, a branch or a tag; a repo or revision that cannot be had is one line, and nothing is written.
The official huggingface_hub and datasets clients run against the loopback Hub of tests/hub_server.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub_server import HubServer
from tests.test_push_hub import ALICE, BOB, ROOT, client_env


def s2s(hub: HubServer, home: Path, *args: str, token: str | None = ALICE, offline: bool = False) -> subprocess.CompletedProcess:
    env = client_env(hub, home, token)
    if offline:
        env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "s2sbench", *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr[-3000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def released(five_build: Path, tmp_path_factory):
    """alice/spoken pushed with --tag v1.0, then changed by a later commit on main; and alice/hidden, private."""
    home = tmp_path_factory.mktemp("home")
    with HubServer(users={ALICE: "alice", BOB: "bob"}) as hub:
        pushed = s2s(hub, home, "push", str(five_build), "--repo", "alice/spoken", "--tag", "v1.0", "--no-verify", "-q")
        hub.land_commit("alice/spoken", {"NOTES.md": b"later\n"}, "a later commit")
        hub.create_repo("alice/hidden", private=True)
        yield hub, pushed, home


def test_push_prints_the_full_commit_and_tags_it(released):
    hub, pushed, _ = released
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    release = next(c for c in hub.commits("alice/spoken") if c.message.startswith("s2s push"))
    assert re.search(rf"\(commit {release.oid}\)", pushed.stdout), pushed.stdout
    assert f"tagged {release.oid} as v1.0" in pushed.stdout
    assert hub.repo("alice/spoken").refs["refs/tags/v1.0"] == release.oid


@pytest.mark.parametrize("revision", ["full", "prefix", "v1.0"])
def test_pull_takes_the_sha_push_printed_a_prefix_of_it_or_the_tag(released, tmp_path: Path, revision: str):
    hub, _, home = released
    release = next(c for c in hub.commits("alice/spoken") if c.message.startswith("s2s push")).oid
    given = {"full": release, "prefix": release[:7], "v1.0": "v1.0"}[revision]
    pulled = s2s(hub, home, "pull", "alice/spoken", "--revision", given, "-o", str(tmp_path / "pulled"), "-q")
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    assert f"({release})" in pulled.stdout
    assert json.loads((tmp_path / "pulled" / "build.json").read_text())["pulled"]["revision"] == release


def test_score_reads_the_release_a_tag_or_a_prefix_names(released, tmp_path: Path, tiny_lm_directory: Path):
    hub, _, home = released
    release = next(c for c in hub.commits("alice/spoken") if c.message.startswith("s2s push")).oid
    scored = s2s(hub, home, "score", "alice/spoken", "--revision", release[:9], "-m", str(tiny_lm_directory), "--modes", "t2t",
                 "--device", "cpu", "-o", str(tmp_path / "r"), "-q")
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert json.loads((tmp_path / "r" / "run.json").read_text())["dataset"]["revision"] == release


def test_repos_and_revisions_that_cannot_be_had_are_one_line_and_write_nothing(released, tmp_path: Path):
    hub, _, home = released
    out = tmp_path / "pulled"
    absent = one_line(s2s(hub, home, "pull", "nobody/nothing", "-o", str(out)))
    assert absent == (f"error: nobody/nothing: not a local folder, and the Hub at {hub.url} has no dataset of that name "
                      "(or it is private and this token cannot see it)")
    assert one_line(s2s(hub, home, "pull", "alice/hidden", "-o", str(out), token=BOB)) == absent.replace("nobody/nothing", "alice/hidden")
    offline = one_line(s2s(hub, tmp_path / "empty-home", "pull", "nobody/nothing", "-o", str(out), offline=True))
    assert offline == "error: nobody/nothing: not a local folder, and not in the Hugging Face cache (offline: HF_HUB_OFFLINE is set)"
    assert one_line(s2s(hub, home, "pull", "alice/spoken", "--revision", "nope", "-o", str(out))) == (
        "error: alice/spoken: revision nope not found (branches main; tags v1.0; or a commit: its full SHA or a unique prefix)")
    assert one_line(s2s(hub, home, "pull", "alice/spoken", "--revision", "0" * 40, "-o", str(out))).startswith(
        f"error: alice/spoken: revision {'0' * 40} not found (")
    assert not out.exists()
    assert all("None" not in line for line in (absent, offline))


def test_a_tag_that_names_another_commit_refuses_the_push_before_anything_is_uploaded(released, five_build: Path, tmp_path: Path):
    hub, _, home = released
    before = [c.oid for c in hub.commits("alice/spoken")]
    refused = one_line(s2s(hub, home, "push", str(five_build), "--repo", "alice/spoken", "--tag", "v1.0", "--no-verify", "-q"))
    assert refused.startswith("error: --tag v1.0: alice/spoken has that tag already, at commit ") and "choose another" in refused
    assert [c.oid for c in hub.commits("alice/spoken")] == before


@pytest.fixture(scope="module")
def tiny_lm_directory(tmp_path_factory) -> Path:
    from tests.models import build_tiny_causal_lm, sample_texts

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"), sample_texts())
