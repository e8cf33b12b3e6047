"""Nothing changes silently: a re-validation keeps what the build was validated with unless an option
says otherwise, and says each change; push says what it holds back and which licence it took."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s2sbench import BuildOptions, build
from s2sbench.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def lenient_build(tmp_path_factory) -> Path:
    """Two spoken stories validated with --max-error 0.9 --retries 2 (Whisper base)."""
    output = tmp_path_factory.mktemp("said") / "build"
    build(BuildOptions(source="sample:en", output=output, limit=2, speak="context", max_error=0.9, retries=2))
    return output


def validation_settings(build_dir: Path) -> dict:
    return json.loads((build_dir / "build.json").read_text())["validation"]


def test_a_bare_revalidation_keeps_the_builds_settings_and_an_option_is_said(lenient_build: Path, tmp_path: Path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(lenient_build, copy)
    built = validation_settings(copy)
    bare = runner.invoke(app, ["validate", str(copy), "-q"])
    assert bare.exit_code == 0, bare.output
    kept = validation_settings(copy)
    assert (kept["max_error"], kept["retries"], kept["asr"]) == (0.9, 2, built["asr"]) and "note:" not in bare.stderr
    exported = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "export"), "-q"])
    assert exported.exit_code == 0, exported.output
    assert "after up to 2 re-syntheses" in (tmp_path / "export" / "README.md").read_text()

    stricter = runner.invoke(app, ["validate", str(copy), "-q", "--max-error", "0.3", "--asr-window", "30"])
    assert stricter.exit_code == 0, stricter.output
    assert "note: changed from the build's validation: max error 0.9 -> 0.3" in stricter.stderr
    assert "note: changed from the build's validation: --asr-window auto -> 30" in stricter.stderr
    changed = validation_settings(copy)
    assert (changed["max_error"], changed["retries"], changed["asr"]["window"]) == (0.3, 2, "30")


def test_push_says_what_it_holds_back(lenient_build: Path, tmp_path: Path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(lenient_build, copy)
    # At 30 s windows a clip that fails is not heard again at another window, so a threshold between
    # the two clips' errors fails exactly the worse one.
    assert runner.invoke(app, ["validate", str(copy), "-q", "--asr-window", "30"]).exit_code == 0
    errors = sorted(json.loads(line)["validation"]["context"]["error"] for line in (copy / "items.jsonl").read_text().splitlines())
    assert errors[0] < errors[-1]
    between = str((errors[0] + errors[-1]) / 2)
    assert runner.invoke(app, ["validate", str(copy), "-q", "--asr-window", "30", "--max-error", between]).exit_code == 0
    assert [json.loads(line)["validation"]["passed"] for line in (copy / "items.jsonl").read_text().splitlines()].count(False) == 1
    pushed = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "export"), "-q"])
    assert pushed.exit_code == 0, pushed.output
    assert f"  story: 1 item; 1 item held back (failed validation: {copy / 'validation.md'}; --include-failed publishes it)" in pushed.stdout
    everything = runner.invoke(app, ["push", str(copy), "--to-dir", str(tmp_path / "all"), "-q", "--include-failed"])
    assert "  story: 2 items\n" in everything.stdout and "held back" not in everything.stdout


def test_push_to_a_folder_for_a_repo_says_so_and_a_build_given_twice_is_refused(lenient_build: Path, tmp_path: Path):
    for_repo = runner.invoke(app, ["push", str(lenient_build), "--repo", "my-org/stories", "--to-dir", str(tmp_path / "export"), "-q"])
    assert for_repo.exit_code == 0, for_repo.output
    assert "--to-dir: nothing is uploaded; the card and lm_eval task files name my-org/stories" in for_repo.stderr
    assert 'dataset_path: "my-org/stories"' in (tmp_path / "export" / "lm_eval" / "story.yaml").read_text()
    bad_repo = runner.invoke(app, ["push", str(lenient_build), "--repo", "not a repo", "--to-dir", str(tmp_path / "bad"), "-q"])
    assert bad_repo.exit_code == 2 and "invalid repo id" in bad_repo.stderr and not (tmp_path / "bad").exists()
    twice = runner.invoke(app, ["push", str(lenient_build), str(lenient_build), "--to-dir", str(tmp_path / "twice"), "-q"])
    assert twice.exit_code == 2 and twice.stderr.strip() == f"error: {lenient_build}: given twice; each build is pushed once"
    assert not (tmp_path / "twice").exists()


def test_an_identical_rerun_counts_the_clips_it_kept_as_reused(tmp_path: Path):
    args = ["build", "sample:en", "--limit", "2", "--speak", "context", "--no-validate", "-q", "-o", str(tmp_path / "b")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and "clips: 2 synthesized, 0 reused" in first.stdout, first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "clips: 0 synthesized, 2 reused" in again.stdout, again.output


def test_a_fresh_score_does_not_say_it_included_earlier_items_and_a_resumed_one_does(lenient_build: Path, tmp_path: Path):
    from tests.models import build_tiny_causal_lm, sample_texts

    model = build_tiny_causal_lm(tmp_path / "lm", sample_texts())
    args = ["score", str(lenient_build), "-m", str(model), "--modes", "t2t", "--device", "cpu", "-q", "-o", str(tmp_path / "r")]
    fresh = runner.invoke(app, args)
    assert fresh.exit_code == 0, fresh.output
    assert "scored 2 items in t2t" in fresh.stdout and "already in the results" not in fresh.stdout
    resumed = runner.invoke(app, args)
    assert resumed.exit_code == 0 and "items already in the results included" in resumed.stdout, resumed.output


def test_pull_of_a_config_that_is_not_there_lists_the_configs(lenient_build: Path, tmp_path: Path):
    assert runner.invoke(app, ["push", str(lenient_build), "--to-dir", str(tmp_path / "export"), "-q"]).exit_code == 0
    result = runner.invoke(app, ["pull", f"{tmp_path / 'export'}:nope", "-o", str(tmp_path / "p"), "-q"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {tmp_path / 'export'}: no config nope; it holds story (s2s pull {tmp_path / 'export'}:story)"
    assert not (tmp_path / "p").exists()


def test_a_report_over_runs_of_different_items_names_the_n_of_each_mode(tmp_path: Path):
    from tests.test_report import results_dir

    first = results_dir(tmp_path / "R1", "m", {"t2t": [1, 1, 0, 1], "s2t": [1, 0, 0, 1]})
    third = results_dir(tmp_path / "R3", "m", {"t2t": [1, 1]})
    result = runner.invoke(app, ["report", str(first), str(third)])
    assert result.exit_code == 0, result.output
    assert f"note: the runs scored different items ({first}: 4, {third}: 2); each mode is compared on the items all its runs scored: t2t on 2, s2t on 4" \
        in result.stdout
    rows = [line.split(" | ") for line in result.stdout.splitlines() if line.startswith(f"| {first}")]
    assert [(row[3], row[4]) for row in rows] == [("t2t", "2"), ("s2t", "4")]


def test_a_page_whose_run_flipped_no_item_says_so_and_offers_the_worst_from_speech(tmp_path: Path):
    from tests.test_report import results_dir

    run = results_dir(tmp_path / "run", "m", {"t2t": [1, 1, 0], "s2t": [1, 1, 0]})  # speech flipped nothing
    result = runner.invoke(app, ["report", str(run), "--html", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "run: no item was right from text and wrong from speech; the 3 worst from speech, to listen to (the largest speech margin first)" in text
    listed = text.split("the largest speech margin first)")[1]
    assert listed.index(">i2<") < listed.index(">i0<") and ">i1<" in listed  # wrong from speech (its plausible candidate lost by 1.0) first
