"""A variant's audio: the augmentation libraries, seeded noise and reverberation, and the clip maker that writes each transformed clip."""
from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from s2sbench._io import write_atomic
from s2sbench.augment.transforms import (
    BABBLE_VOICES,
    NOISE_FILES,
    PEAK,
    PINK_DECAY_DB_PER_OCTAVE,
    ROOM_ISM_ORDER,
    ROOM_PADDING,
    ROOM_RT60_DECAY_DB,
    AugmentOptions,
    Room,
    Transform,
)
from s2sbench.builddir import BuildDirectory
from s2sbench.errors import EngineError, S2SBenchError
from s2sbench.items import Item
from s2sbench.storage import ClipStore
from s2sbench.synth.clips import clip_key, clip_relative_path
from s2sbench.synth.postprocess import AudioOptions, encode, finish, to_float_mono


def augmentation_library() -> tuple[Any, str]:
    try:
        import audiomentations
    except ImportError:
        raise EngineError("s2s augment needs audiomentations: pip install 's2sbench[augment]'") from None
    return audiomentations, audiomentations.__version__


def room_library() -> tuple[Any, str]:
    try:
        import pyroomacoustics
    except ImportError:
        raise EngineError("s2s augment --reverb needs pyroomacoustics: pip install 's2sbench[augment]'") from None
    return pyroomacoustics, pyroomacoustics.__version__


def library_versions(transform: Transform, version: str) -> dict[str, str]:
    """The libraries a clip of ``transform`` depends on, for its key (noise and speed keep their
    keys of before reverberation: only audiomentations)."""
    found = {"audiomentations": version}
    if transform.kind == "reverb":
        found["pyroomacoustics"] = room_library()[1]
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


def noise_for(transform: Transform, options: AugmentOptions, parent: BuildDirectory, variant: Path, audio: AudioOptions) -> _Noise | None:
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
        library, _ = augmentation_library()
        pra, _ = room_library()
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
        pra, _ = room_library()
        response = np.asarray(self.step(rate).room.rir[0][0], dtype=np.float64)
        rt60 = pra.experimental.measure_rt60(response, fs=rate, decay_db=ROOM_RT60_DECAY_DB)
        return {"sample_rate": rate, "seconds": round(len(response) / rate, 4), "measured_rt60_s": round(float(rt60), 3)}


def _apply(transform: Transform, samples: np.ndarray, rate: int, noise_files: list[Path], reverb: _Reverb | None = None,
           audio: AudioOptions | None = None) -> np.ndarray:
    """The clip through the transform's audiomentations class (under a seeded generator)."""
    library, _ = augmentation_library()
    if transform.kind == "reverb" and reverb is not None:
        result = np.asarray(reverb.step(rate)(samples=samples, sample_rate=rate), dtype=np.float32)
        # Finished as the build finishes its clips: the room changes the level (the direct sound falls
        # with the distance), and the impulse response runs on far under what the build calls silence
        # (trim_below_db under the peak), which validation would flag as trailing silence. Levelled
        # and trimmed like the parent's clips, the variant differs from them by the reverberation.
        return finish(result, rate, replace(audio or AudioOptions(), sample_rate=rate))
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


class VariantClipMaker:
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
                   "noise": self.noise.identity if self.noise else None, **library_versions(self.transform, self.version), "audio": self.audio.as_dict()}
        key = clip_key(payload)
        relative = clip_relative_path(key, self.audio.format)
        if self.store.usable(relative):
            self.reused += 1
            return relative
        samples, rate = _read_clip(data)  # the bytes the key was made of, not a second read
        files = self.noise.files_for(named) if self.noise else []
        with _seeded(int(key[:16], 16)):
            result = _apply(self.transform, samples, rate, files, self.reverb, self.audio)
        self.store.write(relative, encode(result, replace(self.audio, sample_rate=rate)))
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
