"""A build pushed under a licence is exported (`push --to-dir`) under that licence, said, without asking again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hub_server import HubServer
from tests.test_push_hub import ALICE
from tests.test_release import german, s2s  # noqa: F401 - german is a fixture


def test_an_export_of_a_pushed_build_takes_the_licence_it_was_pushed_under(german: Path, tmp_path: Path):  # noqa: F811
    import shutil

    build_dir = tmp_path / "build"
    shutil.copytree(german, build_dir)
    with HubServer(users={ALICE: "alice"}) as hub:
        home = tmp_path / "home"
        unknown = s2s(hub, home, "push", str(build_dir), "--to-dir", str(tmp_path / "before"))
        assert unknown.returncode == 2 and "licence of this data is unknown" in unknown.stderr  # nobody has said it yet
        pushed = s2s(hub, home, "push", str(build_dir), "--repo", "alice/kept", "--license", "cc-by-4.0", "--no-verify", "-q")
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        exported = s2s(hub, home, "push", str(build_dir), "--to-dir", str(tmp_path / "export"), "-q")
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert f"licence: cc-by-4.0 (as {build_dir} was last pushed to alice/kept; build.json records it)" in exported.stderr
    record = json.loads((tmp_path / "export" / "s2sbench" / "sStoryCloze.json").read_text())
    assert record["source"]["license"] == {"id": "cc-by-4.0"}
    assert json.loads((build_dir / "build.json").read_text())["published"]["repo"] == "alice/kept"
