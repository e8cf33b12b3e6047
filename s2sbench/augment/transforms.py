"""The vocabulary of ``s2s augment``: noises, rooms, the transforms a variant is named by, and the options."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench.errors import S2SBenchError
from s2sbench.items import name_problem

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
