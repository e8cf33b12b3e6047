"""A release scores the same everywhere: a build, its export and its Hub copy carry one task, one
licence (never guessed), no local path, and a revision that every run records."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app
from s2sbench.licenses import DataLicense
from tests.hub_server import HubServer
from tests.models_speech import build_tiny_qwen2_audio
from tests.profiles import english_profile_with
from tests.test_push_hub import ALICE, ROOT, client_env

runner = CliRunner()
GERMAN = Path(__file__).parent / "fixtures" / "sources" / "storycloze.csv"
SPEECH_PREFIX = "Im Folgenden steht ein Abschnitt aus Sprache und Text: "
TEXT_PREFIX = "Geschichte: "


@pytest.fixture(scope="module")
def german(tmp_path_factory) -> Path:
    """A user's own stories in the StoryCloze layout, built with a German profile (3 items, context spoken)."""
    base = tmp_path_factory.mktemp("de")
    profile = english_profile_with(base / "de.toml", TEXT_PREFIX, SPEECH_PREFIX, code="de", name="Deutsch")
    source = base / "de_cloze.csv"
    shutil.copy(GERMAN, source)
    build(BuildOptions(source=str(source), lang="de", profile=str(profile), output=base / "build", limit=3, validate=False, speak="context"))
    shutil.rmtree(base / "build" / ".verdicts", ignore_errors=True)
    return base / "build"


def card(directory: Path) -> dict:
    return yaml.safe_load((directory / "README.md").read_text(encoding="utf-8").split("---\n")[1])


def test_a_file_in_a_corpus_layout_is_not_that_corpus(german: Path, tmp_path: Path):
    refused = runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "out")])
    assert refused.exit_code == 2 and "licence of this data is unknown" in refused.stderr and "--license corpus" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    own = runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "own"), "--license", "cc-by-4.0"])
    assert own.exit_code == 0, own.output
    readme = (tmp_path / "own" / "README.md").read_text(encoding="utf-8")
    assert card(tmp_path / "own")["license"] == "cc-by-4.0" and "license_name" not in card(tmp_path / "own")
    assert "mostafazadeh2016corpus" not in readme and "Story Cloze Test terms" not in readme
    corpus = runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "corpus"), "--license", "corpus"])
    assert corpus.exit_code == 0, corpus.output
    assert card(tmp_path / "corpus")["license"] == "other" and "mostafazadeh2016corpus" in (tmp_path / "corpus" / "README.md").read_text()
    items = runner.invoke(app, ["build", "sample:en", "--format", "items", "--license", "corpus", "-o", str(tmp_path / "b"), "--no-validate"])
    assert items.exit_code == 2 and "names no corpus" in items.stderr


def test_nothing_public_names_the_build_machine(german: Path, tmp_path: Path):
    result = runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "out"), "--license", "cc-by-4.0"])
    assert result.exit_code == 0, result.output
    private = [str(german.parent), str(Path.home()), str(ROOT)]
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [p for p in private if p.encode() in data], path
    record = json.loads((tmp_path / "out" / "s2sbench" / "sStoryCloze.json").read_text())
    assert record["source"]["spec"] == "de_cloze.csv"
    assert record["task"]["prompts"] == {"text_prefix": TEXT_PREFIX, "speech_prefix": SPEECH_PREFIX, "separator": " "}
    assert record["task"]["lang"] == "de" and record["task"]["k"] == [2] and "acc" in record["task"]["conventions"]
    assert "path" not in record["task"]["profile"]


def test_the_lm_eval_task_prompts_as_the_scorer_does(german: Path, tmp_path: Path):
    import datasets
    import jinja2

    assert runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "out"), "--license", "cc-by-4.0"]).exit_code == 0
    task = yaml.safe_load((tmp_path / "out" / "lm_eval" / "sStoryCloze.yaml").read_text())
    assert (task["task"], task["dataset_path"], task["dataset_name"], task["output_type"]) == ("s2sbench_sStoryCloze", "out", "sStoryCloze", "multiple_choice")
    rows = datasets.load_dataset(str(tmp_path / "out"), task["dataset_name"], split=task["test_split"], cache_dir=str(tmp_path / "cache"),
                                 **task["dataset_kwargs"])
    assert rows.column_names == ["id", "subset", "lang", "context", "candidates", "answer"]  # no clip decoded
    row = rows[0]
    render = lambda template: jinja2.Template(template).render(**row)  # noqa: E731
    assert render(task["doc_to_text"]) == TEXT_PREFIX + row["context"]
    assert render(task["doc_to_choice"]) == str(row["candidates"]) and int(render(task["doc_to_target"])) == row["answer"]
    assert task["target_delimiter"] == " "


@pytest.fixture(scope="module")
def tiny_audio_llm(tmp_path_factory) -> Path:
    return build_tiny_qwen2_audio(tmp_path_factory.mktemp("tiny-qwen2-audio"))


def s2s(hub: HubServer, home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "s2sbench", *args], env=client_env(hub, home, ALICE), capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_a_build_its_export_and_its_hub_copy_score_the_same(german: Path, tiny_audio_llm: Path, tmp_path: Path):
    model = ["-m", str(tiny_audio_llm), "--adapter", "qwen2-audio", "--device", "cpu", "--dtype", "float32", "--modes", "t2t,s2t", "-q"]
    assert runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "export"), "--license", "cc-by-4.0"]).exit_code == 0
    with HubServer(users={ALICE: "alice"}) as hub:
        home = tmp_path / "home"
        pushed = s2s(hub, home, "push", str(german), "--repo", "alice/s2s-de", "--license", "cc-by-4.0")
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        commit = hub.commits("alice/s2s-de")[-1].oid
        runs = {"build": [str(german)], "export": [str(tmp_path / "export"), "--config", "sStoryCloze"],
                "hub": ["alice/s2s-de", "--config", "sStoryCloze", "--revision", "main"]}
        for name, source in runs.items():
            scored = s2s(hub, home, "score", *source, *model, "-o", str(tmp_path / name))
            assert scored.returncode == 0, (name, scored.stderr[-3000:])
            assert "warning" not in scored.stderr, (name, scored.stderr)
    scores = {name: (tmp_path / name / "scores.jsonl").read_bytes() for name in runs}
    assert scores["build"] and scores["build"] == scores["export"] == scores["hub"]
    assert b'"facets"' in scores["hub"]
    recorded = {name: json.loads((tmp_path / name / "run.json").read_text()) for name in runs}
    assert {r["prompts"]["de"]["speech_prefix"] for r in recorded.values()} == {SPEECH_PREFIX}
    assert {r["prompts"]["de"]["text_prefix"] for r in recorded.values()} == {TEXT_PREFIX}
    assert recorded["hub"]["dataset"] == {"hub": "alice/s2s-de", "config": "sStoryCloze", "revision": commit}
    assert recorded["export"]["dataset"]["export"] == "export" and len(recorded["export"]["dataset"]["sha256"]) == 64
    assert len(recorded["build"]["dataset"]["items_sha256"]) == 64
    from s2sbench.scorer.compare import compare_results

    warned = compare_results([tmp_path / name for name in runs])
    assert "warning: the runs read different datasets or revisions" in warned and f"alice/s2s-de:sStoryCloze at {commit[:10]}" in warned
    assert "different datasets" not in compare_results([tmp_path / "build", tmp_path / "build"])


def test_a_profile_over_the_published_task_is_said(german: Path, tmp_path: Path):
    from s2sbench.scorer.inputs import describe_source
    from s2sbench.scorer.run import ScoreOptions, task_prompts

    said: list[str] = []
    info = describe_source(str(german))
    english = ROOT / "s2sbench" / "profiles" / "en.toml"
    profiles = task_prompts(ScoreOptions(source=str(german), output=tmp_path, model="m", profile=str(english)), info, said.append)
    assert profiles["de"].speech_prefix == "Below is a segment of alternating speech and text content: "
    assert len(said) == 1 and "speech_prefix" in said[0] and "text_prefix" in said[0] and SPEECH_PREFIX in said[0]


def test_a_folder_that_is_no_build_nor_export_is_refused_writing_nothing(tmp_path: Path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("hello")
    result = runner.invoke(app, ["score", str(tmp_path / "notes"), "-m", "whatever", "-o", str(tmp_path / "results")])
    assert result.exit_code == 2 and "not a build directory" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


def test_a_republished_licence_is_kept_or_changed_aloud_never_silently(german: Path, tmp_path: Path):
    with HubServer(users={ALICE: "alice"}) as hub:
        home = tmp_path / "home"
        first = s2s(hub, home, "push", str(german), "--repo", "alice/de", "--license", "cc-by-4.0", "--no-verify")
        assert first.returncode == 0, first.stderr[-2000:]
        kept = s2s(hub, home, "push", str(german), "--repo", "alice/de", "--no-verify")  # the build itself records no licence
        assert kept.returncode == 0 and "keeping cc-by-4.0" in kept.stderr and "nothing changed, no commit" in kept.stdout, kept.stderr[-2000:]
        commits = len(hub.commits("alice/de"))
        corpus = build(BuildOptions(source=str(german.parent / "de_cloze.csv"), lang="de", profile=str(german.parent / "de.toml"), output=german,
                                    limit=3, validate=False, speak="context", license=DataLicense.parse("corpus")))
        assert corpus.clips_synthesized == 0
        try:
            refused = s2s(hub, home, "push", str(german), "--repo", "alice/de", "--no-verify")
            assert refused.returncode == 2 and "published under cc-by-4.0" in refused.stderr and len(hub.commits("alice/de")) == commits
            changed = s2s(hub, home, "push", str(german), "--repo", "alice/de", "--license", "corpus", "--no-verify")
            assert changed.returncode == 0 and "licence: cc-by-4.0 -> Story Cloze Test terms" in changed.stderr, changed.stderr[-2000:]
            assert len(hub.commits("alice/de")) == commits + 1
        finally:  # the module's build records no licence again
            manifest = json.loads((german / "build.json").read_text())
            manifest.pop("license")
            (german / "build.json").write_text(json.dumps(manifest))


def parquet_bytes(directory: Path) -> dict[str, bytes]:
    return {path.relative_to(directory).as_posix(): path.read_bytes() for path in sorted(directory.glob("*/*.parquet"))}


def test_push_pull_push_gives_the_same_parquet_bytes(german: Path, tmp_path: Path):
    with HubServer(users={ALICE: "alice"}) as hub:
        home = tmp_path / "home"
        assert s2s(hub, home, "push", str(german), "--repo", "alice/round", "--license", "cc-by-4.0", "--no-verify").returncode == 0
        assert s2s(hub, home, "push", str(german), "--to-dir", str(tmp_path / "first"), "--license", "cc-by-4.0").returncode == 0
        pulled = s2s(hub, home, "pull", "alice/round:sStoryCloze", "-o", str(tmp_path / "pulled"))
        assert pulled.returncode == 0, pulled.stderr[-3000:]
        commit = hub.commits("alice/round")[-1].oid
        assert f"({commit})" in pulled.stdout and "3 items" in pulled.stdout
    manifest = json.loads((tmp_path / "pulled" / "build.json").read_text())
    assert manifest["pulled"] == {"hub": "alice/round", "config": "sStoryCloze", "revision": commit}
    assert manifest["license"] == {"id": "cc-by-4.0"} and manifest["task"]["prompts"]["speech_prefix"] == SPEECH_PREFIX
    again = runner.invoke(app, ["push", str(tmp_path / "pulled"), "--to-dir", str(tmp_path / "again")])  # its licence travelled too
    assert again.exit_code == 0, again.output
    assert parquet_bytes(tmp_path / "again") == parquet_bytes(tmp_path / "first") and parquet_bytes(tmp_path / "first")
    clips = sorted(p.relative_to(german).as_posix() for p in german.glob("audio/*/*"))
    assert clips == sorted(p.relative_to(tmp_path / "pulled").as_posix() for p in (tmp_path / "pulled").glob("audio/*/*"))
    assert all((german / c).read_bytes() == (tmp_path / "pulled" / c).read_bytes() for c in clips)
    # An export folder pulls the same way, and a re-pull into the same directory writes the same bytes.
    local = runner.invoke(app, ["pull", f"{tmp_path / 'first'}:sStoryCloze", "-o", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    before = (tmp_path / "local" / "items.jsonl").read_bytes()
    assert runner.invoke(app, ["pull", f"{tmp_path / 'first'}:sStoryCloze", "-o", str(tmp_path / "local")]).exit_code == 0
    assert (tmp_path / "local" / "items.jsonl").read_bytes() == before == (tmp_path / "pulled" / "items.jsonl").read_bytes()


@pytest.mark.parametrize("field, value, message", [
    ("path", "../../escape.wav", "expected a content-addressed name"),
    ("path", "/etc/passwd", "expected a content-addressed name"),
    ("bytes", b"not audio at all", "not audio"),
])
def test_hostile_rows_are_refused_and_nothing_escapes(german: Path, tmp_path: Path, field: str, value, message: str):
    import pyarrow.parquet as pq

    assert runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "export"), "--license", "cc-by-4.0"]).exit_code == 0
    shard = next((tmp_path / "export").glob("sStoryCloze/*.parquet"))
    table = pq.read_table(shard)
    rows = table.to_pylist()
    rows[1]["context_audio"][field] = value
    pq.write_table(table.from_pylist(rows, schema=table.schema), shard)
    result = runner.invoke(app, ["pull", str(tmp_path / "export"), "-o", str(tmp_path / "pulled"), "-q"])
    assert result.exit_code == 2 and message in result.stderr and "row 1" in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "pulled" / "items.jsonl").exists() and not (tmp_path / "escape.wav").exists()


def test_a_build_being_written_is_not_read_and_an_unfinished_one_not_published(german: Path, tmp_path: Path):
    from s2sbench._io import DirectoryLock

    build_dir = tmp_path / "copy"
    shutil.copytree(german, build_dir)
    with DirectoryLock(build_dir, "build directory"):  # as `s2s build` or `s2s validate` holds it
        for command in (["push", str(build_dir), "--to-dir", str(tmp_path / "out"), "--license", "cc-by-4.0"],
                        ["augment", str(build_dir), "-o", str(tmp_path / "variants"), "--speed", "1.1", "--no-validate"],
                        ["score", str(build_dir), "-m", "unused", "-o", str(tmp_path / "results")],
                        ["validate", str(build_dir), "-q"]):
            result = runner.invoke(app, command)
            assert result.exit_code == 2 and "in use by process" in result.stderr, (command, result.output)
            assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "variants").exists() and not (tmp_path / "results").exists()
    manifest = json.loads((build_dir / "build.json").read_text())
    (build_dir / "build.json").write_text(json.dumps({**manifest, "status": "running"}))  # a build killed with -9
    refused = runner.invoke(app, ["push", str(build_dir), "--to-dir", str(tmp_path / "out"), "--license", "cc-by-4.0"])
    assert refused.exit_code == 2 and "status running" in refused.stderr and "--allow-incomplete" in refused.stderr
    allowed = runner.invoke(app, ["push", str(build_dir), "--to-dir", str(tmp_path / "out"), "--license", "cc-by-4.0", "--allow-incomplete"])
    assert allowed.exit_code == 0, allowed.output
    from s2sbench.builddir import BuildDirectory

    with BuildDirectory(german).reading():  # as a score reading it holds it
        pushed = runner.invoke(app, ["push", str(german), "--to-dir", str(tmp_path / "beside"), "--license", "cc-by-4.0"])
    assert pushed.exit_code == 0 and "in use" not in pushed.output  # readers share the lock (a push beside a score)
