"""`s2s push` against a Hub that fails: errors, resets, stalls and a concurrent push, injected by the
loopback Hub server (tests/hub_server.py, ``HubServer.fault``). Each push runs in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests import test_push_hub
from tests.hub_server import HubServer
from tests.test_push_hub import ALICE, ROOT, client_env, expected_rows, read_back

PARQUET = "{}/test-00000-of-00001.parquet"
hub, builds = test_push_hub.hub, test_push_hub.builds  # the loopback Hub and the en/zh builds, as the push tests have them


def s2s_push(hub: HubServer, home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "s2sbench", "push", *args], env={**client_env(hub, home, ALICE), **(env or {})},
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr[-4000:]
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr, result.stderr[-4000:]
    assert ALICE not in result.stdout + result.stderr
    return result.stderr.strip().removeprefix("error: ")


def configs_on_card(hub: HubServer, repo: str) -> set[str]:
    readme = hub.files(repo)["README.md"].decode()
    return {c["config_name"] for c in yaml.safe_load(readme.split("---\n")[1])["configs"]}


@pytest.mark.parametrize(("fault", "said"), [({"status": 401}, "the Hub answered 401"),
                                             ({"status": 500, "headers": {"Retry-After": "0"}}, "the Hub answered 500"),
                                             ({"reset": True}, "the connection was reset")],
                         ids=["401", "500", "reset"])
def test_a_failed_lfs_upload_is_one_line_and_a_rerun_completes(hub, builds, tmp_path: Path, fault, said):
    hub.create_repo("alice/x")
    injected = hub.fault("lfs_upload", **fault)
    result = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/x", "--no-verify")
    line = one_line(result)
    assert injected.hits and line.startswith("push to alice/x failed: uploading ") and said in line, line
    assert [c.message for c in hub.commits("alice/x")] == ["initial commit"]  # nothing of it is on the Hub
    hub.clear_faults()
    again = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/x", "--no-verify")
    assert again.returncode == 0, again.stderr[-4000:]
    assert PARQUET.format("en-stories") in hub.files("alice/x")


def test_a_hub_that_never_answers_the_commit_times_out_with_one_line(hub, builds, tmp_path: Path):
    stalled = hub.fault("commit", stall=10)
    result = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/hung", env={"S2S_HUB_TIMEOUT": "2"}, timeout=120)
    ended = time.monotonic()
    line = one_line(result)
    assert stalled.hits and ended - stalled.hits[0] < 8, ended - stalled.hits[0]
    assert line.startswith("cannot reach the Hub: no answer from ") and "in 2 s" in line and "/commit/" in line, line
    assert ("dataset", "alice/hung") not in hub.repos  # the repo it created for the commit went with it


@pytest.mark.parametrize("route", ["whoami", "repo_info", "tree", "resolve", "paths_info", "validate_yaml", "preupload", "lfs_batch", "lfs_upload"])
def test_every_request_of_a_push_times_out(hub, builds, tmp_path: Path, route):
    """A second push (zh after en) reads the repo's records and compares files, so it makes every kind of request."""
    en, zh = builds
    assert s2s_push(hub, tmp_path / "h", str(en), "--repo", "alice/slow", "--no-verify").returncode == 0
    before = [c.oid for c in hub.commits("alice/slow")]
    stalled = hub.fault(route, stall=10)
    result = s2s_push(hub, tmp_path / "h2", str(en), str(zh), "--repo", "alice/slow", "--no-verify", env={"S2S_HUB_TIMEOUT": "2"}, timeout=120)
    ended = time.monotonic()
    line = one_line(result)
    assert stalled.hits and ended - stalled.hits[0] < 8, (route, ended - stalled.hits[0])
    assert line.startswith("cannot reach the Hub: no answer from ") and "in 2 s" in line, line
    assert [c.oid for c in hub.commits("alice/slow")] == before


def test_a_bad_timeout_setting_is_one_line(hub, builds, tmp_path: Path):
    line = one_line(s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/x", env={"S2S_HUB_TIMEOUT": "soon"}))
    assert "S2S_HUB_TIMEOUT" in line and ("dataset", "alice/x") not in hub.repos


def test_a_push_whose_parent_moved_is_replanned_and_loses_nothing(hub, builds, tmp_path: Path):
    """Push en; between its read of the repo and its commit, a push of zh lands (deterministically: the
    server runs the zh push when en's commit arrives, then answers en's commit)."""
    en, zh = builds
    other: list[subprocess.CompletedProcess] = []
    hook = hub.fault("commit", times=1, hook=lambda: other.append(
        s2s_push(hub, tmp_path / "h2", str(zh), "--repo", "alice/both", "--no-verify", timeout=200)))
    first = s2s_push(hub, tmp_path / "h1", str(en), "--repo", "alice/both")
    assert not hook.errors and other and other[0].returncode == 0, other[0].stderr[-4000:] if other else hook.errors
    assert first.returncode == 0 and "verified" in first.stdout, first.stderr[-4000:]
    files = hub.files("alice/both")
    assert {PARQUET.format("en-stories"), PARQUET.format("zh-stories"), "s2sbench/en-stories.json", "s2sbench/zh-stories.json"} <= set(files)
    assert configs_on_card(hub, "alice/both") == {"en-stories", "zh-stories"}
    assert [c.message for c in hub.commits("alice/both")][1:] == ["s2s push: zh-stories", "s2s push: en-stories"]
    loaded = read_back(hub, tmp_path / "r", "alice/both", "en-stories", "zh-stories")
    assert loaded == {"en-stories": expected_rows(en), "zh-stories": expected_rows(zh)}


def test_a_repo_that_keeps_moving_is_refused_with_one_line(hub, builds, tmp_path: Path):
    hub.create_repo("alice/busy")
    counter = iter(range(100))
    # someone else commits every time this push tries to
    hub.fault("commit", hook=lambda: hub.land_commit("alice/busy", {f"other/{next(counter)}.txt": b"x"}, "other", author="bob"))
    line = one_line(s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/busy", "--no-verify"))
    assert line.startswith("push to alice/busy failed: ") and "re-run" in line, line
    assert not [c for c in hub.commits("alice/busy") if c.message.startswith("s2s push")]


@pytest.mark.parametrize("status", [429, 500])
def test_a_failing_first_commit_leaves_no_empty_repo(hub, builds, tmp_path: Path, status):
    failing = hub.fault("commit", status=status, headers={"Retry-After": "0"})
    line = one_line(s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/new", "--private"))
    assert failing.hits and line.startswith("push to alice/new failed: ") and f"the Hub answered {status}" in line, line
    assert ("dataset", "alice/new") not in hub.repos
    hub.clear_faults()
    again = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/new", "--private", "--no-verify")
    assert again.returncode == 0, again.stderr[-4000:]
    assert hub.repo("alice/new").private and PARQUET.format("en-stories") in hub.files("alice/new")


def test_a_failing_commit_to_a_new_branch_leaves_no_branch(hub, builds, tmp_path: Path):
    hub.create_repo("alice/br")
    hub.fault("commit", status=500)
    one_line(s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/br", "--revision", "dev"))
    assert set(hub.repo("alice/br").refs) == {"refs/heads/main"}


def test_a_failing_commit_keeps_a_repo_that_someone_else_filled(hub, builds, tmp_path: Path):
    """The repo this push created got another push's commit meanwhile: it is not deleted."""
    en, zh = builds
    other: list[subprocess.CompletedProcess] = []

    def push_zh_then_fail_the_next_commit() -> None:
        other.append(s2s_push(hub, tmp_path / "h2", str(zh), "--repo", "alice/shared", "--no-verify", timeout=200))
        hub.fault("commit", status=500)

    hub.fault("commit", times=1, hook=push_zh_then_fail_the_next_commit)
    line = one_line(s2s_push(hub, tmp_path / "h1", str(en), "--repo", "alice/shared", "--no-verify"))
    assert "the Hub answered 500" in line and other and other[0].returncode == 0, other[0].stderr[-4000:] if other else line
    assert PARQUET.format("zh-stories") in hub.files("alice/shared")


def test_a_hub_that_stops_answering_reads_fails_the_verification_in_time(hub, builds, tmp_path: Path):
    stalls: list = []
    hub.fault("commit", times=1, hook=lambda: stalls.append(hub.fault("resolve", stall=10)))
    result = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/read", env={"S2S_HUB_TIMEOUT": "2"}, timeout=120)
    ended = time.monotonic()
    line = one_line(result)
    assert stalls and stalls[0].hits and ended - stalls[0].hits[0] < 8, ended - stalls[0].hits[0]
    assert "cannot reach the Hub: no answer from " in line and "in 2 s" in line, line
