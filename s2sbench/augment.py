"""``s2s augment BUILD -o OUT``: robustness variants of a build, made from its clips.

How much worse does a speech LM do when the same questions are heard through noise, or spoken
faster or slower? A variant answers that without synthesizing anything again: every clip of the
parent build goes through one transform of a kept augmentation library (audiomentations, MIT) and
the result is an ordinary build directory under ``OUT``, named by its transform:

- ``snr20``, ``snr0``, ``snr-5``: white noise at that signal-to-noise ratio, in dB
  (``AddGaussianSNR``); ``snr10-pink`` pink noise (``AddColorNoise``, -3.01 dB per octave);
  ``snr10-babble`` babble, several other clips of the same build spoken at once
  (``AddBackgroundNoise`` over a babble track kept in the variant's ``noise/``); ``snr10-noise``
  real noise recordings from ``--noise-dir`` (``AddBackgroundNoise``).
- ``speed0.9``, ``speed1.1``: the tempo scaled by that factor, the pitch kept (``TimeStretch``,
  Signalsmith Stretch).
- ``reverb-small``, ``reverb-medium``, ``reverb-large``: the clip heard in one of :data:`ROOMS`, a
  shoebox of fixed size, reverberation time and talker and microphone placement
  (``RoomSimulator``: pyroomacoustics' image sources and ray tracing). The room's impulse response
  is computed once per variant under a generator seeded by the seed and the room.

A variant has the parent's items (same ids, texts and answers; by default the ones the parent
publishes, all of them with ``include_failed``), its own clips (``audio/``, content-addressed by
the parent clip's bytes, the transform, the seed and the library's version), a ``build.json`` that
copies the parent's and adds ``augment``: the parent, the transform, the seed and the library
version; and its own validation: the recognizer is run on the variant's clips with the existing
machinery (:func:`s2sbench.validate.revalidate.validate_build`), so ``validation.json`` holds the
ASR error at that SNR or speed (``mean_error``). Its verdicts measure the transform: they do not
gate the variant's items (``s2s push`` and ``s2s score`` keep all of them, so every variant of a
parent has the same items).

Each clip's noise is drawn from a generator seeded by the clip's key, so the same seed gives the
same bytes in any order, and a run killed at any point (clips are written atomically) is completed
by the next one with the bytes an uninterrupted run makes. A variant whose ``build.json`` records
the same parent items, transform, seed, library and recognizer, and whose clips are all there, is
left as it is: a re-run writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from s2sbench._io import DirectoryLock, file_sha256, parse_json, remove_temporary_files, write_atomic, write_lines_atomic
from s2sbench.builddir import BuildDirectory
from s2sbench.errors import EngineError, S2SBenchError
from s2sbench.items import Item, name_problem
from s2sbench.storage import ClipStore
from s2sbench.synth.clips import clip_key, clip_relative_path
from s2sbench.synth.postprocess import AudioOptions, encode, finish, to_float_mono
from s2sbench.versions import package_versions

NOISES = ("white", "pink", "babble")
NOISE_DIR_KIND = "noise"  # what --noise-dir's variants are called: snr10-noise
NOISE_FILES = (".wav", ".flac", ".ogg", ".mp3")
PINK_DECAY_DB_PER_OCTAVE = -3.01  # audiomentations' table of noise colours
BABBLE_VOICES = 4  # clips spoken at once in a babble track: a crowd, not one talker to follow
PEAK = 0.99  # a noisy clip louder than full scale is scaled under it, never clipped
AUGMENT_FORMAT = 1
ROOM_ISM_ORDER = 3  # image sources up to 3 reflections, ray tracing for the tail (pyroomacoustics' hybrid)
ROOM_PADDING = 0.1  # m: RoomSimulator's least distance of talker and microphone from the walls
ROOM_RT60_DECAY_DB = 30  # the measured RT60 is T30 (the fit over -5 to -35 dB), extrapolated to 60 dB


@dataclass(frozen=True)
class Room:
    """A shoebox room to hear the clips in. Fixed values, not ranges: every clip of a variant hears
    the same room, and the walls' absorption is the one Sabine's formula gives for ``rt60``."""

    name: str
    size: tuple[float, float, float]  # width, depth, height, m
    rt60: float  # the reverberation time asked of the walls, s
    source: tuple[float, float, float]  # the talker's mouth, m from the corner
    mic_distance: float  # the microphone this far in front of the talker (along the depth), m
    what: str

    def __post_init__(self) -> None:
        # RoomSimulator would move a talker or microphone outside the walls back inside without a
        # word (to ROOM_PADDING from them): a room that says where they are must hold them.
        (x, y, z), (sx, sy, sz) = self.size, self.source
        mic_y = sy + self.mic_distance
        inside = all(ROOM_PADDING <= at <= side - ROOM_PADDING for at, side in ((sx, x), (sy, y), (sz, z), (mic_y, y)))
        if not inside:
            raise ValueError(f"room {self.name}: the talker or the microphone is within {ROOM_PADDING} m of a wall or outside")

    def as_dict(self) -> dict[str, Any]:
        return {"room": self.name, "size_m": list(self.size), "rt60_s": self.rt60, "source_m": list(self.source),
                "mic_distance_m": self.mic_distance, "ism_order": ROOM_ISM_ORDER, "ray_tracing": True}


# The talker faces the microphone at mouth height, farther in a larger room: 1 m across an office
# desk, 2 m in a classroom, 4 m from a hall's microphone.
ROOMS = {room.name: room for room in (
    Room("small", (4.0, 3.5, 2.7), 0.3, (2.0, 1.2, 1.6), 1.0, "an office"),
    Room("medium", (8.0, 6.0, 3.2), 0.7, (4.0, 2.0, 1.6), 2.0, "a classroom"),
    Room("large", (20.0, 15.0, 8.0), 1.5, (10.0, 4.0, 1.7), 4.0, "a hall"),
)}


@dataclass(frozen=True)
class Transform:
    """One variant's transform: noise at ``value`` dB SNR, a tempo factor ``value``, or a room."""

    kind: str  # "noise", "speed" or "reverb"
    value: float  # reverb: the room's RT60
    noise: str | None = None  # white, pink, babble or noise (files from --noise-dir)
    room: Room | None = None

    @property
    def name(self) -> str:
        """The variant's directory and config suffix: snr20, snr0-pink, speed0.9, reverb-large."""
        if self.kind == "reverb" and self.room is not None:
            return f"reverb-{self.room.name}"
        if self.kind == "speed":
            return f"speed{self.value:g}"
        return f"snr{self.value:g}" + ("" if self.noise == "white" else f"-{self.noise}")

    def as_dict(self) -> dict[str, Any]:
        if self.kind == "reverb" and self.room is not None:
            return {"kind": "reverb", **self.room.as_dict(), "name": self.name, "library": "audiomentations.RoomSimulator"}
        if self.kind == "speed":
            return {"kind": "speed", "factor": self.value, "name": self.name, "library": "audiomentations.TimeStretch"}
        library = {"white": "AddGaussianSNR", "pink": "AddColorNoise"}.get(self.noise or "", "AddBackgroundNoise")
        return {"kind": "noise", "noise": self.noise, "snr_db": self.value, "name": self.name, "library": f"audiomentations.{library}"}


@dataclass
class AugmentOptions:
    """What ``s2s augment`` takes."""

    build: Path
    output: Path
    noise_snr: tuple[float, ...] = ()  # dB; one variant each
    speed: tuple[float, ...] = ()  # tempo factors; one variant each
    reverb: tuple[str, ...] = ()  # names of ROOMS; one variant each
    noise: str = "white"  # white, pink or babble; ignored with noise_dir
    noise_dir: Path | None = None  # real noise recordings (wav, flac, ogg, mp3)
    seed: int = 0
    include_failed: bool = False  # also the parent's items that failed validation
    validate: bool = True
    asr: str | None = None  # ENGINE:MODEL; default: the profile's
    device: str = "auto"
    recognizer: Any = None  # a loaded recognizer to use instead of loading ``asr`` (library callers)

    def transforms(self) -> list[Transform]:
        if not self.noise_snr and not self.speed and not self.reverb:
            raise S2SBenchError("give --noise-snr, --speed and/or --reverb: nothing to make")
        noise = NOISE_DIR_KIND if self.noise_dir is not None else self.noise
        if noise not in (*NOISES, NOISE_DIR_KIND):
            raise S2SBenchError(f"--noise must be one of {', '.join(NOISES)}, not {self.noise!r}")
        for factor in self.speed:
            if not 0.25 <= factor <= 4:
                raise S2SBenchError(f"--speed {factor:g}: a tempo factor between 0.25 and 4")
        for snr in self.noise_snr:
            if not -30 <= snr <= 100:
                raise S2SBenchError(f"--noise-snr {snr:g}: an SNR in dB between -30 and 100")
        for room in self.reverb:
            if room not in ROOMS:
                raise S2SBenchError(f"--reverb {str(room)[:40]!r}: a room is one of {', '.join(ROOMS)}")
        found = [Transform("noise", float(snr), noise) for snr in self.noise_snr] + [Transform("speed", float(f)) for f in self.speed]
        found += [Transform("reverb", ROOMS[room].rt60, room=ROOMS[room]) for room in self.reverb]
        names = [t.name for t in found]
        for name in names:
            if problem := name_problem(name):
                raise S2SBenchError(f"variant name: {problem}")
        if len(set(names)) != len(names):
            raise S2SBenchError(f"a variant is asked for twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
        return found


@dataclass
class VariantResult:
    name: str
    path: Path
    items: int
    clips_made: int
    clips_reused: int
    mean_error: float | None  # mean ASR error over the variant's clips (None: not validated)
    median_error: float | None = None
    clips_passed: int = 0
    clips_checked: int = 0
    unchanged: bool = False  # a re-run that found the variant complete and wrote nothing
    errors_by_subset: dict[str, float] = field(default_factory=dict)


def _library() -> tuple[Any, str]:
    try:
        import audiomentations
    except ImportError:
        raise EngineError("s2s augment needs audiomentations: pip install 's2sbench[augment]'") from None
    return audiomentations, audiomentations.__version__


def _room_library() -> tuple[Any, str]:
    try:
        import pyroomacoustics
    except ImportError:
        raise EngineError("s2s augment --reverb needs pyroomacoustics: pip install 's2sbench[augment]'") from None
    return pyroomacoustics, pyroomacoustics.__version__


def _versions(transform: Transform, version: str) -> dict[str, str]:
    """The libraries a clip of ``transform`` depends on, for its key (noise and speed keep their
    keys of before reverberation: only audiomentations)."""
    found = {"audiomentations": version}
    if transform.kind == "reverb":
        found["pyroomacoustics"] = _room_library()[1]
    return found


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """audiomentations draws from Python's and NumPy's global generators: seed both for one clip,
    then give them back as they were (other code in this process may rely on them)."""
    state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        random.setstate(state)
        np.random.set_state(np_state)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_clip(clip: Path | bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(clip) if isinstance(clip, bytes) else str(clip), dtype="float32", always_2d=False)
    return to_float_mono(samples), int(rate)


def _noise_files(directory: Path) -> list[Path]:
    """Every audio file under ``directory``, in a fixed order (the seeded pick depends on it)."""
    if not directory.is_dir():
        raise S2SBenchError(f"--noise-dir {directory}: not a directory")
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in NOISE_FILES)
    if not files:
        raise S2SBenchError(f"--noise-dir {directory}: no audio file ({', '.join(NOISE_FILES)})")
    return files


@dataclass
class _Noise:
    """The noise recordings of one variant (babble tracks or --noise-dir files) and their identity."""

    files: list[Path]
    identity: list[str]  # sha256 of each file: part of every clip's key
    sources: list[set[str]] = field(default_factory=list)  # babble: the clips each track is made of

    def files_for(self, parent_clip: str) -> list[Path]:
        """Babble never holds the clip it is mixed into: a clip in a track's sources gets the other track."""
        if not self.sources:
            return self.files
        return [track for track, made_of in zip(self.files, self.sources) if parent_clip not in made_of][:1] or self.files[:1]


def _babble(parent: BuildDirectory, variant: Path, audio: AudioOptions) -> _Noise:
    """Two babble tracks, each ``BABBLE_VOICES`` context clips of the parent summed at equal level
    (the first clips in file order: a babble track is a recording, not a transform; the transform is
    AddBackgroundNoise). Written to the variant's ``noise/`` so the variant says what it heard."""
    chosen: list[tuple[str, np.ndarray]] = []
    for number, item in parent.iter_numbered_items():
        if item.audio is None:
            continue
        path = parent.clip_paths(item, f"{parent.items_path}:{number}")[0]
        samples, _ = _read_clip(path)
        if np.sqrt(np.mean(samples**2)) > 1e-4:
            chosen.append((item.audio["context"], samples))
        if len(chosen) == 2 * BABBLE_VOICES:
            break
    if len(chosen) < 2:
        raise S2SBenchError(f"{parent.root}: babble needs at least two spoken context clips")
    half = len(chosen) // 2
    files, identity, sources = [], [], []
    for group in (chosen[:half], chosen[half:]):
        length = max(len(samples) for _, samples in group)
        # Each voice repeated to the longest one's length, at unit RMS, so none dominates the crowd.
        track = sum(np.resize(samples / np.sqrt(np.mean(samples**2)), length) for _, samples in group)
        track = track / np.max(np.abs(track)) * 0.5
        data = encode(track.astype(np.float32), audio)
        relative = f"noise/babble-{_digest(data)[:16]}.{audio.format}"
        if not (variant / relative).is_file():
            write_atomic(variant / relative, data)
        files.append(variant / relative)
        identity.append(_digest(data))
        sources.append({path for path, _ in group})
    return _Noise(files, identity, sources)


def _noise(transform: Transform, options: AugmentOptions, parent: BuildDirectory, variant: Path, audio: AudioOptions) -> _Noise | None:
    if transform.kind != "noise" or transform.noise in ("white", "pink"):
        return None
    if transform.noise == "babble":
        return _babble(parent, variant, audio)
    files = _noise_files(Path(options.noise_dir))
    return _Noise(files, [_digest(path.read_bytes()) for path in files])


class _Reverb:
    """One room's RoomSimulator with its impulse response computed once per sample rate: every clip
    of a variant hears the same room (RoomSimulator alone would simulate it again for each clip)."""

    def __init__(self, room: Room, seed: int):
        self.room, self.seed = room, seed
        self.steps: dict[int, Any] = {}

    def step(self, rate: int) -> Any:
        if rate not in self.steps:
            self.steps[rate] = self._simulate(rate)
        return self.steps[rate]

    def _simulate(self, rate: int) -> Any:
        library, _ = _library()
        pra, _ = _room_library()
        room = self.room
        (x, y, z), (sx, sy, sz), distance = room.size, room.source, room.mic_distance
        # Every range collapsed to the room's value; azimuth and elevation 0: the microphone is
        # ``distance`` in front of the mouth along the depth, at its height.
        step = library.RoomSimulator(
            min_size_x=x, max_size_x=x, min_size_y=y, max_size_y=y, min_size_z=z, max_size_z=z,
            calculation_mode="rt60", min_target_rt60=room.rt60, max_target_rt60=room.rt60,
            min_source_x=sx, max_source_x=sx, min_source_y=sy, max_source_y=sy, min_source_z=sz, max_source_z=sz,
            min_mic_distance=distance, max_mic_distance=distance, min_mic_azimuth=0.0, max_mic_azimuth=0.0,
            min_mic_elevation=0.0, max_mic_elevation=0.0, max_order=ROOM_ISM_ORDER, use_ray_tracing=True,
            leave_length_unchanged=False, padding=ROOM_PADDING, p=1.0)
        seed = int(clip_key({"room": room.as_dict(), "seed": self.seed, "sample_rate": rate})[:16], 16)
        with _seeded(seed):
            # The ray tracer draws from pyroomacoustics' own generators (NumPy's and libroom's C++
            # one), unseeded by default: the same seed would give other bytes in every process.
            pra.random.seed(numpy=seed, libroom=seed)
            step.randomize_parameters(np.zeros(rate, dtype=np.float32), rate)
        step.freeze_parameters()
        return step

    def measured(self, rate: int) -> dict[str, float]:
        """The impulse response's length and its RT60 as pyroomacoustics measures it (T30)."""
        pra, _ = _room_library()
        response = np.asarray(self.step(rate).room.rir[0][0], dtype=np.float64)
        rt60 = pra.experimental.measure_rt60(response, fs=rate, decay_db=ROOM_RT60_DECAY_DB)
        return {"sample_rate": rate, "seconds": round(len(response) / rate, 4), "measured_rt60_s": round(float(rt60), 3)}


def _apply(transform: Transform, samples: np.ndarray, rate: int, noise_files: list[Path], reverb: _Reverb | None = None,
           audio: AudioOptions | None = None) -> np.ndarray:
    """The clip through the transform's audiomentations class (under a seeded generator)."""
    library, _ = _library()
    if transform.kind == "reverb" and reverb is not None:
        result = np.asarray(reverb.step(rate)(samples=samples, sample_rate=rate), dtype=np.float32)
        # Finished as the build finishes its clips: the room changes the level (the direct sound falls
        # with the distance), and the impulse response runs on far under what the build calls silence
        # (trim_below_db under the peak), which validation would flag as trailing silence. Levelled
        # and trimmed like the parent's clips, the variant differs from them by the reverberation.
        return finish(result, rate, AudioOptions(**{**(audio or AudioOptions()).as_dict(), "sample_rate": rate}))
    if transform.kind == "speed":
        step = library.TimeStretch(min_rate=transform.value, max_rate=transform.value, leave_length_unchanged=False, p=1.0)
    elif transform.noise == "white":
        step = library.AddGaussianSNR(min_snr_db=transform.value, max_snr_db=transform.value, p=1.0)
    elif transform.noise == "pink":
        step = library.AddColorNoise(min_snr_db=transform.value, max_snr_db=transform.value, min_f_decay=PINK_DECAY_DB_PER_OCTAVE,
                                     max_f_decay=PINK_DECAY_DB_PER_OCTAVE, p=1.0)
    else:
        step = library.AddBackgroundNoise(sounds_path=[str(p) for p in noise_files], min_snr_db=transform.value,
                                          max_snr_db=transform.value, noise_rms="relative", p=1.0)
    result = np.asarray(step(samples=samples, sample_rate=rate), dtype=np.float32)
    peak = float(np.max(np.abs(result))) if result.size else 0.0
    return result * (PEAK / peak) if peak > PEAK else result


class _ClipMaker:
    """Makes one variant's clips: content-addressed, each with its own seeded noise."""

    def __init__(self, parent: BuildDirectory, variant: BuildDirectory, transform: Transform, seed: int, audio: AudioOptions,
                 noise: _Noise | None, version: str):
        self.parent, self.store = parent, ClipStore(variant.root)
        self.transform, self.seed, self.audio, self.noise, self.version = transform, seed, audio, noise, version
        self.reverb = _Reverb(transform.room, seed) if transform.room is not None else None
        self.made = self.reused = 0

    def clip(self, named: str, path: Path) -> str:
        """The variant clip of the parent clip ``named`` (at ``path``, checked inside the parent)."""
        data = path.read_bytes()
        payload = {"parent_clip": _digest(data), "transform": self.transform.as_dict(), "seed": self.seed,
                   "noise": self.noise.identity if self.noise else None, **_versions(self.transform, self.version), "audio": self.audio.as_dict()}
        key = clip_key(payload)
        relative = clip_relative_path(key, self.audio.format)
        if self.store.usable(relative):
            self.reused += 1
            return relative
        samples, rate = _read_clip(data)  # the bytes the key was made of, not a second read
        files = self.noise.files_for(named) if self.noise else []
        with _seeded(int(key[:16], 16)):
            result = _apply(self.transform, samples, rate, files, self.reverb, self.audio)
        self.store.write(relative, encode(result, AudioOptions(**{**self.audio.as_dict(), "sample_rate": rate})))
        self.made += 1
        return relative

    def item(self, item: Item, where: str) -> Item:
        """``item`` with its clips replaced by the variant's, and no verdicts (the variant's own come later)."""
        paths = self.parent.clip_paths(item, where)
        audio = dict(item.audio or {})
        audio["context"] = self.clip(audio["context"], paths[0])
        if audio.get("candidates") is not None:
            audio["candidates"] = [self.clip(named, path) for named, path in zip(audio["candidates"], paths[1:])]
        return Item(**{**asdict(item), "audio": audio, "validation": None})


def _kept(item: Item, include_failed: bool) -> bool:
    """The parent's published items: its verdicts gate a variant, the variant's own do not."""
    return item.audio is not None and (include_failed or not item.validation or bool(item.validation.get("passed", True)))


def _validation_summary(root: Path) -> dict[str, Any]:
    path = root / "validation.json"
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _complete(variant: BuildDirectory, fingerprint: str, validate: bool) -> bool:
    """The variant is there as this run would make it: same fingerprint, finished, every clip whole."""
    manifest = variant.read_manifest()
    if (manifest.get("augment") or {}).get("fingerprint") != fingerprint or manifest.get("status") != "complete":
        return False
    if validate and not _validation_summary(variant.root).get("counts"):
        return False
    store = ClipStore(variant.root)
    for number, item in variant.iter_numbered_items():
        for path in variant.clip_paths(item, f"{variant.items_path}:{number}"):
            if not store.usable(str(path.relative_to(variant.root.resolve()))):
                return False
    return True


def _result(name: str, variant: BuildDirectory, made: int, reused: int, unchanged: bool) -> VariantResult:
    manifest = variant.read_manifest()
    summary = _validation_summary(variant.root) if manifest.get("validation") else {}
    counts = summary.get("counts") or {}
    return VariantResult(name, variant.root, (manifest.get("counts") or {}).get("items", 0), made, reused,
                         summary.get("mean_error"), summary.get("median_error"), counts.get("passed", 0), counts.get("clips", 0), unchanged,
                         summary.get("mean_error_by_subset") or {})


def _recognizer(options: AugmentOptions, parent_manifest: dict[str, Any]) -> Any:
    """The recognizer every variant is validated with, loaded once."""
    if options.recognizer is not None or not options.validate:
        return options.recognizer
    from s2sbench.profiles import build_profile
    from s2sbench.validate.asr import ASRSpec, load_recognizer

    profile = build_profile(parent_manifest.get("profile"), (parent_manifest.get("source") or {}).get("lang", "en"))
    return load_recognizer(ASRSpec.parse(options.asr or f"{profile.asr_engine}:{profile.asr_model}", device=options.device))


def _variant(parent: BuildDirectory, parent_manifest: dict[str, Any], transform: Transform, options: AugmentOptions,
             recognizer: Any, version: str) -> VariantResult:
    from s2sbench.validate.revalidate import RevalidateOptions, validate_build

    variant = BuildDirectory(Path(options.output) / transform.name)
    audio = AudioOptions(**{k: v for k, v in (parent_manifest.get("audio") or {}).items() if k in AudioOptions.__dataclass_fields__})
    with DirectoryLock(variant.root, "build directory"):
        variant.repair()
        if (variant.root / "noise").is_dir():
            remove_temporary_files(variant.root / "noise")  # a babble track a killed run was writing
        noise = _noise(transform, options, parent, variant.root, audio)
        asr = recognizer.identity() if recognizer is not None else None
        items_digest = file_sha256(parent.items_path)  # what the variant's items come from
        fingerprint = clip_key({"format": AUGMENT_FORMAT, "items": items_digest, "transform": transform.as_dict(), "seed": options.seed,
                                "noise": noise.identity if noise else None, **_versions(transform, version), "include_failed": options.include_failed,
                                "validate": options.validate, "asr": asr})
        if _complete(variant, fingerprint, options.validate):
            return _result(transform.name, variant, 0, (variant.read_manifest().get("counts") or {}).get("clips", 0), True)
        maker = _ClipMaker(parent, variant, transform, options.seed, audio, noise, version)
        subsets: dict[str, int] = {}

        def lines() -> Iterator[str]:
            for number, item in parent.iter_numbered_items():
                if _kept(item, options.include_failed):
                    subsets[item.subset] = subsets.get(item.subset, 0) + 1
                    yield maker.item(item, f"{parent.items_path}:{number}").to_json() + "\n"

        count = write_lines_atomic(variant.items_path, lines())
        if not count:
            raise S2SBenchError(f"{parent.root}: no spoken item to augment (use --include-failed for items that failed validation)")
        manifest = {key: value for key, value in parent_manifest.items() if key not in ("validation", "status", "fingerprint", "skipped_rows")}
        manifest.update(
            status="validating" if options.validate else "complete",
            augment={"parent": str(parent.root.resolve()), "parent_items_sha256": items_digest,
                     "parent_manifest": {k: parent_manifest.get(k) for k in ("fingerprint", "created", "counts")},
                     "name": transform.name, "transform": transform.as_dict(), "seed": options.seed, "include_failed": options.include_failed,
                     "noise_files": ([{"path": str(p), "sha256": d} for p, d in zip(noise.files, noise.identity)] if noise else None),
                     "versions": package_versions(("audiomentations", "numpy", "soundfile", "python-stretch", "librosa", "pyroomacoustics")),
                     **({"room_response": maker.reverb.measured(audio.sample_rate)} if maker.reverb else {}),
                     "fingerprint": fingerprint},
            counts={"items": count, "clips": maker.made + maker.reused, "subsets": subsets},
        )
        variant.write_manifest(manifest)
        if options.validate:
            validate_build(variant.root, RevalidateOptions(asr=options.asr, device=options.device), recognizer=recognizer, locked=True)
            manifest = variant.read_manifest()
            manifest["status"] = "complete"
            variant.write_manifest(manifest)
        return _result(transform.name, variant, maker.made, maker.reused, False)


def augment(options: AugmentOptions, progress: Callable[[VariantResult], None] | None = None) -> list[VariantResult]:
    """Make (or complete) every variant of ``options``; ``progress`` hears of each as it is done."""
    transforms = options.transforms()
    _, version = _library()
    if any(transform.kind == "reverb" for transform in transforms):
        _room_library()  # before anything is read or written
    parent = BuildDirectory(options.build).require()
    if Path(options.output).resolve() == parent.root.resolve():
        raise S2SBenchError(f"-o {options.output}: the parent build itself; give a directory for the variants")
    with parent.reading():  # no build or validation rewrites the parent while its variants are made
        manifest = parent.read_manifest()
        if manifest.get("status") in ("running", "interrupted"):  # "incomplete" builds lack only items no engine could speak
            raise S2SBenchError(f"{parent.root}: the build is {manifest.get('status')}; finish it (`s2s build` again) before augmenting it")
        sum(1 for _ in parent.iter_items())  # every item and clip path checked before anything is written
        recognizer = _recognizer(options, manifest)
        results = []
        for transform in transforms:
            result = _variant(parent, manifest, transform, options, recognizer, version)
            results.append(result)
            if progress:
                progress(result)
        return results
