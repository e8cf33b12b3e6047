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
from s2sbench.errors import S2SBenchError, user_message
from s2sbench.licenses import DataLicense
from s2sbench.pipeline.options import DEFAULT_BATCH_SIZE
from s2sbench.synth.postprocess import AUDIO_FORMATS, AudioOptions
from s2sbench.validate.asr import DEFAULT_WINDOW

app = typer.Typer(
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
    """A tqdm bar over items showing clips synthesized per second."""

    def __init__(self, enabled: bool, unit: str = "item", desc: str = "build"):
        self.enabled = enabled
        self.unit, self.desc = unit, desc
        self.bar = None
        self.started = time.perf_counter()

    def start(self, total: int) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, dynamic_ncols=True, file=sys.stderr, disable=None)

    def update(self, finished: int, synthesized: int, reused: int) -> None:
        if self.bar is None:
            return
        self.bar.n = finished
        if synthesized or reused:
            rate = synthesized / max(time.perf_counter() - self.started, 1e-9)
            self.bar.set_postfix_str(f"clips new={synthesized} reused={reused} {rate:.1f} clips/s", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
def build(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="A file or directory, sample:LANG (bundled sample), or hf://owner/name[:config[:split]].")],
    output: Annotated[str, typer.Option("--output", "-o", metavar="DIR|URL", help="The build directory to write (created; resumed if it exists), or an fsspec URL such as s3://bucket/builds/sc.")],
    format: Annotated[str | None, typer.Option("--format", "-f", metavar="FORMAT", help="Source format (see `s2s formats`); sniffed from the columns when unambiguous.")] = None,
    lang: Annotated[str, typer.Option("--lang", "-l", metavar="CODE", help="Language code of the source text; selects the bundled language profile.")] = "en",
    profile: Annotated[Path | None, typer.Option("--profile", metavar="FILE", help="A language profile TOML file to use instead of the bundled one.")] = None,
    subset: Annotated[str | None, typer.Option("--subset", metavar="NAME", help="Subset name for every item (default: the format's, e.g. sStoryCloze).")] = None,
    column_map: Annotated[str | None, typer.Option("--map", metavar="SPEC", help="For csv/jsonl: context=COL,candidates=COL1|COL2|...,answer=COL[,subset=COL][,id=COL].")] = None,
    template: Annotated[str | None, typer.Option("--template", metavar="TEXT", help="For question sources: continuation template with {option}, {letter}, {question}.")] = None,
    tts: Annotated[str | None, typer.Option("--tts", metavar="ENGINE[:MODEL]", help="ENGINE[:MODEL]: espeak, kokoro (Kokoro-82M, offline) or kokoro:MODEL.onnx, coqui:MODEL_NAME_OR_DIR, piper:VOICE. Default: the profile's.")] = None,
    voice: Annotated[str | None, typer.Option("--voice", metavar="VOICE", help="One voice or speaker for every clip.")] = None,
    voices: Annotated[str | None, typer.Option("--voices", metavar="V1,V2,...", help="Comma-separated voices rotated over items (stable per item).")] = None,
    speak: Annotated[str, typer.Option("--speak", metavar="context|all", help="What to speak: 'context', or 'all' (context and every candidate).")] = "all",
    sample_rate: Annotated[int, typer.Option("--sample-rate", metavar="HZ", help="Sample rate of the clips, Hz.")] = 16000,
    audio_format: Annotated[str, typer.Option("--audio-format", metavar="wav|flac", help=f"Clip format: {', '.join(AUDIO_FORMATS)}.")] = "wav",
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="Build at most N items (the first N, or a seeded sample with --seed).", min=1)] = None,
    seed: Annotated[int | None, typer.Option("--seed", metavar="N", help="With --limit: draw a deterministic random sample with this seed.")] = None,
    skip_bad_rows: Annotated[bool, typer.Option("--skip-bad-rows", help="Record malformed rows in build.json and go on, instead of stopping.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-j", metavar="N", help="Worker processes for synthesis.", min=1)] = 1,
    device: Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N, for engines that use a GPU.")] = "auto",
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Check every clip by an ASR round trip (and signal checks).")] = True,
    asr: Annotated[str | None, typer.Option("--asr", metavar="ENGINE:MODEL", help="ENGINE:MODEL for validation: faster-whisper:MODEL_OR_DIR or transformers:MODEL. Default: the profile's.")] = None,
    asr_window: Annotated[str, typer.Option("--asr-window", metavar="auto|30", help="faster-whisper's window: auto (each clip of up to 30 s encoded in a window that fits it, 10/15/20/30 s; a clip failing on its transcript is heard again at 30 s) or 30 (every clip padded to 30 s).")] = DEFAULT_WINDOW,
    max_error: Annotated[float | None, typer.Option("--max-error", metavar="RATE", help="Largest WER/CER a clip may have and pass. Default: the profile's.")] = None,
    retries: Annotated[int, typer.Option("--retries", metavar="N", help="Re-synthesize a failing clip up to N times (next voice, seed, speaking rate).", min=0)] = 2,
    recordings: Annotated[Path | None, typer.Option("--recordings", metavar="DIR", help="People's recordings to use instead of the TTS: DIR/ITEM-ID/context.wav and candidate-K.wav (speaker in DIR/speaker.txt), or DIR/recordings.csv (id,part,path,speaker); written by s2s record.")] = None,
    recordings_only: Annotated[bool, typer.Option("--recordings-only", help="With --recordings: build only the items whose context was recorded.")] = False,
    license: Annotated[str | None, typer.Option("--license", metavar="ID", help="Licence of the source's text (a Hub id: cc-by-4.0, mit, ..., other, or corpus: the file is the corpus its format names), recorded for `s2s push`. A format is a layout: its corpus's terms are never assumed for a local file.", rich_help_panel="Licence")] = None,
    license_name: Annotated[str | None, typer.Option("--license-name", metavar="NAME", help="With --license other: the licence's name.", rich_help_panel="Licence")] = None,
    license_link: Annotated[str | None, typer.Option("--license-link", metavar="URL", help="With --license other: a URL of its terms.", rich_help_panel="Licence")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included.")] = False,
    executor: Annotated[str, typer.Option("--executor", metavar="local|ray", help="local (this machine, --workers processes) or ray (a Ray cluster; extra s2sbench\\[ray]).", rich_help_panel="Executor")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", metavar="ADDRESS", help="Ray cluster to join: auto, ray://HOST:10001, ... Default: RAY_ADDRESS, else a local cluster.", rich_help_panel="Executor")] = None,
    tts_gpus: Annotated[float, typer.Option("--tts-gpus", metavar="GPUS", help="GPUs per TTS actor on Ray (0.5: two actors share a GPU).", min=0, rich_help_panel="Executor")] = 0.0,
    asr_gpus: Annotated[float, typer.Option("--asr-gpus", metavar="GPUS", help="GPUs per ASR actor on Ray.", min=0, rich_help_panel="Executor")] = 0.0,
    tts_actors: Annotated[int | None, typer.Option("--tts-actors", metavar="N", help="Most TTS actors on Ray (autoscaling from 1; default: what the cluster fits).", min=1, rich_help_panel="Executor")] = None,
    asr_actors: Annotated[int | None, typer.Option("--asr-actors", metavar="N", help="Most ASR actors on Ray.", min=1, rich_help_panel="Executor")] = None,
    cpus_per_actor: Annotated[float | None, typer.Option("--cpus-per-actor", metavar="CPUS", help="CPUs reserved per Ray actor (default: 1, less on a cluster smaller than the pools).", min=0, rich_help_panel="Executor")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "--ray-batch-size", metavar="N", help="Items per batch: the recognizer hears a batch's new clips in one call; on Ray, what an actor gets at a time. Any size gives the same build.", min=1, rich_help_panel="Executor")] = DEFAULT_BATCH_SIZE,
) -> None:
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
    from s2sbench.pipeline import BuildOptions, RayOptions
    from s2sbench.pipeline import build as run_build
    from s2sbench.storage import is_url, mirror_directory

    if audio_format not in AUDIO_FORMATS:
        _fail(S2SBenchError(f"--audio-format must be one of {', '.join(AUDIO_FORMATS)}"))
    chosen_voices = [v.strip() for v in voices.split(",") if v.strip()] if voices else ([voice] if voice else [])
    data_license = _license(license, license_name, license_link)
    options = BuildOptions(
        source=source,
        output=output,
        format=format,
        lang=lang,
        profile=str(profile) if profile else None,
        subset=subset,
        column_map=column_map,
        template=template,
        tts=tts,
        voices=chosen_voices,
        speak=speak,
        audio=AudioOptions(sample_rate=sample_rate, format=audio_format),
        limit=limit,
        seed=seed,
        skip_bad_rows=skip_bad_rows,
        workers=workers,
        batch_size=batch_size,
        device=device,
        validate=validate,
        asr=asr,
        asr_window=asr_window,
        max_error=max_error,
        retries=retries,
        executor=executor,
        ray=RayOptions(ray_address, tts_gpus, asr_gpus, tts_actors, asr_actors, cpus_per_actor),
        license=data_license,
        recordings=str(recordings) if recordings else None,
        recordings_only=recordings_only,
    )
    if executor == "ray" and workers > 1:
        typer.echo("note: --workers is for --executor local; on Ray the actor pools set the parallelism (--tts-actors, --asr-actors)", err=True)
    if executor == "local" and (ray_address or tts_gpus or asr_gpus or tts_actors or asr_actors):
        typer.echo("note: the Ray options (--ray-address, --tts-gpus, ...) apply only with --executor ray", err=True)
    if quiet:
        _silence_progress_bars()
    bar = _Progress(enabled=not quiet)
    summary = _run(bar, output, lambda: run_build(options, progress=bar.update, on_start=bar.start))
    subsets = ", ".join(f"{name} {count}" for name, count in sorted(summary.subsets.items()))
    typer.echo(f"built {summary.output}: {summary.items} item{'' if summary.items == 1 else 's'} ({subsets})")
    typer.echo(
        f"  clips: {summary.clips_synthesized} synthesized, {summary.clips_reused} reused; "
        f"{summary.duplicates} duplicates dropped, {summary.skipped_rows} rows skipped; {summary.seconds:.1f} s"
    )
    if validate:
        _print_validation(summary.clips_passed, summary.clips_failed, summary.items_failed, summary.output)
    if is_url(summary.output):
        typer.echo(f"  items.jsonl, build.json and reports mirrored in {mirror_directory(str(summary.output))}")
    if summary.item_errors:
        noun = "item" if summary.item_errors == 1 else "items"
        typer.echo(f"warning: {summary.item_errors} {noun} could not be spoken; see {summary.output}/failed.jsonl; re-run to retry them", err=True)
        raise typer.Exit(1)


def _print_validation(passed: int, failed: int, items_failed: int, root: Path | str) -> None:
    rate = passed / max(passed + failed, 1)
    typer.echo(f"  validation: {passed}/{passed + failed} clips passed ({rate:.1%}); {items_failed} items with a failing clip")
    typer.echo(f"  report: {root}/validation.md; with the worst clips playable: {root}/report.html")


@app.command()
def validate(
    build_dir: Annotated[Path, typer.Argument(metavar="BUILD_DIR", help="A build directory made by s2s build.")],
    asr: Annotated[str | None, typer.Option("--asr", metavar="ENGINE:MODEL", help="ENGINE:MODEL: faster-whisper:MODEL_OR_DIR or transformers:MODEL_ID_OR_DIR. Default: the profile's.")] = None,
    asr_window: Annotated[str, typer.Option("--asr-window", metavar="auto|30", help="faster-whisper's window: auto (each clip of up to 30 s encoded in a window that fits it, 10/15/20/30 s; a clip failing on its transcript is heard again at 30 s) or 30 (every clip padded to 30 s).")] = DEFAULT_WINDOW,
    max_error: Annotated[float | None, typer.Option("--max-error", metavar="RATE", help="Largest WER/CER a clip may have and pass. Default: the profile's.")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", metavar="FILE", help="A language profile file (default: the one the build used).")] = None,
    device: Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", metavar="N", help="Items whose clips the recognizer hears in one call.", min=1)] = DEFAULT_BATCH_SIZE,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included.")] = False,
) -> None:
    """Re-check every clip of a build (optionally with another ASR) and update its verdicts in place.

    Interrupted, it resumes where it stopped. Clips are checked, not re-synthesized.

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
    started = False

    def update(done: int, total: int) -> None:
        nonlocal started
        if not started:
            bar.start(total)
            started = True
        bar.update(done, 0, 0)

    revalidate = RevalidateOptions(asr=asr, asr_window=asr_window, max_error=max_error, device=device, profile=str(profile) if profile else None, batch_size=batch_size)
    report = _run(bar, build_dir, lambda: validate_build(build_dir, revalidate, progress=update))
    _print_validation(report.clips_passed, report.clips_failed, report.items_failed, build_dir)


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
def augment(
    build_dir: Annotated[Path, typer.Argument(metavar="BUILD_DIR", help="A build directory made by s2s build.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", help="Where the variants go: one build directory each (snr20, speed0.9, ...).")],
    noise_snr: Annotated[str | None, typer.Option("--noise-snr", metavar="DB,DB,...", help="Noise variants at these signal-to-noise ratios, in dB.")] = None,
    speed: Annotated[str | None, typer.Option("--speed", metavar="F,F,...", help="Tempo variants: these speed factors, the pitch kept.")] = None,
    reverb: Annotated[str | None, typer.Option("--reverb", metavar="ROOM,...", help="Reverberation variants: the clips heard in these rooms (small, medium, large).")] = None,
    noise: Annotated[str, typer.Option("--noise", metavar="white|pink|babble", help="The generated noise: white, pink, or babble made of the build's own clips.")] = "white",
    noise_dir: Annotated[Path | None, typer.Option("--noise-dir", metavar="DIR", help="Real noise recordings (wav, flac, ogg, mp3) to mix in instead.")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the noise: the same seed gives the same bytes.")] = 0,
    include_failed: Annotated[bool, typer.Option("--include-failed", help="Also the items whose clips failed the parent's validation.")] = False,
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Recognize every variant clip and write its validation report.")] = True,
    asr: Annotated[str | None, typer.Option("--asr", metavar="ENGINE:MODEL", help="ENGINE:MODEL for validation. Default: the profile's.")] = None,
    device: Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N, for the recognizer.")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included.")] = False,
) -> None:
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

    if quiet:
        _silence_progress_bars()
    options = AugmentOptions(build=build_dir, output=output, noise_snr=_numbers(noise_snr, "--noise-snr"), speed=_numbers(speed, "--speed"),
                             reverb=tuple(part.strip() for part in (reverb or "").split(",") if part.strip()),
                             noise=noise, noise_dir=noise_dir, seed=seed, include_failed=include_failed, validate=validate, asr=asr, device=device)

    def report(variant) -> None:
        median = "" if variant.median_error is None else f", median {variant.median_error:.3f}"
        error = "not validated" if variant.mean_error is None else (f"ASR error mean {variant.mean_error:.3f}{median}; "
                                                                    f"{variant.clips_passed}/{variant.clips_checked} clips passed")
        typer.echo(f"{variant.path}: {variant.items} items, {variant.clips_made} clips made, {variant.clips_reused} reused; {error}")

    _run(_Progress(enabled=False), output, lambda: run_augment(options, progress=report))


@app.command()
def score(
    source: Annotated[str | None, typer.Argument(metavar="SOURCE", help="A build directory, a `push --to-dir` export, a Hub dataset id (OWNER/NAME), or an S2SBench release jsonl.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", metavar="MODEL", help="A hub id, a local directory, a .gguf file, or cascade:ASR_ENGINE:ASR_MODEL+LM. A glob or several --model: a checkpoint sweep.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", help="The results directory (resumed if it exists).")] = Path("results"),
    modes: Annotated[str, typer.Option("--modes", metavar="MODES", help="Comma-separated: t2t (text context), s2t (spoken context), s2s (spoken context and candidates; adapters that score speech: moshi, the cascade).")] = "t2t,s2t",
    adapter: Annotated[str, typer.Option("--adapter", metavar="NAME", help="Model adapter; auto picks from the model's config. See `s2s adapters`.")] = "auto",
    device: Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
    dtype: Annotated[str, typer.Option("--dtype", metavar="DTYPE", help="auto (bfloat16 on GPU, float32 on CPU), float32, bfloat16, float16.")] = "auto",
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="Score N items, spread over the subsets in proportion (each subset's first, or a seeded sample with --seed).", min=1)] = None,
    seed: Annotated[int | None, typer.Option("--seed", metavar="N", help="With --limit: a deterministic random sample in each subset.")] = None,
    include_failed: Annotated[bool, typer.Option("--include-failed", help="Also score items whose clips failed validation.")] = False,
    matched_prompts: Annotated[bool, typer.Option("--matched-prompts", help="Use the speech prefix in t2t too, so the modes differ only in modality.")] = False,
    config: Annotated[str | None, typer.Option("--config", metavar="CONFIG", help="Config of a dataset source (Hub id or export directory).")] = None,
    split: Annotated[str, typer.Option("--split", metavar="SPLIT", help="Split of a dataset source.")] = "test",
    lang: Annotated[str, typer.Option("--lang", metavar="CODE", help="Language of a release jsonl source (selects the prompt profile).")] = "en",
    shard: Annotated[str | None, typer.Option("--shard", metavar="K/N", help="K/N: the K-th of N shards, counted from 1 (1/4 ... 4/4): every N-th item. Default: RANK/WORLD_SIZE from torchrun, or SLURM.")] = None,
    merge: Annotated[bool, typer.Option("--merge", help="Only write the summary of the shards in --output (all must have finished).")] = False,
    allow_partial: Annotated[bool, typer.Option("--allow-partial", help="With --merge: summarize the shards that finished even if some are missing.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", metavar="N", help="Items per forward pass, for adapters that batch across items.", min=1)] = 8,
    log_samples: Annotated[bool, typer.Option("--log-samples", help="Also write samples.jsonl: per item and mode, the exact text scored (the cascade's transcripts) and the scores.")] = False,
    bos: Annotated[str, typer.Option("--bos", metavar="auto|always|never", help="What starts each scored sequence: auto, the tokens the model's tokenizer adds (lm-eval's default); always a BOS token; never.")] = "auto",
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Run the model's own code from its checkpoint (remote-code families); only for checkpoints you trust.")] = False,
    prompt_style: Annotated[str, typer.Option("--prompt-style", metavar="raw|chat", help="raw: S2SBench's wording; chat: the context as the user's turn of the model's chat template, each candidate as its reply.")] = "raw",
    s2s_codebooks: Annotated[str, typer.Option("--s2s-codebooks", metavar="semantic|all", help="s2s on codec codes (moshi): score each spoken candidate frame's semantic codebook (codebook 0), or all its codebooks.")] = "semantic",
    revision: Annotated[str | None, typer.Option("--revision", metavar="REV", help="Of a Hub dataset: the branch, tag or commit to score (default: main); its commit is recorded in run.json.")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", metavar="FILE", help="Score with this profile's prompts instead of the task the source publishes (a warning names what differs).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included.")] = False,
) -> None:
    """Score a speech or text LM: per-candidate losses, acc, pairwise_acc, and degradation (t2t - s2t, t2t - s2s).

    Writes scores.jsonl (one line per item, mode and candidate), summary.json, summary.md and
    result_<subset>.jsonl to the results directory; an interrupted run resumes.

    \b
    Examples:
      s2s score builds/demo -m HuggingFaceTB/SmolLM2-135M --modes t2t
      s2s score builds/demo -m Qwen/Qwen2-Audio-7B-Instruct -o results/qwen2a
      s2s score builds/demo -m cascade:faster-whisper:base+lm.gguf --modes s2s
      s2s score my-org/s2s --config sStoryCloze --revision v1.0 -m M --shard 1/4
    """
    from s2sbench.scorer.run import ScoreOptions, parse_shard, shard_from_environment
    from s2sbench.scorer.run import merge as merge_shards
    from s2sbench.scorer.run import score as run_score

    if quiet:
        _silence_progress_bars()
    quietly = _Progress(enabled=False)
    if merge:
        _run(quietly, output, lambda: merge_shards(output, allow_partial=allow_partial))
        typer.echo((output / "summary.md").read_text(encoding="utf-8"))
        return
    if source is None or not model:
        _fail(S2SBenchError("give a SOURCE and --model (or --merge -o RESULTS)"))
    from s2sbench.devices import check_device
    from s2sbench.scorer.sweep import expand_models, sweep

    _run(quietly, output, lambda: check_device(device))  # before the items are read
    models = _run(quietly, output, lambda: expand_models(model))
    shard_pair = _run(quietly, output, lambda: parse_shard(shard) if shard else None)
    options = ScoreOptions(source=source, output=output, model=models[0], modes=tuple(m.strip() for m in modes.split(",") if m.strip()), adapter=adapter,
                           device=device, dtype=dtype, limit=limit, seed=seed, include_failed=include_failed, matched_prompts=matched_prompts,
                           config=config, split=split, lang=lang, shard=shard_pair, batch_size=batch_size, bos=bos, log_samples=log_samples,
                           s2s_codebooks=s2s_codebooks, trust_remote_code=trust_remote_code, prompt_style=prompt_style, revision=revision,
                           profile=str(profile) if profile else None)
    total = _run(quietly, output, lambda: sum(1 for _ in options.items()))  # reads every item: a bad one fails before the model loads
    if len(models) > 1:
        _run(quietly, output, lambda: sweep(options, models, progress=lambda name: typer.echo(f"scoring {name}", err=True)))
        typer.echo((output / "sweep.md").read_text(encoding="utf-8"))
        typer.echo(f"results: {output} (one directory per checkpoint, sweep.md, sweep.png)")
        return
    bar = _Progress(enabled=not quiet, unit="item", desc=f"score {','.join(options.modes)}")  # items/s and the ETA over every mode
    bar.start(total)
    started = time.perf_counter()
    _run(bar, output, lambda: run_score(options, progress=lambda done: bar.update(done, 0, 0), notify=lambda line: typer.echo(f"warning: {line}", err=True)))
    seconds = time.perf_counter() - started
    if (output / "summary.md").is_file() and (shard_pair or shard_from_environment())[0] == 0:  # one rank prints it: the others' is not theirs
        typer.echo((output / "summary.md").read_text(encoding="utf-8"))
    typer.echo(f"scored {total} item{'' if total == 1 else 's'} in {', '.join(options.modes)} in {seconds:.1f} s ({total / max(seconds, 1e-9):.2f} items/s, "
               "items already in the results included)")
    typer.echo(f"results: {output}")


@app.command()
def report(
    results: Annotated[list[Path], typer.Argument(metavar="RESULTS", help="Results directories made by s2s score.")],
    metric: Annotated[str, typer.Option("--metric", metavar="METRIC", help="acc (lowest mean NLL, S2SBench), pairwise_acc, acc_sum (highest summed log-likelihood, lm-eval's acc) or acc_bytes (per byte, lm-eval's acc_bytes).")] = "acc",
    plot: Annotated[Path | None, typer.Option("--plot", metavar="PNG", help="Also draw the metric per subset and mode, one bar per results directory, with 95% intervals and chance, to this PNG; and the degradation per breakdown bucket to PNG's NAME-breakdowns.png. With --curve: the metric and degradation against SNR, speed and room.")] = None,
    html_page: Annotated[Path | None, typer.Option("--html", metavar="HTML", help="Also write one self-contained page (no server, no network) with the tables, the figures and each run's summary.")] = None,
    curve: Annotated[bool, typer.Option("--curve", help="Results of a build and its variants (s2s augment): the metric and degradation against SNR, speed and room.")] = False,
    by: Annotated[str | None, typer.Option("--by", metavar="speech", help="speech: one model's results on builds of the same items spoken differently (engines, voices, people): each speech's degradation and each pair's difference, paired bootstrap 95% intervals.")] = None,
) -> None:
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
    if by is not None:
        from s2sbench.scorer.by_speech import speech_report

        if by != "speech":
            _fail(S2SBenchError(f"--by {by!r}: the one breakdown across runs is speech (--by speech)"))
        typer.echo(_run(_Progress(enabled=False), Path("."), lambda: speech_report(results, metric)))
        return
    if curve:
        from s2sbench.scorer.curve import curve_table, plot_curve

        typer.echo(_run(_Progress(enabled=False), Path("."), lambda: curve_table(results, metric)))
        if plot is not None:
            drawn = _run(_Progress(enabled=False), Path("."), lambda: plot_curve(results, plot, metric))
            typer.echo(f"plot: {drawn}" if drawn else "plot: matplotlib is not installed")
        return
    from s2sbench.scorer.compare import compare_results, html_report, plot_results

    typer.echo(_run(_Progress(enabled=False), Path("."), lambda: compare_results(results, metric)))
    if plot is not None:
        drawn = _run(_Progress(enabled=False), Path("."), lambda: plot_results(results, plot, metric))
        typer.echo("\n".join(f"plot: {path}" for path in drawn) if drawn else "plot: matplotlib is not installed")
    if html_page is not None:
        _run(_Progress(enabled=False), Path("."), lambda: html_report(results, html_page, metric))
        typer.echo(f"page: {html_page}")


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
def push(
    builds: Annotated[list[Path], typer.Argument(metavar="BUILD_DIR", help="Build directories; each subset becomes one config.")],
    repo: Annotated[str | None, typer.Option("--repo", metavar="OWNER/NAME", help="OWNER/NAME of the Hub dataset (created if missing).")] = None,
    to_dir: Annotated[Path | None, typer.Option("--to-dir", metavar="DIR", help="Write exactly what would be uploaded to this directory instead (no network).")] = None,
    layout: Annotated[str, typer.Option("--layout", metavar="hub|s2sbench", help="hub (parquet + card), or s2sbench: the original release's jsonl + wav folders (with --to-dir).")] = "hub",
    config_name: Annotated[str | None, typer.Option("--config-name", metavar="NAME", help="The config to write, when pushing a single subset (default: the subset's name).")] = None,
    split: Annotated[str, typer.Option("--split", metavar="SPLIT", help="Split name.")] = "test",
    include_failed: Annotated[bool, typer.Option("--include-failed", help="Also push items whose clips failed validation.")] = False,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private.")] = False,
    revision: Annotated[str | None, typer.Option("--revision", metavar="BRANCH", help="Branch to push to.")] = None,
    commit_message: Annotated[str | None, typer.Option("--commit-message", metavar="TEXT", help="Commit message.")] = None,
    max_shard_size: Annotated[str, typer.Option("--max-shard-size", metavar="SIZE", help="Largest parquet shard, e.g. 500MB.")] = "500MB",
    license: Annotated[str | None, typer.Option("--license", metavar="ID", help="Licence of the data: a Hub id (cc-by-4.0, ...), other (with --license-name/--license-link), or corpus (the source is the corpus its format names: its declared terms). Default: the one given at build time, else the one already published for the config. Required unless the source is a bundled sample or a Hub corpus (hf://juletxara/xstory_cloze, ...).")] = None,
    license_name: Annotated[str | None, typer.Option("--license-name", metavar="NAME", help="With --license other: the licence's name.")] = None,
    license_link: Annotated[str | None, typer.Option("--license-link", metavar="URL", help="With --license other: a URL of its terms.")] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Reload what was pushed and check rows and audio bytes.")] = True,
    allow_incomplete: Annotated[bool, typer.Option("--allow-incomplete", help="Publish a build whose last run did not finish (build.json status running or interrupted).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars (export, upload, verification).")] = False,
) -> None:
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
    if quiet:
        _silence_progress_bars()
    from s2sbench.publish import PushOptions
    from s2sbench.publish import push as run_push

    options = PushOptions(builds=builds, repo=repo, to_dir=to_dir, layout=layout, config=config_name, split=split, include_failed=include_failed,
                          private=private, revision=revision, commit_message=commit_message, max_shard_size=_parse_size(max_shard_size),
                          license=_license(license, license_name, license_link), verify=verify, allow_incomplete=allow_incomplete)
    result = _run(_Progress(enabled=False), to_dir or repo, lambda: run_push(options, notify=lambda line: typer.echo(line, err=True)))
    for exported in result.configs:
        typer.echo(f"  {exported.name}: {exported.rows} items")
    if result.directory is not None:
        typer.echo(f"exported to {result.directory}")
    elif result.commit is None:
        typer.echo(f"{repo}: nothing changed, no commit")
    else:
        typer.echo(f"pushed to {result.url} (commit {result.commit[:10]}){'; verified' if verify else ''}")


@app.command()
def pull(
    source: Annotated[str, typer.Argument(metavar="REPO[:CONFIG]", help="A Hub dataset OWNER/NAME made by s2s push, or an export folder, with the config to pull (needed when it has several).")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", help="The build directory to write (new, or an earlier pull of the same commit).")],
    revision: Annotated[str | None, typer.Option("--revision", metavar="REV", help="Of a Hub dataset: the branch, tag or commit (default: main).")] = None,
    split: Annotated[str, typer.Option("--split", metavar="SPLIT", help="Split to pull.")] = "test",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included.")] = False,
) -> None:
    """Turn a published dataset back into a build directory: items, clips byte for byte, build.json naming its origin.

    The pulled build can be validated, augmented, scored or pushed again; a re-export gives the
    published parquet bytes.

    \b
    Examples:
      s2s pull my-org/s2s-de:sStoryCloze -o builds/de
      s2s pull my-org/s2s-de:sStoryCloze --revision 3f2a9c1 -o builds/de-v1
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
    typer.echo(f"pulled {name} config {result.config} ({origin[:10]}) into {result.output}: {result.items} items, {result.clips} clips")


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
def adapters() -> None:
    """List the model adapters s2s score can use: their modes, and the config
    model_types that --adapter auto picks each for.

    \b
    Examples:
      s2s adapters
      s2s score builds/demo -m MODEL_DIR --adapter granite-speech
    """
    from s2sbench.scorer.adapters import adapter_infos

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
