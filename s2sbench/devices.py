"""``--device``: one syntax for every command and engine.

``auto`` (a GPU when there is one, else the CPU), ``cpu``, ``cuda`` (the first GPU, or under torchrun
the GPU of the process's local rank) or ``cuda:N`` (the N-th GPU). Each engine is told in its own terms:
torch and transformers take the string as it is; CTranslate2 (faster-whisper) takes ``cuda`` and the
index apart.
"""

from __future__ import annotations

import re

from s2sbench.errors import S2SBenchError

DEVICE = re.compile(r"auto|cpu|cuda(?::(\d{1,2}))?")


def check_device(value: str) -> str:
    """``value`` when it is a device this tool understands; else one clear error."""
    if not DEVICE.fullmatch(value):
        raise S2SBenchError(f"--device {value!r}: expected auto, cpu, cuda or cuda:N (e.g. cuda:1)")
    return value


def device_index(value: str) -> tuple[str, int]:
    """(``cuda`` or ``cpu`` or ``auto``, GPU index): ``cuda:1`` -> (``cuda``, 1)."""
    match = DEVICE.fullmatch(check_device(value))
    return (value.split(":")[0], int(match[1])) if match[1] else (value, 0)
