"""The ``s2s`` command: a thin shell over the library.

Each command parses its options, calls one library function and prints a short summary. Errors
the user can fix (:class:`~s2sbench.errors.S2SBenchError`) print as one line and exit with 2.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer

from s2sbench import __version__
from s2sbench.cli_params import AugmentInputs, BuildInputs, PushInputs, ReportInputs, ScoreInputs, takes
from s2sbench.errors import S2SBenchError, user_message
from s2sbench.licenses import DataLicense
from s2sbench.pipeline.options import DEFAULT_BATCH_SIZE
from s2sbench.synth.postprocess import AUDIO_FORMATS, DEFAULT_LOUDNESS_LUFS, AudioOptions


class _OneLineErrors(typer.core.TyperGroup):
    """The ``s2s`` group: the parser's own refusals (a value out of range, not a number, an unknown
    option) end as every other error does, ``error: ...`` on one line and exit status 2, not a usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = sys.argv[1:] if args is None else list(args)
        if not standalone_mode or not args:  # a caller handling the exceptions itself; `s2s` alone: the help
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        except typer.TyperException as error:  # typer's usage errors (BadParameter, NoSuchOption, ...) derive from it
            message = error.format_message().strip() if hasattr(error, "format_message") else str(error)
            typer.echo(f"error: {message.splitlines()[0] if message else type(error).__name__}", err=True)
            sys.exit(getattr(error, "exit_code", 2))
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="s2s",
    help="Build, check, publish and score spoken benchmarks of language understanding.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: wrapped to the terminal, never cut
)
# Arguments are listed by their metavar (SOURCE, BUILD_DIR...); typer would add the Python type
# (`SOURCE <str>`, `<list[Path]>`), which tells a user nothing.
typer.core.TyperArgument.display_type_rich = lambda self, ctx: None


def _fail(error: Exception | str) -> None:
    """One line on stderr, exit status 2: how every failure a user can cause ends."""
    message = error if isinstance(error, str) else (user_message(error) or f"{type(error).__name__}: {error}")
    typer.echo(f"error: {message.splitlines()[0] if message else ''}", err=True)
    raise typer.Exit(2)


def _license(license_id: str | None, name: str | None, link: str | None) -> DataLicense | None:
    """``--license``/``--license-name``/``--license-link`` as a checked licence (None when not given)."""
    if license_id is None:
        if name or link:
            _fail(S2SBenchError("--license-name and --license-link go with --license other"))
        return None
    try:
        return DataLicense.parse(license_id, name, link)
    except S2SBenchError as error:
        _fail(error)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"s2sbench {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool | None, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """Build, check, publish and score spoken benchmarks of language understanding."""


class _Progress:
    """A tqdm bar implementing :class:`~s2sbench.progress.Progress`: units done, their rate and ETA,
    and beside them the counts a call reports (clips synthesized and reused, with clips/s)."""

    def __init__(self, enabled: bool, unit: str = "item", desc: str = "build"):
        self.enabled = enabled
        self.unit, self.desc = unit, desc
        self.bar = None
        self.started = time.perf_counter()

    def start(self, total: int | None) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.close()  # a call that starts again (each checkpoint of a sweep) gets a new bar
            self.started = time.perf_counter()
            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, dynamic_ncols=True, file=sys.stderr, disable=None)

    def advance(self, done: int, **counts: int) -> None:
        if self.bar is None:
            return
        self.bar.n = done
        if any(counts.values()):
            figures = " ".join(f"{name}={count}" for name, count in counts.items())
            new = counts.get("synthesized", 0)
            rate = f" {new / max(time.perf_counter() - self.started, 1e-9):.1f} clips/s" if "synthesized" in counts else ""
            self.bar.set_postfix_str(f"clips {figures}{rate}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# -q: the libraries' bars too. Each reads its variable when first imported; one already imported is
# told by its own switch.
_QUIET_VARIABLES = ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")
_QUIET_SWITCHES = (("huggingface_hub.utils", "disable_progress_bars"), ("datasets", "disable_progress_bars"),
                   ("transformers.utils.logging", "disable_progress_bar"))


def _silence_progress_bars() -> None:
    """No bar from any library (datasets, the Hub client, transformers, GGUF loading, engines)."""
    for variable in _QUIET_VARIABLES:
        os.environ[variable] = "1"
    for module, switch in _QUIET_SWITCHES:
        if module in sys.modules:
            getattr(sys.modules[module], switch)()


def _run(bar: _Progress, resume_hint: Path, call):
    """Run a library call under the progress bar: one-line errors, a resume hint on Ctrl-C."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # third-party engines are noisy; our own summaries print after
            return call()
    except KeyboardInterrupt:
        bar.close()
        typer.echo(f"interrupted; re-run the same command to resume {resume_hint}", err=True)
        raise typer.Exit(130) from None
    except Exception as error:
        bar.close()
        message = user_message(error)
        if message is None:
            raise
        _fail(message)
    finally:
        bar.close()


@app.command()
@takes(BuildInputs)
def build(given: BuildInputs) -> None:
    """Turn a text source into a spoken build directory (items.jsonl, audio/, build.json).

    Every clip is validated by an ASR round trip unless --no-validate; the report is written to
    validation.md/.json/.png and report.html (one page, the worst clips playable) in the build
    directory. Re-running the same command synthesizes
    nothing that exists; an interrupted build resumes, whichever executor made the first part.

    \b
    Examples:
      s2s build sample:en -o builds/demo --limit 20
      s2s build mine.jsonl -o builds/mine --license cc-by-4.0 \\
        --map context=q,candidates=a|b,answer=gold
      s2s build cloze_test_2018.csv -o builds/sc --device cuda --batch-size 32
      s2s build sample:en -o builds/human --recordings rec/ana --recordings-only
    """
    from s2sbench.pipeline import build as run_build

    options = _build_options(given)
    if given.quiet:
        _silence_progress_bars()
    bar = _Progress(enabled=not given.quiet)
    summary = _run(bar, given.output, lambda: run_build(options, progress=bar))
    _print_build(summary, given.validate)


def _build_options(given: BuildInputs):
    """The library's :class:`BuildOptions` from what ``s2s build`` was given; notes on options that do not apply."""
    from s2sbench.pipeline import BuildOptions, RayOptions

    if given.audio_format is not None and given.audio_format not in AUDIO_FORMATS:
        _fail(S2SBenchError(f"--audio-format must be one of {', '.join(AUDIO_FORMATS)}"))
    audio = None  # no audio option: the default finish, or the one a build levelled before LUFS keeps
    if (given.sample_rate, given.audio_format, given.loudness_lufs) != (None, None, None):
        audio = AudioOptions(sample_rate=16000 if given.sample_rate is None else given.sample_rate, format=given.audio_format or "wav",
                             loudness_lufs=DEFAULT_LOUDNESS_LUFS if given.loudness_lufs is None else given.loudness_lufs)
    if given.executor == "ray" and given.workers > 1:
        typer.echo("note: --workers is for --executor local; on Ray the actor pools set the parallelism (--tts-actors, --asr-actors)", err=True)
    if given.executor == "local" and (given.ray_address or given.tts_gpus or given.asr_gpus or given.tts_actors or given.asr_actors):
        typer.echo("note: the Ray options (--ray-address, --tts-gpus, ...) apply only with --executor ray", err=True)
    return BuildOptions(
        source=given.source, output=given.output, format=given.format, lang=given.lang, profile=str(given.profile) if given.profile else None,
        subset=given.subset, column_map=given.column_map, template=given.template,
        tts=(given.tts[0] if len(given.tts) == 1 else list(given.tts)) if given.tts else None,
        voices=[v.strip() for v in given.voices.split(",") if v.strip()] if given.voices else ([given.voice] if given.voice else []),
        speak=given.speak, audio=audio, limit=given.limit, seed=given.seed, skip_bad_rows=given.skip_bad_rows, workers=given.workers,
        batch_size=given.batch_size, device=given.device, validate=given.validate, asr=given.asr, asr_window=given.asr_window,
        max_error=given.max_error, retries=given.retries, executor=given.executor,
        ray=RayOptions(given.ray_address, given.tts_gpus, given.asr_gpus, given.tts_actors, given.asr_actors, given.cpus_per_actor),
        license=_license(given.license, given.license_name, given.license_link),
        recordings=str(given.recordings) if given.recordings else None, recordings_only=given.recordings_only,
    )


def _print_build(summary, validate: bool) -> None:
    """What ``s2s build`` says when it is done; exit status 1 when items could not be spoken."""
    from s2sbench.storage import is_url, mirror_directory

    for note in summary.notes:
        typer.echo(f"note: {note}", err=True)
    subsets = ", ".join(f"{name} {count}" for name, count in sorted(summary.subsets.items()))
    typer.echo(f"built {summary.output}: {summary.items} item{'' if summary.items == 1 else 's'} ({subsets})")
    typer.echo(
        f"  clips: {summary.clips_synthesized} synthesized, {summary.clips_reused} reused; "
        f"{summary.duplicates} duplicates dropped, {summary.skipped_rows} rows skipped; {summary.seconds:.1f} s"
    )
    if validate:
        _print_validation(summary.clips_passed, summary.clips_failed, summary.items_failed, summary.output, summary.item_errors)
    if is_url(summary.output):
        typer.echo(f"  items.jsonl, build.json and reports mirrored in {mirror_directory(str(summary.output))}")
    if summary.item_errors:
        noun = "item" if summary.item_errors == 1 else "items"
        typer.echo(f"warning: {summary.item_errors} {noun} could not be spoken; see {summary.output}/failed.jsonl; re-run to retry them", err=True)
        raise typer.Exit(1)


def _print_validation(passed: int, failed: int, items_failed: int, root: Path | str, not_made: int = 0) -> None:
    rate = passed / max(passed + failed, 1)
    unmade = f"; {not_made} item{'' if not_made == 1 else 's'} not made (audio that could not be read or spoken: failed.jsonl)" if not_made else ""
    typer.echo(f"  validation: {passed}/{passed + failed} clips passed ({rate:.1%}); {items_failed} items with a failing clip{unmade}")
    typer.echo(f"  report: {root}/validation.md; with the worst clips playable: {root}/report.html")


@app.command()
def validate(
    build_dir: Annotated[Path, typer.Argument(metavar="BUILD_DIR", help="A build directory made by s2s build.")],
    asr: Annotated[str | None, typer.Option("--asr", metavar="ENGINE:MODEL", help="ENGINE:MODEL: faster-whisper:MODEL_OR_DIR or transformers:MODEL_ID_OR_DIR. Default: the build's (else the profile's).")] = None,
    asr_window: Annotated[str | None, typer.Option("--asr-window", metavar="auto|30", help="faster-whisper's window: auto (each clip of up to 30 s encoded in a window that fits it, 10/15/20/30 s; a clip failing on its transcript is heard again at 30 s) or 30 (every clip padded to 30 s). Default: the build's.")] = None,
    max_error: Annotated[float | None, typer.Option("--max-error", metavar="RATE", help="Largest WER/CER a clip may have and pass. Default: the build's (else the profile's).")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", metavar="FILE", help="A language profile file (default: the one the build used).")] = None,
    device: Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", metavar="N", help="Items whose clips the recognizer hears in one call.", min=1)] = DEFAULT_BATCH_SIZE,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included.")] = False,
) -> None:
    """Re-check every clip of a build (optionally with another ASR) and update its verdicts in place.

    What no option changes stays as the build was validated (recognizer, window, max error); each
    change is said. Interrupted, it resumes where it stopped. Clips are checked, not re-synthesized.

    \b
    Examples:
      s2s validate builds/demo --max-error 0.2   # judged again, not transcribed
      s2s validate builds/demo --asr transformers:openai/whisper-small
      s2s validate builds/sc --asr faster-whisper:large-v3 --device cuda \\
        --batch-size 32
    """
    from s2sbench.validate.revalidate import RevalidateOptions, validate_build

    if quiet:
        _silence_progress_bars()
    bar = _Progress(enabled=not quiet, unit="item", desc="validate")
    revalidate = RevalidateOptions(asr=asr, asr_window=asr_window, max_error=max_error, device=device, profile=str(profile) if profile else None, batch_size=batch_size)
    report = _run(bar, build_dir, lambda: validate_build(build_dir, revalidate, progress=bar, notify=lambda line: typer.echo(f"note: {line}", err=True)))
    _print_validation(report.clips_passed, report.clips_failed, report.items_failed, build_dir, report.items_not_made)


@app.command()
def record(
    build_dir: Annotated[Path, typer.Argument(metavar="BUILD_DIR", help="A build directory made by s2s build.")],
    speaker: Annotated[str, typer.Option("--speaker", metavar="NAME", help="Who reads: the recordings go to BUILD_DIR/recordings/NAME and are voiced human:NAME.")],
    parts: Annotated[str, typer.Option("--parts", metavar="context|all", help="Read each item's context, or its candidates too.")] = "context",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="The loopback port (0: any free one).", min=0, max=65535)] = 0,
) -> None:
    """Read a build's items aloud in your browser: a page on this machine only (127.0.0.1, a token in its URL).

    The page shows each text, records it from the microphone, plays it back, and keeps it or
    records it again; it starts at the first text without a recording, so a session resumes where
    it stopped. Kept takes are checked as audio and saved to BUILD_DIR/recordings/NAME, the layout
    that s2s build --recordings reads. Ctrl-C stops the server.

    \b
    Examples:
      s2s record builds/demo --speaker ana
      s2s build sample:en -o builds/demo --recordings builds/demo/recordings/ana
    """
    from s2sbench.record import RecordingServer, RecordOptions

    session = _run(_Progress(enabled=False), build_dir, lambda: RecordingServer(RecordOptions(build_dir, speaker, parts, port)))

    def ready(url: str) -> None:
        typer.echo(f"open {url}  (recordings go to {session.folder}; Ctrl-C stops)")

    _run(_Progress(enabled=False), build_dir, lambda: session.serve(ready))  # Ctrl-C: "re-run to resume"


def _numbers(text: str | None, option: str) -> tuple[float, ...]:
    """``20,10,5,0`` as numbers; a bad one is a one-line error naming the option."""
    if not text:
        return ()
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        _fail(S2SBenchError(f"{option} {text!r}: expected numbers separated by commas, e.g. 20,10,5,0"))


@app.command()
@takes(AugmentInputs)
def augment(given: AugmentInputs) -> None:
    """Derive robustness variants of a build from its clips (noise, speed, reverb), no re-synthesis.

    Each variant is a build directory under -o with the same items, its own clips, a build.json
    naming its parent, transform and seed, and its own validation (the ASR error it causes).
    A re-run makes nothing; an interrupted run resumes.

    \b
    Examples:
      s2s augment builds/demo -o builds/demo-robust --noise-snr 20,10,5,0
      s2s augment builds/demo -o builds/robust --speed 0.9,1.1 --seed 3
      s2s augment builds/demo -o builds/robust --noise-snr 10 --noise babble
      s2s augment builds/demo -o builds/robust --reverb small,large
    """
    from s2sbench.augment import AugmentOptions
    from s2sbench.augment import augment as run_augment

    if given.quiet:
        _silence_progress_bars()
    options = AugmentOptions(build=given.build_dir, output=given.output, noise_snr=_numbers(given.noise_snr, "--noise-snr"), speed=_numbers(given.speed, "--speed"),
                             reverb=tuple(part.strip() for part in (given.reverb or "").split(",") if part.strip()),
                             noise=given.noise, noise_dir=given.noise_dir, seed=given.seed, include_failed=given.include_failed, validate=given.validate, asr=given.asr, device=given.device)

    def report(variant) -> None:
        median = "" if variant.median_error is None else f", median {variant.median_error:.3f}"
        error = "not validated" if variant.mean_error is None else (f"ASR error mean {variant.mean_error:.3f}{median}; "
                                                                    f"{variant.clips_passed}/{variant.clips_checked} clips passed")
        typer.echo(f"{variant.path}: {variant.items} items, {variant.clips_made} clips made, {variant.clips_reused} reused; {error}")

    _run(_Progress(enabled=False), given.output, lambda: run_augment(options, on_variant=report))


@app.command()
@takes(ScoreInputs)
def score(given: ScoreInputs) -> None:
    """Score a speech or text LM: per-candidate losses, acc, pairwise_acc, and degradation (t2t - s2t, t2t - s2s).

    Writes scores.jsonl (one line per item, mode and candidate), summary.json, summary.md and
    result_<subset>.jsonl to the results directory; an interrupted run resumes.

    \b
    Examples:
      s2s score builds/demo -m Qwen/Qwen2-Audio-7B-Instruct -o results/qwen2a
      s2s score builds/demo -m cascade:faster-whisper:base+lm.gguf --modes s2s
      s2s score my-org/s2s --config sStoryCloze --revision v1.0 -m M --shard 1/4
      s2s score --merge -o results/qwen2a   # shards scored elsewhere
    """
    from s2sbench.scorer.session import run_scoring

    if given.quiet:
        _silence_progress_bars()
    bar = _Progress(enabled=not given.quiet and not given.merge, unit="item", desc=f"score {given.modes}")  # items/s and the ETA over every mode
    options = _run(bar, given.output, lambda: _score_options(given))
    typer.echo(_run(bar, given.output, lambda: run_scoring(
        options, given.model or (), merge_only=given.merge, allow_partial=given.allow_partial, progress=bar,
        notify=lambda line: typer.echo(f"warning: {line}", err=True),
        announce=lambda name: typer.echo(f"scoring {name}", err=True))))


def _score_options(given: ScoreInputs):
    """The library's :class:`ScoreOptions` from what ``s2s score`` was given."""
    from s2sbench.scorer.run import ScoreOptions, parse_shard

    return ScoreOptions(source=given.source or "", output=given.output, model="", modes=tuple(m.strip() for m in given.modes.split(",") if m.strip()),
                        adapter=given.adapter, device=given.device, dtype=given.dtype, limit=given.limit, seed=given.seed,
                        include_failed=given.include_failed, matched_prompts=given.matched_prompts, config=given.config, split=given.split,
                        lang=given.lang, shard=parse_shard(given.shard) if given.shard else None, batch_size=given.batch_size, bos=given.bos,
                        log_samples=given.log_samples, s2s_codebooks=given.s2s_codebooks, trust_remote_code=given.trust_remote_code,
                        prompt_style=given.prompt_style, revision=given.revision, profile=str(given.profile) if given.profile else None)


@app.command()
@takes(ReportInputs)
def report(given: ReportInputs) -> None:
    """Compare results directories side by side: acc, pairwise_acc and degradation per subset.

    A cascade (cascade:ASR+LM) beside a speech LM gets a table of its own: both degradations
    on the items both scored, and how many of the LM's right-to-wrong items the cascade flipped too.

    \b
    Examples:
      s2s report results/qwen2a results/cascade --plot compare.png
      s2s report results/qwen2a results/cascade --html report.html
      s2s report results/clean results/snr10 --curve --plot curve.png
      s2s report results/espeak results/kokoro results/human --by speech
    """
    if given.by is not None:
        from s2sbench.scorer.by_speech import speech_report

        if given.by != "speech":
            _fail(S2SBenchError(f"--by {given.by!r}: the one breakdown across runs is speech (--by speech)"))
        typer.echo(_run(_Progress(enabled=False), Path("."), lambda: speech_report(given.results, given.metric)))
        return
    if given.curve:
        from s2sbench.scorer.curve import curve_table, plot_curve

        typer.echo(_run(_Progress(enabled=False), Path("."), lambda: curve_table(given.results, given.metric)))
        if given.plot is not None:
            drawn = _run(_Progress(enabled=False), Path("."), lambda: plot_curve(given.results, given.plot, given.metric))
            typer.echo(f"plot: {drawn}" if drawn else "plot: matplotlib is not installed")
        return
    from s2sbench.scorer.compare import compare_results, html_report, plot_results

    typer.echo(_run(_Progress(enabled=False), Path("."), lambda: compare_results(given.results, given.metric)))
    if given.plot is not None:
        drawn = _run(_Progress(enabled=False), Path("."), lambda: plot_results(given.results, given.plot, given.metric))
        typer.echo("\n".join(f"plot: {path}" for path in drawn) if drawn else "plot: matplotlib is not installed")
    if given.html_page is not None:
        _run(_Progress(enabled=False), Path("."), lambda: html_report(given.results, given.html_page, given.metric))
        typer.echo(f"page: {given.html_page}")


def _parse_size(text: str) -> int:
    """``--max-shard-size``: bytes, or a number with K, M, G or T (KB, MiB, ...; powers of 1024): 500M, 500MB, 2G, 1.5GB."""
    import math
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([KMGT])(?:I?B)?|B)?\s*", text, re.IGNORECASE)
    size = float(match[1]) * 1024 ** " KMGT".index((match[2] or " ").upper()) if match else math.nan
    if not 1 <= size <= 2**50:  # NaN, 0, or more than a petabyte
        _fail(S2SBenchError(f"--max-shard-size {text!r}: expected a size such as 500M, 500MB, 2G or 1048576 (bytes)"))
    return int(size)


@app.command()
@takes(PushInputs)
def push(given: PushInputs) -> None:
    """Publish builds as a Hub dataset with audio, one config per subset, and a dataset card.

    The token comes from HF_TOKEN or `hf auth login` and is never printed. HF_ENDPOINT selects a
    self-hosted or mirror endpoint. Pushing the same builds twice makes no new commit.

    \b
    Examples:
      s2s push builds/demo --to-dir export/       # exactly what would be uploaded
      s2s push builds/sc --repo my-org/sc --license other \\
        --license-name 'ROCStories terms' --license-link https://example.org/terms
      s2s push builds/es --repo my-org/s2s --config-name xsc-es --private
    """
    if given.quiet:
        _silence_progress_bars()
    from s2sbench.publish import PushOptions
    from s2sbench.publish import push as run_push

    options = PushOptions(builds=given.builds, repo=given.repo, to_dir=given.to_dir, layout=given.layout, config=given.config_name, split=given.split, include_failed=given.include_failed,
                          private=given.private, revision=given.revision, commit_message=given.commit_message, tag=given.tag, max_shard_size=_parse_size(given.max_shard_size),
                          license=_license(given.license, given.license_name, given.license_link), verify=given.verify, allow_incomplete=given.allow_incomplete)
    bar = _Progress(enabled=not given.quiet, unit="item", desc="export")
    result = _run(bar, given.to_dir or given.repo, lambda: run_push(options, notify=lambda line: typer.echo(line, err=True), progress=bar))
    for exported in result.configs:
        failed, build_dir = result.held_back.get(exported.name, (0, None))
        held = (f"; {failed} item{'' if failed == 1 else 's'} held back (failed validation: {Path(build_dir) / 'validation.md'}; "
                f"--include-failed publishes {'it' if failed == 1 else 'them'})") if failed else ""
        typer.echo(f"  {exported.name}: {exported.rows} item{'' if exported.rows == 1 else 's'}{held}")
    if result.directory is not None:
        typer.echo(f"exported to {result.directory}")
    elif result.commit is None:
        typer.echo(f"{given.repo}: nothing changed, no commit" + (f"; tag {given.tag} names {result.tagged}" if result.tagged else ""))
    else:
        typer.echo(f"pushed to {result.url} (commit {result.commit}){'; verified' if given.verify else ''}")
        if result.tagged:
            typer.echo(f"tagged {result.tagged} as {given.tag}: s2s pull {given.repo} --revision {given.tag}")


@app.command()
def pull(
    source: Annotated[str, typer.Argument(metavar="REPO[:CONFIG]", help="A Hub dataset OWNER/NAME made by s2s push, or an export folder, with the config to pull (needed when it has several).")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", help="The build directory to write (new, or an earlier pull of the same commit).")],
    revision: Annotated[str | None, typer.Option("--revision", metavar="REV", help="Of a Hub dataset: a branch, a tag, or a commit (its full SHA or a unique prefix; default: main).")] = None,
    split: Annotated[str, typer.Option("--split", metavar="SPLIT", help="Split to pull.")] = "test",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included.")] = False,
) -> None:
    """Turn a published dataset back into a build directory: items, clips byte for byte, build.json naming its origin.

    The pulled build can be validated, augmented, scored or pushed again; a re-export gives the
    published parquet bytes.

    \b
    Examples:
      s2s pull my-org/s2s-de:sStoryCloze -o builds/de
      s2s pull my-org/s2s-de:sStoryCloze --revision v1.0 -o builds/de-v1
      s2s pull my-org/s2s-de:sStoryCloze --revision 3f2a9c1 -o builds/de-3f2a
      s2s pull export/:sStoryCloze -o builds/again
    """
    if quiet:
        _silence_progress_bars()
    from s2sbench.publish.hub import configure_endpoint
    from s2sbench.publish.pull import parse_pull_source
    from s2sbench.publish.pull import pull as run_pull

    configure_endpoint()
    name, config = parse_pull_source(source)
    result = _run(_Progress(enabled=False), output, lambda: run_pull(name, output, config, split, revision))
    origin = result.origin.get("revision") or result.origin.get("sha256", "")
    typer.echo(f"pulled {name} config {result.config} ({origin}) into {result.output}: {result.items} items, {result.clips} clips")


langs_app = typer.Typer(help="""Language profiles: list, show, check by a real TTS-ASR round trip, start a new one.

\b
Examples:
  s2s langs                                  # every profile and its status
  s2s langs check en zh                      # a real round trip per language
  s2s langs new sw -o profiles/sw.toml --voice sw
""", add_completion=False, rich_markup_mode=None)
app.add_typer(langs_app, name="langs")


@langs_app.callback(invoke_without_command=True)
def langs_list(
    context: typer.Context,
    profile: Annotated[list[Path] | None, typer.Option("--profile", metavar="FILE", help="Also list these profile files.")] = None,
) -> None:
    """The languages with profiles: engines, ASR, metric, threshold, status.

    \b
    Examples:
      s2s langs
      s2s langs --profile profiles/sw.toml
    """
    if context.invoked_subcommand in ("show", "new") and profile:
        _fail(f"--profile is for `s2s langs` and `s2s langs check`; `s2s langs {context.invoked_subcommand}` takes "
              + ("the profile file itself: s2s langs show FILE" if context.invoked_subcommand == "show" else "a code and -o FILE"))
    if context.invoked_subcommand is not None:
        return  # `s2s langs --profile FILE check CODE` hands the files to check
    from s2sbench.langs import format_profiles, list_profiles

    _run(_Progress(enabled=False), Path("."), lambda: typer.echo(format_profiles(list_profiles(profile or []))))


@langs_app.command("show")
def langs_show(code: Annotated[str, typer.Argument(metavar="CODE|FILE", help="A language code or a profile file.")]) -> None:
    """Everything one profile sets.

    \b
    Examples:
      s2s langs show zh
      s2s langs show profiles/sw.toml
    """
    from s2sbench.langs import describe

    typer.echo(_run(_Progress(enabled=False), Path("."), lambda: describe(code)))


@langs_app.command("check")
def langs_check(
    context: typer.Context,
    codes: Annotated[list[str] | None, typer.Argument(metavar="CODE|FILE", help="Language codes or profile files.", show_default=False)] = None,
    profile: Annotated[list[Path] | None, typer.Option("--profile", metavar="FILE", help="A profile file (repeatable): checks the CODE it is written for, or the one CODE given, as `s2s build --lang CODE --profile FILE`; alone, itself.")] = None,
    sentence: Annotated[str | None, typer.Option("--sentence", metavar="TEXT", help="The sentence to speak (default: the profile's check sentence).")] = None,
    asr: Annotated[str | None, typer.Option("--asr", metavar="ENGINE:MODEL", help="ENGINE:MODEL (default: the profile's).")] = None,
    tts: Annotated[str | None, typer.Option("--tts", metavar="ENGINE[:MODEL]", help="ENGINE[:MODEL] (default: the profile's).")] = None,
    voice: Annotated[str | None, typer.Option("--voice", metavar="VOICE", help="A voice of that engine (default: the profile's first).")] = None,
    lang: Annotated[str | None, typer.Option("--lang", metavar="CODE", help="Language code told to the ASR, as `s2s build --lang` (default: the profile's code).")] = None,
) -> None:
    """Speak a test sentence with the installed engines, recognize it back, print the error and pass/fail.

    \b
    Examples:
      s2s langs check en zh
      s2s langs check profiles/sw.toml --sentence 'Habari ya asubuhi.'
      s2s langs check de --profile profiles/de.toml
    """
    from s2sbench.langs import check, check_table, check_targets

    files = [*((context.parent.params.get("profile") or []) if context.parent else []), *(profile or [])]  # `s2s langs --profile FILE check`

    def run_checks():
        return [check(target, sentence, asr, tts=tts, voice=voice, lang=told) for target, told in check_targets(codes or [], files, lang)]

    results = _run(_Progress(enabled=False), Path("."), run_checks)
    typer.echo(check_table(results))
    if not all(r.passed for r in results):
        raise typer.Exit(1)


@langs_app.command("new")
def langs_new(
    code: Annotated[str, typer.Argument(metavar="CODE", help="The new language's code, e.g. sw.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write the commented profile.")],
    voice: Annotated[str | None, typer.Option("--voice", metavar="VOICE", help="An espeak-ng voice to fill in.")] = None,
) -> None:
    """Write a commented profile template to fill in (then `s2s langs check FILE`).

    \b
    Examples:
      s2s langs new sw -o profiles/sw.toml --voice sw
      s2s langs check profiles/sw.toml
    """
    from s2sbench.langs import write_profile_template

    _run(_Progress(enabled=False), output, lambda: write_profile_template(code, output, voice=voice))
    typer.echo(f"wrote {output}; fill in the voice, then: s2s langs check {output}")


@app.command()
def adapters(
    model: Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="Say what this model reference is (a directory, a .gguf file, cascade:ASR+LM, a Hub name[@REVISION]) and which adapter --adapter auto picks for it.")] = None,
) -> None:
    """List the model adapters s2s score can use: their modes, and the config
    model_types that --adapter auto picks each for.

    \b
    Examples:
      s2s adapters
      s2s adapters -m Qwen/Qwen2-Audio-7B@main   # what it is, which adapter
      s2s score builds/demo -m MODEL_DIR --adapter granite-speech
    """
    from s2sbench.scorer.adapters import AdapterSpec, adapter_infos, adapter_modes, resolve_adapter

    if model is not None:
        from s2sbench.scorer.model_ref import resolve_model

        reference = _run(_Progress(enabled=False), Path("."), lambda: resolve_model(model))
        chosen = _run(_Progress(enabled=False), Path("."), lambda: resolve_adapter(AdapterSpec(model), "auto", reference))
        typer.echo(f"{model}: {reference.describe()}")
        typer.echo(f"--adapter auto picks {chosen} (modes {','.join(adapter_modes(chosen) or ('said once loaded',))})")
        return

    infos = adapter_infos()
    rows = [("ADAPTER", "MODES", "AUTO PICKS IT FOR")]
    rows += [(info.name, ",".join(info.modes) if info.modes else "(once loaded)", info.picked_for) for info in infos]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    for name, modes, picked_for in rows:
        typer.echo(f"{name:{widths[0]}}  {modes:{widths[1]}}  {picked_for}")


@app.command()
def formats() -> None:
    """List the source formats s2s build reads.

    \b
    Examples:
      s2s formats
      s2s build data.csv -f csv -o b --map context=s,candidates=e1|e2,answer=y
    """
    from s2sbench.builders import builders

    for name, builder in sorted(builders().items()):
        licence = builder.license or "the data owner's: give --license"
        typer.echo(f"{name:12} {builder.description}  [licence: {licence}]")


@app.command()
def voices(
    engine: Annotated[str, typer.Argument(metavar="ENGINE", help="espeak, kokoro, kokoro:MODEL.onnx, piper, piper:VOICE (its speakers) or coqui:MODEL (its speakers).")],
    lang: Annotated[str | None, typer.Argument(metavar="[LANG]", help="Only voices of this language (a code or its prefix: en, en-us, cmn).")] = None,
) -> None:
    """List what an installed speech engine can speak: the names --voice and --voices take.

    \b
    Examples:
      s2s voices espeak en          # en, en-us, en-gb-x-rp, ... (or en-us+f3)
      s2s voices piper              # installed Piper voices (--tts piper:NAME)
      s2s voices kokoro en          # Kokoro-82M's five offline voices
      s2s voices coqui:models/vits  # the speakers of a local Coqui model
    """
    from s2sbench.synth.voices import format_voices, list_voices

    found = _run(_Progress(enabled=False), Path("."), lambda: list_voices(engine, lang))
    if not found:
        _fail(S2SBenchError(f"{engine} has no voice for {lang!r}" if lang else f"{engine}: no voices installed"))
    typer.echo(format_voices(found))


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt  # so a terminated command cleans up as after Ctrl-C (scratch directories, locks)


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    app()


if __name__ == "__main__":
    main()
