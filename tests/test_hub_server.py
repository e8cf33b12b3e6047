"""The official Hub clients (huggingface_hub, datasets), unmodified, against the in-memory Hub of tests/hub_server.py.

huggingface_hub and datasets read their settings (HF_ENDPOINT, offline mode, token) from the environment when
imported, and tests/conftest.py turns offline mode on for the whole session, so every client call runs in a fresh
subprocess with its own environment (see ``run_client``). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.hub_server import HubServer, card_metadata

ALICE, BOB = "hf_alice_token", "hf_bob_token"


@pytest.fixture
def hub():
    with HubServer(users={ALICE: "alice", BOB: "bob"}) as server:
        yield server


def run_client(hub: HubServer, code: str, home: Path, token: str | None = ALICE) -> dict:
    """Run ``code`` in a fresh interpreter pointed at ``hub``; it reports by printing one JSON line last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_")) and "proxy" not in k.lower()}
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HUB_DISABLE_XET="1",
        HF_HUB_OFFLINE="0",
        HF_DATASETS_OFFLINE="0",
        HF_HOME=str(home),  # an empty cache and no stored token
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_DATASETS_DISABLE_PROGRESS_BARS="1",
        NO_PROXY="127.0.0.1,localhost",
    )
    if token is not None:
        env["HF_TOKEN"] = token
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          check=False, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, f"client failed:\n{proc.stderr[-6000:]}\nunknown endpoints: {hub.unknown_requests()}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def raw_request(hub: HubServer, method: str, path: str, body: dict | bytes | None = None, token: str | None = ALICE,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One plain HTTP request to the hub (no proxies), returning (status, headers, body)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(hub.url + path, method=method, headers=dict(headers or {}), data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if isinstance(body, dict):
        request.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wav_bytes(seconds: float, freq: float) -> bytes:
    import numpy as np
    import soundfile as sf

    t = np.arange(int(16000 * seconds)) / 16000
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype("float32"), 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_whoami_and_bad_token(hub, tmp_path):
    out = run_client(hub, """
        import json
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
        me = HfApi().whoami()
        try:
            HfApi(token="hf_not_a_token").whoami()
            bad = None
        except HfHubHTTPError as e:
            bad = [type(e).__name__, e.response.status_code]
        print(json.dumps({"name": me["name"], "bad": bad}))
    """, tmp_path)
    assert out == {"name": "alice", "bad": ["HfHubHTTPError", 401]}
    assert [(r.method, r.path, r.status) for r in hub.requests] == [
        ("GET", "/api/whoami-v2", 200), ("GET", "/api/whoami-v2", 401)]


def test_push_to_hub_two_configs_then_load_dataset(hub, tmp_path):
    rows = {
        "a": {"text": ["one", "two"], "audio": [wav_bytes(0.2, 440), wav_bytes(0.3, 660)]},
        "b": {"text": ["three"], "audio": [wav_bytes(0.25, 880)]},
    }
    (tmp_path / "rows.json").write_text(json.dumps({c: {"text": r["text"], "audio": [a.hex() for a in r["audio"]]}
                                                    for c, r in rows.items()}))
    run_client(hub, f"""
        import json
        from datasets import Audio, Dataset, Features, Value
        rows = json.load(open({str(tmp_path / "rows.json")!r}))
        features = Features({{"text": Value("string"), "audio": Audio(sampling_rate=16000)}})
        for config in ("a", "b"):
            data = {{"text": rows[config]["text"],
                     "audio": [{{"bytes": bytes.fromhex(a), "path": "x.wav"}} for a in rows[config]["audio"]]}}
            Dataset.from_dict(data, features=features).push_to_hub("alice/ds", config_name=config, split="test")
        print(json.dumps({{}}))
    """, tmp_path / "push")
    push_requests = list(hub.requests)

    # The card lists both configs, and each config's parquet file is stored in LFS.
    files = hub.files("alice/ds")
    configs = {c["config_name"]: c for c in card_metadata(files["README.md"])["configs"]}
    assert set(configs) == {"a", "b"}
    assert {c["data_files"][0]["path"] for c in configs.values()} == {"a/test-*", "b/test-*"}
    head = hub.commits("alice/ds")[-1]
    assert any(p.startswith("a/test-") for p in head.lfs) and any(p.startswith("b/test-") for p in head.lfs)
    assert [c.message for c in hub.commits("alice/ds")] == ["initial commit", "Upload dataset", "Upload dataset"]

    # A fresh process (empty cache) loads config "a" back: same rows, same audio bytes.
    out = run_client(hub, """
        import json
        import datasets
        datasets.config.USE_PARQUET_EXPORT = False  # else it asks http://datasets-server.<HF_ENDPOINT host>
        ds = datasets.load_dataset("alice/ds", "a", split="test")
        ds = ds.cast_column("audio", datasets.Audio(decode=False))
        print(json.dumps({"text": list(ds["text"]), "audio": [row["bytes"].hex() for row in ds["audio"]],
                          "features": list(ds.features)}))
    """, tmp_path / "load")
    assert out["text"] == rows["a"]["text"]
    assert [bytes.fromhex(a) for a in out["audio"]] == rows["a"]["audio"]
    assert out["features"] == ["text", "audio"]

    seen = {(r.method, r.route) for r in hub.requests}
    for expected in [("GET", "repo_info"), ("POST", "create_repo_api"), ("POST", "preupload"), ("POST", "lfs_batch"),
                     ("PUT", "lfs_upload"), ("POST", "lfs_verify"), ("GET", "tree"), ("POST", "validate_yaml"),
                     ("POST", "commit"), ("HEAD", "resolve"), ("GET", "resolve")]:
        assert expected in seen, expected
    assert not [r for r in push_requests if r.status >= 500 or r.route is None]


def test_one_commit_then_no_commit_for_unchanged_upload(hub, tmp_path):
    content = {"notes.txt": b"hello\n", "blob.bin": bytes(range(256)) * 8}  # a regular file and an LFS one
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, data in content.items():
        (folder / name).write_bytes(data)
    hub.create_repo("alice/repo3")
    out = run_client(hub, f"""
        import json
        from huggingface_hub import CommitOperationAdd, HfApi
        api = HfApi()
        url = api.create_repo("alice/repo3", repo_type="dataset", exist_ok=True)  # 409 + url: already there
        ops = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=open({str(folder)!r} + "/" + name, "rb").read())
               for name in ("notes.txt", "blob.bin")]
        first = api.create_commit("alice/repo3", ops, commit_message="two files", repo_type="dataset")
        second = api.upload_folder(repo_id="alice/repo3", folder_path={str(folder)!r}, repo_type="dataset")
        print(json.dumps({{"url": url, "first": first.oid, "second": second.oid}}))
    """, tmp_path / "home")
    assert out["url"] == f"{hub.url}/datasets/alice/repo3"
    commits = hub.commits("alice/repo3")
    assert [c.message for c in commits] == ["initial commit", "two files"]
    assert out["first"] == out["second"] == commits[-1].oid
    assert {p: d for p, d in commits[-1].files.items() if p != ".gitattributes"} == content
    assert commits[-1].lfs == {"blob.bin"}
    assert [r.route for r in hub.requests if r.method == "POST"].count("commit") == 1


def test_no_write_outside_own_namespace_and_invalid_repo_id(hub, tmp_path):
    hub.create_repo("bob/x")
    out = run_client(hub, """
        import json
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError, HFValidationError
        api, out = HfApi(), {}
        try:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="f.txt", repo_id="bob/x", repo_type="dataset")
        except HfHubHTTPError as e:
            out["write"] = [isinstance(e, HfHubHTTPError), e.response.status_code, e.server_message]
        try:
            api.create_repo("bob/y", repo_type="dataset")
        except HfHubHTTPError as e:
            out["create"] = e.response.status_code
        try:
            api.create_repo("a/b/c", repo_type="dataset")
        except HFValidationError as e:
            out["invalid"] = type(e).__name__
        print(json.dumps(out))
    """, tmp_path)
    assert out["write"][:2] == [True, 403] and "rights" in out["write"][2]
    assert out["create"] == 403
    assert out["invalid"] == "HFValidationError"  # rejected by the client before any request
    assert [c.message for c in hub.commits("bob/x")] == ["initial commit"]
    assert ("dataset", "bob/y") not in hub.repos

    # The server rejects malformed ids by itself too.
    status, _, body = raw_request(hub, "POST", "/api/repos/create", {"name": "b/c", "organization": "a", "type": "dataset"})
    assert status == 400 and "error" in json.loads(body)
    status, _, _ = raw_request(hub, "GET", "/api/datasets/bad--name/x")
    assert status == 400


def test_private_repo_is_hidden(hub, tmp_path):
    out = run_client(hub, f"""
        import json
        from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url
        from huggingface_hub.errors import RepositoryNotFoundError
        HfApi().create_repo("alice/secret", repo_type="dataset", private=True)
        HfApi().upload_file(path_or_fileobj=b"s3cret", path_in_repo="s.txt", repo_id="alice/secret", repo_type="dataset")
        out = {{"owner": open(hf_hub_download("alice/secret", "s.txt", repo_type="dataset"), "rb").read().decode()}}
        for who, token in (("anonymous", False), ("bob", {BOB!r})):
            api = HfApi(token=token)
            try:
                api.dataset_info("alice/secret")
                out[who] = "visible"
            except RepositoryNotFoundError as e:
                out[who] = e.response.status_code
            try:
                get_hf_file_metadata(hf_hub_url("alice/secret", "s.txt", repo_type="dataset"), token=token)
                out[who + "_download"] = "visible"
            except RepositoryNotFoundError as e:
                out[who + "_download"] = e.response.status_code
        print(json.dumps(out))
    """, tmp_path)
    assert out == {"owner": "s3cret", "anonymous": 404, "anonymous_download": 404, "bob": 404, "bob_download": 404}
    assert hub.repo("alice/secret").private


def test_resolve_headers_ranges_and_unknown_endpoints(hub):
    repo = hub.create_repo("alice/raw")
    status, _, _ = raw_request(hub, "GET", "/api/datasets/alice/raw")
    assert status == 200
    base = "/datasets/alice/raw/resolve/main/.gitattributes"
    status, headers, body = raw_request(hub, "HEAD", base)
    data = hub.files("alice/raw")[".gitattributes"]
    assert status == 200 and body == b"" and int(headers["Content-Length"]) == len(data)
    assert headers["X-Repo-Commit"] == repo.refs["refs/heads/main"] and headers["ETag"].startswith('"')
    status, headers, body = raw_request(hub, "GET", base, headers={"Range": "bytes=2-5"})
    assert (status, body, headers["Content-Range"]) == (206, data[2:6], f"bytes 2-5/{len(data)}")
    status, _, _ = raw_request(hub, "GET", base, headers={"Range": f"bytes={len(data)}-"})
    assert status == 416
    status, headers, _ = raw_request(hub, "GET", "/datasets/alice/raw/resolve/main/missing.txt")
    assert (status, headers["X-Error-Code"]) == (404, "EntryNotFound")
    status, headers, _ = raw_request(hub, "GET", "/api/datasets/alice/raw/revision/nope")
    assert (status, headers["X-Error-Code"]) == (404, "RevisionNotFound")
    status, _, _ = raw_request(hub, "GET", "/api/whoami-v2", token="hf_unknown")
    assert status == 401
    status, _, body = raw_request(hub, "GET", "/api/not-a-thing")
    assert status == 404 and "error" in json.loads(body)
    assert hub.unknown_requests()[-1][:3] == ("GET", "/api/not-a-thing", 404)


def test_listing_endpoints_through_the_client_parsers(tmp_path):
    with HubServer(users={ALICE: "alice"}, tree_page_size=2) as hub:  # tiny pages: the clients follow Link headers
        out = run_client(hub, """
            import json
            from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, HfFileSystem
            from huggingface_hub.hf_api import RepoFile, RepoFolder
            api = HfApi()
            api.create_repo("alice/lst", repo_type="dataset")
            blob = bytes(range(256)) * 40
            api.create_commit("alice/lst", [CommitOperationAdd(p, d) for p, d in
                              [("d/one.txt", b"1"), ("d/sub/two.txt", b"22"), ("d/big.bin", blob), ("top.txt", b"t")]],
                              commit_message="add", commit_description="four files", repo_type="dataset")
            api.create_commit("alice/lst", [CommitOperationDelete("top.txt")], commit_message="rm", repo_type="dataset")
            api.create_branch("alice/lst", branch="dev", repo_type="dataset")
            api.create_branch("alice/lst", branch="dev", repo_type="dataset", exist_ok=True)
            tree = list(api.list_repo_tree("alice/lst", recursive=True, repo_type="dataset"))
            top = list(api.list_repo_tree("alice/lst", "d", expand=True, repo_type="dataset"))
            infos = api.get_paths_info("alice/lst", ["d/big.bin", "d/sub", "nope"], expand=True, repo_type="dataset")
            commits = api.list_repo_commits("alice/lst", repo_type="dataset")
            refs = api.list_repo_refs("alice/lst", repo_type="dataset")
            info = api.dataset_info("alice/lst", files_metadata=True)
            fs = HfFileSystem()
            with fs.open("datasets/alice/lst/d/big.bin", "rb", block_size=1000) as f:
                f.seek(3000)
                chunk = f.read(10)
            print(json.dumps({
                "tree": sorted((type(e).__name__, e.path) for e in tree),
                "top": {e.path: e.last_commit["title"] for e in top},
                "infos": {e.path: [type(e).__name__, getattr(e, "lfs", None) and e.lfs["size"]] for e in infos},
                "commits": [[c.title, c.message, c.authors] for c in commits],
                "branches": sorted(b.name for b in refs.branches),
                "siblings": {s.rfilename: [s.size, bool(s.lfs)] for s in info.siblings},
                "ls": sorted(fs.ls("datasets/alice/lst/d", detail=False)),
                "chunk_ok": chunk == blob[3000:3010],
                "exists": [api.file_exists("alice/lst", "d/one.txt", repo_type="dataset"),
                           api.file_exists("alice/lst", "top.txt", repo_type="dataset"),
                           api.revision_exists("alice/lst", "dev", repo_type="dataset"),
                           api.revision_exists("alice/lst", "nope", repo_type="dataset")],
            }))
        """, tmp_path)
        assert out["tree"] == [["RepoFile", ".gitattributes"], ["RepoFile", "d/big.bin"], ["RepoFile", "d/one.txt"],
                               ["RepoFile", "d/sub/two.txt"], ["RepoFolder", "d"], ["RepoFolder", "d/sub"]]
        assert out["top"] == {"d/sub": "add", "d/big.bin": "add", "d/one.txt": "add"}
        assert out["infos"] == {"d/big.bin": ["RepoFile", 10240], "d/sub": ["RepoFolder", None]}
        assert out["commits"] == [["rm", "", ["alice"]], ["add", "four files", ["alice"]], ["initial commit", "", ["system"]]]
        assert out["branches"] == ["dev", "main"]
        assert out["siblings"] == {".gitattributes": [len(hub.files("alice/lst")[".gitattributes"]), False],
                                   "d/big.bin": [10240, True], "d/one.txt": [1, False], "d/sub/two.txt": [2, False]}
        assert out["ls"] == ["datasets/alice/lst/d/big.bin", "datasets/alice/lst/d/one.txt", "datasets/alice/lst/d/sub"]
        assert out["chunk_ok"] and out["exists"] == [True, False, True, False]
        assert any("cursor=" in r.query for r in hub.requests if r.route in ("tree", "list_commits"))
        assert any(r.status == 206 for r in hub.requests if r.route == "resolve")
        assert not hub.unknown_requests()


def test_commit_endpoint_semantics(hub):
    repo = hub.create_repo("alice/c")
    head = repo.refs["refs/heads/main"]

    def commit(*ops: dict, parent: str | None = None) -> tuple[int, dict]:
        header = {"summary": "raw", "description": "", **({"parentCommit": parent} if parent else {})}
        lines = [{"key": "header", "value": header}, *ops]
        status, _, body = raw_request(hub, "POST", "/api/datasets/alice/c/commit/main",
                                      b"".join(json.dumps(line).encode() + b"\n" for line in lines),
                                      headers={"Content-Type": "application/x-ndjson"})
        return status, json.loads(body)

    # Like the Hub, an empty commit is still a commit (huggingface_hub itself skips sending those).
    status, answer = commit(parent=head)
    assert status == 200 and answer["pullRequestUrl"] is None
    assert answer["commitUrl"].endswith(f"/datasets/alice/c/commit/{answer['commitOid']}")
    assert [c.oid for c in hub.commits("alice/c")] == [head, answer["commitOid"]]
    assert commit(parent=head)[0] == 412  # stale parent
    status, _ = commit({"key": "deletedFile", "value": {"path": "missing.txt"}})
    assert status == 404
    status, _ = commit({"key": "lfsFile", "value": {"path": "x.bin", "algo": "sha256", "oid": "0" * 64, "size": 1}})
    assert status == 422  # no such LFS object uploaded
    status, _ = commit({"key": "file", "value": {"path": "README.md", "encoding": "base64",
                                                 "content": "LS0tCmE6IFsKLS0tCg=="}})  # "---\na: [\n---\n"
    assert status == 400  # broken YAML in the card
    assert len(hub.commits("alice/c")) == 2
    status, _, _ = raw_request(hub, "POST", "/api/datasets/alice/c/commit/main", b"{}", token=BOB)
    assert status == 403


def test_lfs_upload_with_a_chunked_body(hub):
    hub.create_repo("alice/lfs")
    data = b"\0binary" * 1000
    oid = hashlib.sha256(data).hexdigest()
    batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(data)}],
             "hash_algo": "sha256", "ref": {"name": "main"}}
    status, _, body = raw_request(hub, "POST", "/datasets/alice/lfs.git/info/lfs/objects/batch", batch)
    href = json.loads(body)["objects"][0]["actions"]["upload"]["href"]
    connection = http.client.HTTPConnection("127.0.0.1", int(hub.url.rsplit(":", 1)[1]), timeout=10)
    connection.request("PUT", href, body=iter([data[:100], data[100:]]), encode_chunked=True)
    assert connection.getresponse().status == 200
    connection.close()
    status, _, body = raw_request(hub, "POST", "/datasets/alice/lfs.git/info/lfs/objects/batch", batch)
    assert status == 200 and "actions" not in json.loads(body)["objects"][0]  # already stored: nothing to upload
    lines = [{"key": "header", "value": {"summary": "lfs"}},
             {"key": "lfsFile", "value": {"path": "x.bin", "algo": "sha256", "oid": oid, "size": len(data)}}]
    status, _, _ = raw_request(hub, "POST", "/api/datasets/alice/lfs/commit/main",
                               b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    assert status == 200 and hub.files("alice/lfs")["x.bin"] == data and hub.commits("alice/lfs")[-1].lfs == {"x.bin"}
