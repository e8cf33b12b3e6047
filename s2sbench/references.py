"""Whether a model reference a user or a profile gives is a path on this machine or a name.

A name (``base``, ``large-v3``, ``en_US-joe-medium``) is never taken for a folder of the working
directory that happens to share it: a build directory called ``base`` is not Whisper base. A local
model is a path the user writes as one: absolute, ``./dir``, ``../dir``, ``~/dir``, or a relative
path of several parts that exists (``models/vits``).
"""

from __future__ import annotations

import os
from pathlib import Path

EXPLICIT_PREFIXES = ("./", "../", "~", ".\\", "..\\")


def is_explicit_path(reference: str) -> bool:
    """Written as a path, whether or not it exists: absolute, ``.``/``..``-relative, or ``~``."""
    return reference in (".", "..") or reference.startswith(EXPLICIT_PREFIXES) or os.path.isabs(reference)


def local_model_path(reference: str) -> Path | None:
    """The local path ``reference`` names, or None when it is a name (see the module doc). An explicit
    path is returned whether or not it exists, for the caller to say it is missing."""
    if is_explicit_path(reference):
        return Path(reference).expanduser()
    path = Path(reference)
    if len(path.parts) > 1 and path.exists():
        return path
    return None
