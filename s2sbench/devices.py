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


def _checked_syntax(value: str) -> re.Match:
    match = DEVICE.fullmatch(value)
    if not match:
        raise S2SBenchError(f"--device {value!r}: expected auto, cpu, cuda or cuda:N (e.g. cuda:1)")
    return match


def visible_gpus() -> tuple[int, str] | None:
    """(how many CUDA GPUs this process sees, what said so), or None when nothing here can tell.

    torch where it is installed; else CTranslate2 (faster-whisper's, which runs on CUDA without torch)."""
    try:
        import torch
    except ImportError:
        pass
    else:
        if not torch.cuda.is_available():
            return 0, "torch.cuda.is_available() is False"
        return torch.cuda.device_count(), "torch.cuda.device_count()"
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count(), "ctranslate2.get_cuda_device_count()"
    except Exception:  # not installed, or built without CUDA: nothing to ask
        return None


def check_device(value: str, here: bool = True) -> str:
    """``value`` when it is a device this tool understands and, ``here`` (the work runs in this
    process, not on a cluster's workers), one this machine has; else one clear error. Called by every
    command before any work: a missing GPU is told at once, not after a model has loaded."""
    match = _checked_syntax(value)
    if here and value.startswith("cuda"):
        found = visible_gpus()
        if found is not None:
            count, reason = found
            index = int(match[1] or 0)
            if count == 0:
                raise S2SBenchError(f"--device {value}: no CUDA GPU is visible ({reason})")
            if match[1] is not None and index >= count:
                raise S2SBenchError(f"--device {value}: {count} CUDA GPU{'' if count == 1 else 's'} visible (cuda:0..cuda:{count - 1}), "
                                    "no GPU of that index; check CUDA_VISIBLE_DEVICES")
    return value


def device_index(value: str) -> tuple[str, int]:
    """(``cuda`` or ``cpu`` or ``auto``, GPU index): ``cuda:1`` -> (``cuda``, 1)."""
    match = _checked_syntax(value)
    return (value.split(":")[0], int(match[1])) if match[1] else (value, 0)
