"""A published card carries its data's licence: declared by known corpora, required for a user's own data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.builders import builders
from s2sbench.cli import app
from s2sbench.errors import S2SBenchError
from s2sbench.licenses import HUB_LICENSES, DataLicense
from s2sbench.publish import PushOptions, push

runner = CliRunner()
STORIES = [{"context": f"Story {n} begins.", "candidates": ["It ends well.", "It ends in space."], "answer": 0} for n in range(2)]


@pytest.fixture(scope="module")
def own_data(tmp_path_factory) -> Path:
    """A build of a user's own jsonl file: nobody but the user knows its licence."""
    base = tmp_path_factory.mktemp("own")
    source = base / "mine.jsonl"
    source.write_text("".join(json.dumps(s) + "\n" for s in STORIES), encoding="utf-8")
    build(BuildOptions(source=str(source), format="items", output=base / "build", validate=False, speak="context"))
    return base / "build"


def card_metadata(directory: Path) -> dict:
    return yaml.safe_load((directory / "README.md").read_text(encoding="utf-8").split("---\n")[1])


def test_a_corpus_read_from_its_own_hub_dataset_carries_its_licence():
    xstorycloze = builders()["xstorycloze"]
    assert xstorycloze.recognized_license("hf://juletxara/xstory_cloze:sw:eval") == DataLicense("cc-by-sa-4.0")
    assert xstorycloze.recognized_license("hf://someone/xstory_cloze_copy") is None
    assert xstorycloze.recognized_license("/data/xstory_cloze_sw.csv") is None


def test_every_builder_declares_a_hub_licence_or_leaves_it_to_the_user():
    for name, builder in builders().items():
        if name in {"items", "csv", "jsonl"}:
            assert builder.license is None, name
        else:
            assert builder.license is not None and builder.license.id in HUB_LICENSES, name
            if builder.license.id == "other":
                assert builder.license.name and builder.license.link.startswith("https://"), name


def test_a_users_own_data_is_not_pushed_without_a_licence(own_data: Path, tmp_path: Path):
    result = runner.invoke(app, ["push", str(own_data), "--to-dir", str(tmp_path / "out")])
    assert result.exit_code == 2 and "licence of this data is unknown" in result.stderr and "--license" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_licence_given_at_push_goes_on_the_card(own_data: Path, tmp_path: Path):
    result = runner.invoke(app, ["push", str(own_data), "--to-dir", str(tmp_path / "out"), "--license", "cc-by-4.0"])
    assert result.exit_code == 0, result.output
    assert card_metadata(tmp_path / "out")["license"] == "cc-by-4.0"
    record = json.loads((tmp_path / "out" / "s2sbench" / "items.json").read_text())
    assert record["source"]["license"] == {"id": "cc-by-4.0"}


def test_other_needs_a_name_and_a_link_and_the_card_carries_both(own_data: Path, tmp_path: Path):
    missing = runner.invoke(app, ["push", str(own_data), "--to-dir", str(tmp_path / "a"), "--license", "other"])
    assert missing.exit_code == 2 and "--license-name" in missing.stderr
    unknown = runner.invoke(app, ["push", str(own_data), "--to-dir", str(tmp_path / "a"), "--license", "cc-by-5.0"])
    assert unknown.exit_code == 2 and "not a Hub licence id" in unknown.stderr
    result = runner.invoke(app, ["push", str(own_data), "--to-dir", str(tmp_path / "b"), "--license", "other",
                                 "--license-name", "Acme research terms", "--license-link", "https://example.org/terms"])
    assert result.exit_code == 0, result.output
    metadata = card_metadata(tmp_path / "b")
    assert (metadata["license"], metadata["license_name"], metadata["license_link"]) == ("other", "Acme research terms", "https://example.org/terms")
    assert "[Acme research terms](https://example.org/terms)" in (tmp_path / "b" / "README.md").read_text()


def test_a_licence_given_at_build_time_is_recorded_and_used(tmp_path: Path):
    source = tmp_path / "mine.jsonl"
    source.write_text("".join(json.dumps(s) + "\n" for s in STORIES), encoding="utf-8")
    result = runner.invoke(app, ["build", str(source), "--format", "items", "-o", str(tmp_path / "b"), "--no-validate", "-q", "--speak", "context",
                                 "--license", "CC-BY-SA-4.0"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "b" / "build.json").read_text())["license"] == {"id": "cc-by-sa-4.0"}
    rerun = build(BuildOptions(source=str(source), format="items", output=tmp_path / "b", validate=False, speak="context"))
    assert rerun.clips_synthesized == 0 and json.loads((tmp_path / "b" / "build.json").read_text())["license"] == {"id": "cc-by-sa-4.0"}
    push(PushOptions(builds=[tmp_path / "b"], to_dir=tmp_path / "out"))
    assert card_metadata(tmp_path / "out")["license"] == "cc-by-sa-4.0"
    push(PushOptions(builds=[tmp_path / "b"], to_dir=tmp_path / "over", license=DataLicense("mit")))  # push overrides
    assert card_metadata(tmp_path / "over")["license"] == "mit"


def test_known_corpora_carry_their_own_licence_with_name_and_link(tmp_path: Path):
    source = Path(__file__).parent / "fixtures" / "sources" / "storycloze.csv"  # sniffed as storycloze
    build(BuildOptions(source=str(source), output=tmp_path / "sc", limit=2, validate=False, speak="context"))
    with pytest.raises(S2SBenchError, match="licence of this data is unknown"):  # a layout is not a corpus
        push(PushOptions(builds=[tmp_path / "sc"], to_dir=tmp_path / "out"))
    push(PushOptions(builds=[tmp_path / "sc"], to_dir=tmp_path / "out", license=DataLicense.parse("corpus")))  # the user says it is
    metadata = card_metadata(tmp_path / "out")
    assert metadata["license"] == "other" and "Story Cloze" in metadata["license_name"] and metadata["license_link"].startswith("https://")
    assert metadata["pretty_name"] == "sStoryCloze (spoken)"


def test_the_bundled_sample_is_the_projects_own_text(tmp_path: Path):
    build(BuildOptions(source="sample:en", output=tmp_path / "b", limit=2, validate=False, speak="context"))
    push(PushOptions(builds=[tmp_path / "b"], to_dir=tmp_path / "out"))
    assert card_metadata(tmp_path / "out")["license"] == "apache-2.0"


def test_builds_of_different_licences_list_each(own_data: Path, tmp_path: Path):
    build(BuildOptions(source="sample:en", output=tmp_path / "sample", limit=2, validate=False, speak="context", subset="stories"))
    with pytest.raises(S2SBenchError, match="licence of this data is unknown"):
        push(PushOptions(builds=[tmp_path / "sample", own_data], to_dir=tmp_path / "out"))
    rebuilt = build(BuildOptions(source=str(own_data.parent / "mine.jsonl"), format="items", output=own_data, validate=False, speak="context",
                                 license=DataLicense("cc-by-nc-4.0")))
    assert rebuilt.clips_synthesized == 0
    push(PushOptions(builds=[tmp_path / "sample", own_data], to_dir=tmp_path / "out"))
    assert card_metadata(tmp_path / "out")["license"] == ["apache-2.0", "cc-by-nc-4.0"]
