"""The longest clip any reader of a build, an export or a Hub copy takes.

A clip of a spoken benchmark is one story, question or answer: seconds long (S2SBench's longest
contexts last under a minute). A much longer file is not one of a benchmark's clips, and reading it
costs what it lasts: a 2-hour clip is 460 MB of float32 samples and took a cascade's recognizer to
8.8 GB. So its length is read from its header (never by decoding it) where the clip is first met, and a
clip over :data:`MAX_CLIP_SECONDS` is refused in one line before any reader decodes it. How much of a
clip a model hears is the model's own limit (an audio LLM warns past it, see ``read_context_audio``).
"""

from __future__ import annotations

import io
from pathlib import Path

MAX_CLIP_SECONDS = 600.0


def clip_seconds(clip: Path | bytes) -> float | None:
    """The clip's length from its header alone, or None when it is not audio that soundfile reads
    (the reader that decodes it then says what is wrong)."""
    import soundfile as sf

    try:
        info = sf.info(io.BytesIO(clip) if isinstance(clip, bytes) else str(clip))
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError):
        return None
    return info.frames / info.samplerate if info.samplerate > 0 else None


def length_problem(clip: Path | bytes) -> str | None:
    """``clip is 7200 s, longer than ...`` for a clip over :data:`MAX_CLIP_SECONDS`, else None."""
    seconds = clip_seconds(clip)
    if seconds is not None and seconds > MAX_CLIP_SECONDS:
        return f"clip is {seconds:.0f} s, longer than the {MAX_CLIP_SECONDS:.0f} s a benchmark clip may last"
    return None
