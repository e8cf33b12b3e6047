"""``s2s push``: export build directories as a Hub dataset (parquet + card) and upload it.

- :mod:`.schema`: the exported columns and rows, and what is tallied per subset.
- :mod:`.export`: every build checked before anything is written, then the Hub layout (one config
  per subset, ``<config>/<split>-0000i-of-0000N.parquet``, audio embedded as the build's own bytes,
  a provenance record per config, ``README.md``) or the original release's layout.
- :mod:`.hub`: the token, the repo's state, one commit of what changed (a re-push makes none), a
  read-back to verify.

Order of a push: check the builds, ask the Hub who is pushing and what the repo holds, export to a
scratch directory, and only then create the repo and commit against the commit that was read (re-read
and re-planned when another push landed first); a failure leaves the Hub as it was, without a repo or
branch the push created.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.progress import SILENT, Progress
from s2sbench.publish.export import CheckedBuild, check_builds, export, export_release_layout, held_back, settle_licenses
from s2sbench.publish.hub import (
    PushError,
    check_repo_id,
    configure_client,
    configure_endpoint,
    existing_tag,
    hub_error,
    is_hub_failure,
    tag_release,
    upload,
    verify_push,
)
from s2sbench.publish.options import ConfigExport, PushOptions, PushResult

__all__ = ["ConfigExport", "PushError", "PushOptions", "PushResult", "push"]

TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def push(options: PushOptions, notify: Callable[[str], None] = lambda line: None, progress: Progress = SILENT) -> PushResult:
    """Export to ``options.to_dir``, or upload to ``options.repo`` in one commit. ``notify`` gets
    the lines a user must read before the commit (a licence kept or changed); ``progress`` counts the
    rows exported (the upload's own bars are the Hub client's). Each build is held
    for reading throughout (:meth:`BuildDirectory.reading`): a build or validation running there
    is refused in one line, and none can start until the push is done."""
    with contextlib.ExitStack() as held:
        for build in dict.fromkeys(options.builds):
            if BuildDirectory(build).exists():  # check_builds says what a path that is no build is
                held.enter_context(BuildDirectory(build).reading())
        return _push(options, notify, progress)


def _push(options: PushOptions, notify: Callable[[str], None], progress: Progress) -> PushResult:
    _check_push_options(options)
    checked = check_builds(options)
    if options.to_dir is not None:
        return _export_to_dir(options, checked, notify, progress)
    return _push_to_hub(options, checked, notify, progress)


def _check_push_options(options: PushOptions) -> None:
    """Refuse, before any build is read, options that do not go together."""
    if options.layout not in ("hub", "s2sbench"):
        raise S2SBenchError(f"--layout must be hub or s2sbench, not {options.layout!r}")
    if options.to_dir is None and not options.repo:
        raise S2SBenchError("give --repo OWNER/NAME to upload, or --to-dir DIR to export")
    if options.to_dir is None and options.layout != "hub":
        raise S2SBenchError("--layout s2sbench writes files for S2SBench's scripts: use it with --to-dir")
    if options.repo and options.to_dir is None:
        check_repo_id(options.repo)
    if options.tag is not None and (options.to_dir is not None or not TAG_NAME.fullmatch(options.tag)):
        raise S2SBenchError(f"--tag {options.tag!r}: " + ("a tag names a Hub commit: use it with --repo" if options.to_dir is not None
                                                          else "expected a name of letters, digits, '.', '_', '-' (e.g. v1.0)"))
    if options.to_dir is not None and Path(options.to_dir).exists() and not Path(options.to_dir).is_dir():
        raise S2SBenchError(f"--to-dir {options.to_dir}: a file, not a directory")


def _export_to_dir(options: PushOptions, checked: list[CheckedBuild], notify: Callable[[str], None], progress: Progress) -> PushResult:
    """``--to-dir``: write what an upload would hold, uploading nothing."""
    settle_licenses(options, checked, {}, notify)
    target = Path(options.to_dir)
    if options.repo:  # honoured: the files are what an upload to the repo would hold (its card and task files name it)
        check_repo_id(options.repo)
        notify(f"--to-dir: nothing is uploaded; the card and lm_eval task files name {options.repo}")
    if options.layout == "s2sbench":
        return PushResult(export_release_layout(options, target, checked), target, held_back=held_back(options, checked))
    return PushResult(export(options, target, checked, repo_id=options.repo or target.name, progress=progress), target,
                      held_back=held_back(options, checked))


def _push_to_hub(options: PushOptions, checked: list[CheckedBuild], notify: Callable[[str], None], progress: Progress) -> PushResult:
    """Upload the builds to ``--repo`` (tagged, verified and recorded in each build.json as asked)."""
    configure_endpoint()
    from huggingface_hub import HfApi

    configure_client()
    repo = options.repo
    api = HfApi()
    said: set[str] = set()

    def say_once(line: str) -> None:  # a re-planned commit settles the licences again
        if line not in said:
            said.add(line)
            notify(line)

    def plan(records: dict[str, dict], staging: Path) -> list[ConfigExport]:
        settle_licenses(options, checked, records, say_once)
        return export(options, staging, checked, records, repo_id=repo, progress=progress)

    with tempfile.TemporaryDirectory(prefix="s2s-push-") as scratch:
        try:
            tag_at = existing_tag(api, options)  # before anything is written: a tag naming another commit refuses the push
            exports, commit_id, url = upload(api, options, Path(scratch), plan)
            tagged = tag_release(api, options, commit_id, tag_at) if options.tag else None
        except S2SBenchError:
            raise
        except Exception as exc:
            if not is_hub_failure(exc):
                raise
            raise hub_error(exc, repo) from None
    if options.verify:
        verify_push(repo, exports, options)
    for build in checked:  # the licence it went out under, for a later export of the same build (push --to-dir)
        record_published(build, repo, commit_id)
    return PushResult(exports, None, commit_id, url, tagged, held_back(options, checked))


def record_published(build: CheckedBuild, repo: str, commit: str | None) -> None:
    """build.json's ``published``: the repo, commit and licence of the build's last push."""
    directory = BuildDirectory(build.path)
    manifest = directory.read_manifest()
    published = {"repo": repo, "license": build.license.as_dict() if build.license else None,
                 **({"commit": commit} if commit else {"commit": (manifest.get("published") or {}).get("commit")})}
    if manifest.get("published") != published:
        manifest["published"] = published
        directory.write_manifest(manifest)
