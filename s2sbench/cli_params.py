"""The long commands' parameters, one row each: what ``s2s build``, ``score``, ``augment``, ``report``
and ``push`` take, with the help each prints.

Each table also makes the command's inputs, a frozen dataclass with one field per row (the table is
the one definition of both): a command in :mod:`s2sbench.cli` is decorated with :func:`takes` and its
inputs class; typer reads the class's table as the command's signature, and the command gets what the
user gave as one instance of the class (``given.lang``), so the command itself is its library call and
its output.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, make_dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from s2sbench.pipeline.options import DEFAULT_BATCH_SIZE
from s2sbench.synth.postprocess import AUDIO_FORMATS, DEFAULT_LOUDNESS_LUFS, LOUDNESS_RANGE
from s2sbench.validate.asr import DEFAULT_WINDOW

_REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    """One command-line parameter: its name, Python type, typer's Option or Argument, and default."""

    name: str
    type: Any
    info: Any  # typer.Option(...) or typer.Argument(...)
    default: Any = _REQUIRED


def inputs_of(name: str, params: Sequence[Param]) -> type:
    """The frozen dataclass of what the user gave a command: one field per row of ``params``, of the
    row's type. No field has a default: typer gives every one (the rows hold the defaults), and the
    class keeps its table as ``PARAMS`` for :func:`takes`."""
    inputs = make_dataclass(name, [(param.name, param.type) for param in params], frozen=True, kw_only=True)
    inputs.PARAMS = tuple(params)  # type: ignore[attr-defined]
    return inputs


def takes(inputs: type) -> Callable[[Callable[[Any], None]], Callable[..., None]]:
    """Give the decorated ``command(given)`` the signature of ``inputs``' table (what typer reads:
    options, help, defaults, order) and call it with the values as one instance of ``inputs``."""
    params: Sequence[Param] = inputs.PARAMS  # type: ignore[attr-defined]

    def decorate(command: Callable[[Any], None]) -> Callable[..., None]:
        @functools.wraps(command)
        def run(**given: Any) -> None:
            return command(inputs(**given))

        run.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
            inspect.Parameter(param.name, inspect.Parameter.KEYWORD_ONLY, default=param.default, annotation=Annotated[param.type, param.info])
            for param in params
        ])
        return run

    return decorate


AUGMENT = (
    Param('build_dir', Path, typer.Argument(metavar="BUILD_DIR", help="A build directory made by s2s build.")),
    Param('output', Path, typer.Option("--output", "-o", metavar="DIR", help="Where the variants go: one build directory each (snr20, speed0.9, ...).")),
    Param('noise_snr', str | None, typer.Option("--noise-snr", metavar="DB,DB,...", help="Noise variants at these signal-to-noise ratios, in dB."), None),
    Param('speed', str | None, typer.Option("--speed", metavar="F,F,...", help="Tempo variants: these speed factors, the pitch kept."), None),
    Param('reverb', str | None, typer.Option("--reverb", metavar="ROOM,...", help="Reverberation variants: the clips heard in these rooms (small, medium, large)."), None),
    Param('noise', str, typer.Option("--noise", metavar="white|pink|babble", help="The generated noise: white, pink, or babble made of the build's own clips."), "white"),
    Param('noise_dir', Path | None, typer.Option("--noise-dir", metavar="DIR", help="Real noise recordings (wav, flac, ogg, mp3) to mix in instead."), None),
    Param('seed', int, typer.Option("--seed", metavar="N", help="Seed of the noise: the same seed gives the same bytes."), 0),
    Param('include_failed', bool, typer.Option("--include-failed", help="Also the items whose clips failed the parent's validation."), False),
    Param('validate', bool, typer.Option("--validate/--no-validate", help="Recognize every variant clip and write its validation report."), True),
    Param('asr', str | None, typer.Option("--asr", metavar="ENGINE:MODEL", help="ENGINE:MODEL for validation. Default: the profile's."), None),
    Param('device', str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N, for the recognizer."), "auto"),
    Param('quiet', bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included."), False),
)


SCORE = (
    Param('source', str | None, typer.Argument(metavar="SOURCE", help="A build directory, a `push --to-dir` export, a Hub dataset id (OWNER/NAME), or an S2SBench release jsonl."), None),
    Param('model', list[str] | None, typer.Option("--model", "-m", metavar="MODEL", help="A hub id, a local directory, a .gguf file, or cascade:ASR_ENGINE:ASR_MODEL+LM. A glob or several --model: a checkpoint sweep."), None),
    Param('output', Path, typer.Option("--output", "-o", metavar="DIR", help="The results directory (resumed if it exists)."), Path("results")),
    Param('modes', str, typer.Option("--modes", metavar="MODES", help="Comma-separated: t2t (text context), s2t (spoken context), s2s (spoken context and candidates; adapters that score speech: moshi, the cascade)."), "t2t,s2t"),
    Param('adapter', str, typer.Option("--adapter", metavar="NAME", help="Model adapter; auto picks from the model's config. See `s2s adapters`."), "auto"),
    Param('device', str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N."), "auto"),
    Param('dtype', str, typer.Option("--dtype", metavar="DTYPE", help="auto (bfloat16 on GPU, float32 on CPU), float32, bfloat16, float16."), "auto"),
    Param('limit', int | None, typer.Option("--limit", metavar="N", help="Score N items, spread over the subsets in proportion (each subset's first, or a seeded sample with --seed).", min=1), None),
    Param('seed', int | None, typer.Option("--seed", metavar="N", help="With --limit: a deterministic random sample in each subset."), None),
    Param('include_failed', bool, typer.Option("--include-failed", help="Also score items whose clips failed validation."), False),
    Param('matched_prompts', bool, typer.Option("--matched-prompts", help="Use the speech prefix in t2t too, so the modes differ only in modality."), False),
    Param('config', str | None, typer.Option("--config", metavar="CONFIG", help="Config of a dataset source (Hub id or export directory)."), None),
    Param('split', str, typer.Option("--split", metavar="SPLIT", help="Split of a dataset source."), "test"),
    Param('lang', str, typer.Option("--lang", metavar="CODE", help="Language of a release jsonl source (selects the prompt profile)."), "en"),
    Param('shard', str | None, typer.Option("--shard", metavar="K/N", help="K/N: the K-th of N shards, counted from 1 (1/4 ... 4/4): every N-th item. Default: RANK/WORLD_SIZE from torchrun, or SLURM."), None),
    Param('merge', bool, typer.Option("--merge", help="Only write the summary of the shards in --output (all must have finished)."), False),
    Param('allow_partial', bool, typer.Option("--allow-partial", help="With --merge: summarize the shards that finished even if some are missing."), False),
    Param('batch_size', int, typer.Option("--batch-size", metavar="N", help="Items per forward pass, for adapters that batch across items.", min=1), 8),
    Param('log_samples', bool, typer.Option("--log-samples", help="Also write samples.jsonl: per item and mode, the exact text scored (the cascade's transcripts) and the scores."), False),
    Param('bos', str, typer.Option("--bos", metavar="auto|always|never", help="What starts each scored sequence: auto, the tokens the model's tokenizer adds (lm-eval's default); always a BOS token; never."), "auto"),
    Param('trust_remote_code', bool, typer.Option("--trust-remote-code", help="Run the model's own code from its checkpoint (remote-code families); only for checkpoints you trust."), False),
    Param('prompt_style', str, typer.Option("--prompt-style", metavar="raw|chat", help="raw: S2SBench's wording; chat: the context as the user's turn of the model's chat template, each candidate as its reply."), "raw"),
    Param('s2s_codebooks', str, typer.Option("--s2s-codebooks", metavar="semantic|all", help="s2s on codec codes (moshi): score each spoken candidate frame's semantic codebook (codebook 0), or all its codebooks."), "semantic"),
    Param('revision', str | None, typer.Option("--revision", metavar="REV", help="Of a Hub dataset: the branch, tag or commit to score (default: main); its commit is recorded in run.json."), None),
    Param('profile', Path | None, typer.Option("--profile", metavar="FILE", help="Score with this profile's prompts instead of the task the source publishes (a warning names what differs)."), None),
    Param('quiet', bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included."), False),
)


REPORT = (
    Param('results', list[Path], typer.Argument(metavar="RESULTS", help="Results directories made by s2s score.")),
    Param('metric', str, typer.Option("--metric", metavar="METRIC", help="acc (lowest mean NLL, S2SBench), pairwise_acc, acc_sum (highest summed log-likelihood, lm-eval's acc) or acc_bytes (per byte, lm-eval's acc_bytes)."), "acc"),
    Param('plot', Path | None, typer.Option("--plot", metavar="PNG", help="Also draw the metric per subset and mode, one bar per results directory, with 95% intervals and chance, to this PNG; and the degradation per breakdown bucket to PNG's NAME-breakdowns.png. With --curve: the metric and degradation against SNR, speed and room."), None),
    Param('html_page', Path | None, typer.Option("--html", metavar="HTML", help="Also write one self-contained page (no server, no network) with the tables, the figures and each run's summary."), None),
    Param('curve', bool, typer.Option("--curve", help="Results of a build and its variants (s2s augment): the metric and degradation against SNR, speed and room."), False),
    Param('by', str | None, typer.Option("--by", metavar="speech", help="speech: one model's results on builds of the same items spoken differently (engines, voices, people): each speech's degradation and each pair's difference, paired bootstrap 95% intervals."), None),
)


PUSH = (
    Param('builds', list[Path], typer.Argument(metavar="BUILD_DIR", help="Build directories; each subset becomes one config.")),
    Param('repo', str | None, typer.Option("--repo", metavar="OWNER/NAME", help="OWNER/NAME of the Hub dataset (created if missing)."), None),
    Param('to_dir', Path | None, typer.Option("--to-dir", metavar="DIR", help="Write exactly what would be uploaded to this directory instead (no network)."), None),
    Param('layout', str, typer.Option("--layout", metavar="hub|s2sbench", help="hub (parquet + card), or s2sbench: the original release's jsonl + wav folders (with --to-dir)."), "hub"),
    Param('config_name', str | None, typer.Option("--config-name", metavar="NAME", help="The config to write, when pushing a single subset (default: the subset's name)."), None),
    Param('split', str, typer.Option("--split", metavar="SPLIT", help="Split name."), "test"),
    Param('include_failed', bool, typer.Option("--include-failed", help="Also push items whose clips failed validation."), False),
    Param('private', bool, typer.Option("--private", help="Create the repo private."), False),
    Param('revision', str | None, typer.Option("--revision", metavar="BRANCH", help="Branch to push to."), None),
    Param('commit_message', str | None, typer.Option("--commit-message", metavar="TEXT", help="Commit message."), None),
    Param('tag', str | None, typer.Option("--tag", metavar="TAG", help="Tag the pushed commit (e.g. v1.0), so that `s2s pull --revision v1.0` and `s2s score --revision v1.0` read this release."), None),
    Param('max_shard_size', str, typer.Option("--max-shard-size", metavar="SIZE", help="Largest parquet shard, e.g. 500MB."), "500MB"),
    Param('license', str | None, typer.Option("--license", metavar="ID", help="Licence of the data: a Hub id (cc-by-4.0, ...), other (with --license-name/--license-link), or corpus (the source is the corpus its format names: its declared terms). Default: the one given at build time, else the one already published for the config. Required unless the source is a bundled sample or a Hub corpus (hf://juletxara/xstory_cloze, ...)."), None),
    Param('license_name', str | None, typer.Option("--license-name", metavar="NAME", help="With --license other: the licence's name."), None),
    Param('license_link', str | None, typer.Option("--license-link", metavar="URL", help="With --license other: a URL of its terms."), None),
    Param('verify', bool, typer.Option("--verify/--no-verify", help="Reload what was pushed and check rows and audio bytes."), True),
    Param('allow_incomplete', bool, typer.Option("--allow-incomplete", help="Publish a build whose last run did not finish (build.json status running or interrupted)."), False),
    Param('quiet', bool, typer.Option("--quiet", "-q", help="No progress bars (export, upload, verification)."), False),
)
BUILD = (
    Param('source', str, typer.Argument(metavar="SOURCE", help="A file or directory, sample:LANG (bundled sample), or hf://owner/name[:config[:split]].")),
    Param('output', str, typer.Option("--output", "-o", metavar="DIR|URL", help="The build directory to write (created; resumed if it exists), or an fsspec URL such as s3://bucket/builds/sc.")),
    Param('format', str | None, typer.Option("--format", "-f", metavar="FORMAT", help="Source format (see `s2s formats`); sniffed from the columns when unambiguous."), None),
    Param('lang', str, typer.Option("--lang", "-l", metavar="CODE", help="Language code of the source text; selects the bundled language profile."), "en"),
    Param('profile', Path | None, typer.Option("--profile", metavar="FILE", help="A language profile TOML file to use instead of the bundled one."), None),
    Param('subset', str | None, typer.Option("--subset", metavar="NAME", help="Subset name for every item (default: the format's, e.g. sStoryCloze)."), None),
    Param('column_map', str | None, typer.Option("--map", metavar="SPEC", help="For csv/jsonl: context=COL,candidates=COL1|COL2|...,answer=COL[,subset=COL][,id=COL]."), None),
    Param('template', str | None, typer.Option("--template", metavar="TEXT", help="For question sources: continuation template with {option}, {letter}, {question}."), None),
    Param('tts', list[str] | None, typer.Option("--tts", metavar="ENGINE[:MODEL]", help="ENGINE[:MODEL]: espeak, kokoro (Kokoro-82M, offline) or kokoro:MODEL.onnx, coqui:MODEL_NAME_OR_DIR, piper:VOICE. Given more than once (--tts espeak --tts piper), the engines are rotated over items like voices. Default: the profile's."), None),
    Param('voice', str | None, typer.Option("--voice", metavar="VOICE", help="One voice or speaker for every clip (with several --tts: ENGINE=VOICE)."), None),
    Param('voices', str | None, typer.Option("--voices", metavar="V1,V2,...", help="Comma-separated voices rotated over items (stable per item); with several --tts, each as ENGINE=VOICE (an engine without one speaks the profile's)."), None),
    Param('speak', str, typer.Option("--speak", metavar="context|all", help="What to speak: 'context', or 'all' (context and every candidate)."), "all"),
    Param('sample_rate', int | None, typer.Option("--sample-rate", metavar="HZ", help="Sample rate of the clips, Hz. Default: 16000."), None),
    Param('audio_format', str | None, typer.Option("--audio-format", metavar="wav|flac", help=f"Clip format: {', '.join(AUDIO_FORMATS)}. Default: wav."), None),
    Param('loudness_lufs', float | None, typer.Option("--loudness-lufs", metavar="LUFS", help=f"Integrated loudness (ITU-R BS.1770) every clip is levelled to, peaks kept under -1 dBFS; from {LOUDNESS_RANGE[0]:g} to {LOUDNESS_RANGE[1]:g}. Default: {DEFAULT_LOUDNESS_LUFS:g} (EBU R 128); a build levelled before LUFS keeps its level when resumed without an audio option."), None),
    Param('limit', int | None, typer.Option("--limit", metavar="N", help="Build at most N items (the first N, or a seeded sample with --seed).", min=1), None),
    Param('seed', int | None, typer.Option("--seed", metavar="N", help="With --limit: draw a deterministic random sample with this seed."), None),
    Param('skip_bad_rows', bool, typer.Option("--skip-bad-rows", help="Record malformed rows in build.json and go on, instead of stopping."), False),
    Param('workers', int, typer.Option("--workers", "-j", metavar="N", help="Worker processes for synthesis.", min=1), 1),
    Param('device', str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N, for engines that use a GPU."), "auto"),
    Param('validate', bool, typer.Option("--validate/--no-validate", help="Check every clip by an ASR round trip (and signal checks)."), True),
    Param('asr', str | None, typer.Option("--asr", metavar="ENGINE:MODEL", help="ENGINE:MODEL for validation: faster-whisper:MODEL_OR_DIR or transformers:MODEL. Default: the profile's."), None),
    Param('asr_window', str, typer.Option("--asr-window", metavar="auto|30", help="faster-whisper's window: auto (each clip of up to 30 s encoded in a window that fits it, 10/15/20/30 s; a clip failing on its transcript is heard again at 30 s) or 30 (every clip padded to 30 s)."), DEFAULT_WINDOW),
    Param('max_error', float | None, typer.Option("--max-error", metavar="RATE", help="Largest WER/CER a clip may have and pass. Default: the profile's."), None),
    Param('retries', int, typer.Option("--retries", metavar="N", help="Re-synthesize a failing clip up to N times (next voice, seed, speaking rate).", min=0), 2),
    Param('recordings', Path | None, typer.Option("--recordings", metavar="DIR", help="People's recordings to use instead of the TTS: DIR/ITEM-ID/context.wav and candidate-K.wav (speaker in DIR/speaker.txt), or DIR/recordings.csv (id,part,path,speaker); written by s2s record."), None),
    Param('recordings_only', bool, typer.Option("--recordings-only", help="With --recordings: build only the items whose context was recorded."), False),
    Param('license', str | None, typer.Option("--license", metavar="ID", help="Licence of the source's text (a Hub id: cc-by-4.0, mit, ..., other, or corpus: the file is the corpus its format names), recorded for `s2s push`. A format is a layout: its corpus's terms are never assumed for a local file.", rich_help_panel="Licence"), None),
    Param('license_name', str | None, typer.Option("--license-name", metavar="NAME", help="With --license other: the licence's name.", rich_help_panel="Licence"), None),
    Param('license_link', str | None, typer.Option("--license-link", metavar="URL", help="With --license other: a URL of its terms.", rich_help_panel="Licence"), None),
    Param('quiet', bool, typer.Option("--quiet", "-q", help="No progress bars, the libraries' included."), False),
    Param('executor', str, typer.Option("--executor", metavar="local|ray", help="local (this machine, --workers processes) or ray (a Ray cluster; extra s2sbench[ray]).", rich_help_panel="Executor"), "local"),
    Param('ray_address', str | None, typer.Option("--ray-address", metavar="ADDRESS", help="Ray cluster to join: auto, ray://HOST:10001, ... Default: RAY_ADDRESS, else a local cluster.", rich_help_panel="Executor"), None),
    Param('tts_gpus', float, typer.Option("--tts-gpus", metavar="GPUS", help="GPUs per TTS actor on Ray (0.5: two actors share a GPU).", min=0, rich_help_panel="Executor"), 0.0),
    Param('asr_gpus', float, typer.Option("--asr-gpus", metavar="GPUS", help="GPUs per ASR actor on Ray.", min=0, rich_help_panel="Executor"), 0.0),
    Param('tts_actors', int | None, typer.Option("--tts-actors", metavar="N", help="Most TTS actors on Ray (autoscaling from 1; default: what the cluster fits).", min=1, rich_help_panel="Executor"), None),
    Param('asr_actors', int | None, typer.Option("--asr-actors", metavar="N", help="Most ASR actors on Ray.", min=1, rich_help_panel="Executor"), None),
    Param('cpus_per_actor', float | None, typer.Option("--cpus-per-actor", metavar="CPUS", help="CPUs reserved per Ray actor (default: 1, less on a cluster smaller than the pools).", min=0, rich_help_panel="Executor"), None),
    Param('batch_size', int, typer.Option("--batch-size", "--ray-batch-size", metavar="N", help="Items per batch: the recognizer hears a batch's new clips in one call; on Ray, what an actor gets at a time. Any size gives the same build.", min=1, rich_help_panel="Executor"), DEFAULT_BATCH_SIZE),
)


# What each command takes, typed: a frozen dataclass made from its table.
AugmentInputs = inputs_of("AugmentInputs", AUGMENT)
ScoreInputs = inputs_of("ScoreInputs", SCORE)
ReportInputs = inputs_of("ReportInputs", REPORT)
PushInputs = inputs_of("PushInputs", PUSH)
BuildInputs = inputs_of("BuildInputs", BUILD)
