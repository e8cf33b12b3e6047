"""What the clips of a build measure, against the loudness they were levelled to.

``--loudness-lufs`` is a target: each clip gets one gain, less where it would lift a sample peak
over -1 dBFS, so a target louder than speech's crest factor allows is met by no clip (a -5 LUFS
target gave clips of -21.0 to -17.4 LUFS). The build measures its clips once they are made, records
the range in ``build.json`` (``loudness_measured``) and says how many the peak ceiling held under the
target. A target so quiet that validation's level check fails its clips is refused before anything is
made.
"""

from __future__ import annotations

import math
from typing import Any

import soundfile as sf

from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.synth.postprocess import AudioOptions, clip_loudness
from s2sbench.validate.checks import SignalLimits

HELD_BELOW_LU = 0.5  # a clip this far under the target was held by the peak ceiling (levelling itself is exact)
# A clip's average level lies under its gated loudness (its pauses count in the average): espeak-ng clips
# levelled to -40 LUFS averaged -40.15 to -40.30 dBFS and all failed low_level. Targets closer than this
# to validation's floor fail some or every clip.
LEVEL_MARGIN_LU = 3.0


def check_reachable_level(audio: AudioOptions | None, validate: bool) -> None:
    """Refuse a target under the level validation passes (``low_level``: average under -40 dBFS, with
    :data:`LEVEL_MARGIN_LU`): the clips would be made, then fail."""
    floor = SignalLimits().min_level_dbfs
    quietest = floor + LEVEL_MARGIN_LU
    if validate and audio is not None and audio.loudness_lufs is not None and audio.loudness_lufs < quietest:
        raise S2SBenchError(f"--loudness-lufs {audio.loudness_lufs:g}: clips that quiet fail validation's level check (low_level: an average "
                            f"level under {floor:g} dBFS); give {quietest:g} or louder, or build with --no-validate")


def measured_loudness(directory: BuildDirectory, target: float) -> dict[str, Any] | None:
    """The loudness range of the build's distinct clips (read one at a time) and how many lie more
    than :data:`HELD_BELOW_LU` under ``target``; None for a build without clips."""
    seen: set[str] = set()
    levels = []
    for number, item in directory.iter_numbered_items():
        for path in directory.clip_paths(item, f"{directory.items_path}:{number}") if item.audio else []:
            if str(path) in seen or not path.is_file():
                continue
            seen.add(str(path))
            samples, rate = sf.read(path, dtype="float32", always_2d=False)
            level = clip_loudness(samples.reshape(-1) if samples.ndim == 1 else samples.mean(axis=1), rate)
            if math.isfinite(level):
                levels.append(level)
    if not levels:
        return None
    return {"target_lufs": target, "clips": len(levels), "min_lufs": round(min(levels), 2), "max_lufs": round(max(levels), 2),
            "held_by_peak_ceiling": sum(level < target - HELD_BELOW_LU for level in levels)}


def loudness_note(measured: dict[str, Any] | None) -> str | None:
    """One line when the peak ceiling held clips under the target, else None."""
    if not measured or not measured["held_by_peak_ceiling"]:
        return None
    return (f"--loudness-lufs {measured['target_lufs']:g}: the -1 dBFS peak ceiling held {measured['held_by_peak_ceiling']} of "
            f"{measured['clips']} clips under it (they measure {measured['min_lufs']:.1f} to {measured['max_lufs']:.1f} LUFS; "
            "build.json's loudness_measured records it)")
