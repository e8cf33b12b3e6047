"""`s2s push` to a Hub: the official clients against the loopback Hub server of tests/hub_server.py.

Each push and each read-back runs in a fresh process (the clients read their settings at import).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from s2sbench import BuildOptions, build
from tests.hub_server import HubServer

ALICE, BOB = "hf_alice_secret_token", "hf_bob_secret_token"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hub():
    with HubServer(users={ALICE: "alice", BOB: "bob"}) as server:
        yield server


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("push")
    en, zh = base / "en", base / "zh"
    build(BuildOptions(source="sample:en", output=en, limit=4, validate=False, subset="en-stories"))
    build(BuildOptions(source="sample:zh", lang="zh", output=zh, limit=3, validate=False, subset="zh-stories"))
    return en, zh


def client_env(hub: HubServer, home: Path, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_")) and "proxy" not in k.lower()}
    env.update(HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0", HF_DATASETS_OFFLINE="0", HF_HOME=str(home), NO_PROXY="127.0.0.1,localhost",
               HF_HUB_DISABLE_PROGRESS_BARS="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    if token:
        env["HF_TOKEN"] = token
    return env


def s2s_push(hub: HubServer, home: Path, *args: str, token: str | None = ALICE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "s2sbench", "push", *args], env=client_env(hub, home, token), capture_output=True, text=True, cwd=ROOT, timeout=300)


READ_BACK = """
import hashlib, json, sys, datasets
datasets.config.USE_PARQUET_EXPORT = False
rows = {}
for config in sys.argv[2:]:
    ds = datasets.load_dataset(sys.argv[1], config, split="test")
    raw = ds.cast_column("context_audio", datasets.Audio(decode=False)).cast_column("candidate_audio", datasets.List(datasets.Audio(decode=False)))
    rows[config] = [[r["id"], r["context"], r["candidates"], r["answer"], hashlib.sha256(r["context_audio"]["bytes"]).hexdigest(),
                     [hashlib.sha256(c["bytes"]).hexdigest() for c in r["candidate_audio"]]] for r in raw]
print(json.dumps(rows))
"""


def read_back(hub: HubServer, home: Path, repo: str, *configs: str) -> dict:
    run = subprocess.run([sys.executable, "-c", READ_BACK, repo, *configs], env=client_env(hub, home, ALICE), capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def expected_rows(build_dir: Path) -> list[list]:
    rows = []
    for line in (build_dir / "items.jsonl").read_text().splitlines():
        item = json.loads(line)
        digest = lambda p: hashlib.sha256((build_dir / p).read_bytes()).hexdigest()  # noqa: E731
        rows.append([item["id"], item["context"], item["candidates"], item["answer"], digest(item["audio"]["context"]), [digest(p) for p in item["audio"]["candidates"]]])
    return rows


def test_two_builds_push_as_two_configs_and_load_back_identical(hub, builds, tmp_path: Path):
    en, zh = builds
    result = s2s_push(hub, tmp_path / "home", str(en), str(zh), "--repo", "alice/spoken")
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout and ALICE not in result.stdout + result.stderr
    loaded = read_back(hub, tmp_path / "reader", "alice/spoken", "en-stories", "zh-stories")
    assert loaded["en-stories"] == expected_rows(en)
    assert loaded["zh-stories"] == expected_rows(zh)
    readme = hub.files("alice/spoken")["README.md"].decode()
    metadata = yaml.safe_load(readme.split("---\n")[1])
    assert {c["config_name"] for c in metadata["configs"]} == {"en-stories", "zh-stories"}
    assert ALICE not in readme
    pushes = [c for c in hub.commits("alice/spoken") if c.message.startswith("s2s push")]
    assert len(pushes) == 1  # one commit for both configs


def test_repush_makes_no_commit_and_a_later_config_keeps_the_first(hub, builds, tmp_path: Path):
    en, zh = builds
    assert s2s_push(hub, tmp_path / "h", str(en), "--repo", "alice/spoken").returncode == 0
    commits = len(hub.commits("alice/spoken"))
    again = s2s_push(hub, tmp_path / "h", str(en), "--repo", "alice/spoken", "--no-verify")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert len(hub.commits("alice/spoken")) == commits
    later = s2s_push(hub, tmp_path / "h", str(zh), "--repo", "alice/spoken", "--commit-message", "add zh")
    assert later.returncode == 0, later.stderr
    assert hub.commits("alice/spoken")[-1].message == "add zh"
    assert read_back(hub, tmp_path / "r", "alice/spoken", "en-stories")["en-stories"] == expected_rows(en)
    readme = hub.files("alice/spoken")["README.md"].decode()
    assert "### `en-stories`" in readme and "### `zh-stories`" in readme
    assert {c["config_name"] for c in yaml.safe_load(readme.split("---\n")[1])["configs"]} == {"en-stories", "zh-stories"}


@pytest.mark.parametrize(
    ("token", "repo", "message"),
    [
        ("hf_wrong_token", "alice/x", "authentication failed"),
        (BOB, "alice/spoken", "no write access to alice/spoken"),
        (ALICE, "not/a/repo", "invalid repo id"),
    ],
)
def test_refused_pushes_fail_with_one_line_and_write_nothing(hub, builds, tmp_path: Path, token, repo, message):
    hub.create_repo("alice/spoken")
    before = len(hub.commits("alice/spoken"))
    result = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", repo, token=token)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert token not in result.stderr + result.stdout
    assert len(hub.commits("alice/spoken")) == before


def test_private_push_is_private(hub, builds, tmp_path: Path):
    assert s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/hidden", "--private").returncode == 0
    anonymous = subprocess.run([sys.executable, "-c", "from huggingface_hub import HfApi; HfApi().dataset_info('alice/hidden')"],
                               env=client_env(hub, tmp_path / "anon", None), capture_output=True, text=True, cwd=ROOT)
    assert anonymous.returncode != 0 and "RepositoryNotFound" in anonymous.stderr


def test_push_to_a_new_branch(hub, builds, tmp_path: Path):
    result = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/branched", "--revision", "dev")
    assert result.returncode == 0, result.stderr
    assert "en-stories/test-00000-of-00001.parquet" in hub.files("alice/branched", revision="dev")
    assert "en-stories/test-00000-of-00001.parquet" not in hub.files("alice/branched", revision="main")


def test_a_build_with_nothing_to_publish_creates_no_repo(hub, builds, tmp_path: Path):
    failing = tmp_path / "failing"
    subprocess.run(["cp", "-r", str(builds[0]), str(failing)], check=True)
    lines = (builds[0] / "items.jsonl").read_text().splitlines()
    (failing / "items.jsonl").write_text("".join(json.dumps({**json.loads(line), "validation": {"passed": False}}) + "\n" for line in lines))
    result = s2s_push(hub, tmp_path / "h", str(failing), "--repo", "alice/empty")
    assert result.returncode == 2 and "no item passed validation" in result.stderr
    assert ("dataset", "alice/empty") not in hub.repos
    assert not [r for r in hub.requests if r.method == "POST"]  # checked before a single write to the Hub


def test_a_broken_clip_is_found_before_the_hub_is_asked_anything(hub, builds, tmp_path: Path):
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", str(builds[0]), str(broken)], check=True)
    first = json.loads((broken / "items.jsonl").read_text().splitlines()[0])
    (broken / first["audio"]["context"]).write_text("RIFF, but not a wav file at all: some text that is long enough")
    result = s2s_push(hub, tmp_path / "h", str(broken), "--repo", "alice/broken")
    assert result.returncode == 2 and "items.jsonl:1: audio.context:" in result.stderr and "not audio" in result.stderr
    assert hub.requests == []


def test_no_token_is_one_line_that_says_how_to_log_in(hub, builds, tmp_path: Path):
    result = s2s_push(hub, tmp_path / "h", str(builds[0]), "--repo", "alice/x", token=None)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "no Hub token" in result.stderr and "hf auth login" in result.stderr
    assert ("dataset", "alice/x") not in hub.repos


def test_an_unreachable_endpoint_is_one_line(builds, tmp_path: Path):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_TOKEN=ALICE, HF_HOME=str(tmp_path / "h"), HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2")
    scratch = Path(tempfile.gettempdir())
    before = set(scratch.glob("s2s-push-*"))
    result = subprocess.run([sys.executable, "-m", "s2sbench", "push", str(builds[0]), "--repo", "alice/x"], env=env, capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.strip().count("\n") == 0 and "cannot reach the Hub" in result.stderr and "Traceback" not in result.stderr
    assert set(scratch.glob("s2s-push-*")) == before  # the scratch directory went with the failure
