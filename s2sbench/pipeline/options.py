"""What ``s2s build`` takes (:class:`BuildOptions`, :class:`RayOptions`) and tells (:class:`BuildSummary`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from s2sbench.licenses import DataLicense
from s2sbench.synth.postprocess import AudioOptions
from s2sbench.validate.asr import DEFAULT_WINDOW
from s2sbench.validate.records import DEFAULT_BATCH_SIZE

__all__ = ["DEFAULT_BATCH_SIZE", "EXECUTORS", "SPEAK_CHOICES", "BuildOptions", "BuildSummary", "RayOptions"]

SPEAK_CHOICES = ("context", "all")
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class RayOptions:
    """How the build uses a Ray cluster. Actor counts are autoscaling maxima (None: no limit)."""

    address: str | None = None  # "auto", "ray://host:10001", ...; None: RAY_ADDRESS or a local cluster
    tts_gpus: float = 0.0  # GPUs per TTS actor (fractions share a GPU)
    asr_gpus: float = 0.0  # GPUs per ASR actor
    tts_actors: int | None = None
    asr_actors: int | None = None
    cpus_per_actor: float | None = None  # default: 1, or less when the cluster is smaller than the pools


@dataclass
class BuildOptions:
    """Everything ``s2s build`` takes. Only ``source`` and ``output`` are required."""

    source: str
    output: Path | str  # a directory, or an fsspec URL (s3://bucket/builds/x) that workers can write
    format: str | None = None
    lang: str = "en"
    profile: str | None = None  # a profile file; default: the bundled profile of ``lang``
    subset: str | None = None
    column_map: str | None = None
    template: str | None = None
    # ENGINE[:MODEL], or several rotated over items (per-engine voices in ``voices`` as ENGINE=VOICE);
    # default: the profile's engine and model
    tts: str | list[str] | None = None
    voices: list[str] = field(default_factory=list)
    speak: str = "all"
    # None: the default finish (-23 LUFS), except that a build made before LUFS levelling, resumed,
    # keeps the audio options its build.json records (and so its clips)
    audio: AudioOptions | None = None
    limit: int | None = None
    seed: int | None = None
    skip_bad_rows: bool = False
    workers: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    device: str = "auto"
    validate: bool = True
    asr: str | None = None  # ENGINE:MODEL; default: the profile's
    asr_window: str = DEFAULT_WINDOW  # faster-whisper's window: "auto" (fits each clip) or "30"
    max_error: float | None = None  # default: the profile's threshold
    retries: int = 2
    executor: str = "local"  # or "ray"
    ray: RayOptions = field(default_factory=RayOptions)
    license: DataLicense | None = None  # the source text's licence, recorded in build.json for push
    recordings: str | None = None  # a folder of people's recordings (s2sbench.pipeline.recordings)
    recordings_only: bool = False  # build only the items with a recorded context


@dataclass
class BuildSummary:
    output: Path | str
    items: int  # items in the finished build
    items_added: int  # items written by this run
    clips_synthesized: int
    clips_reused: int
    duplicates: int
    skipped_rows: int
    subsets: dict[str, int]
    seconds: float
    clips_passed: int = 0
    clips_failed: int = 0
    items_failed: int = 0  # items with a clip that failed validation
    item_errors: int = 0  # items not built (an engine error), listed in failed.jsonl; a re-run retries them
    items_remade: int = 0  # items built before whose clips were missing or unreadable: made again
    notes: list[str] = field(default_factory=list)  # what the build decided that its user should know (one line each)
