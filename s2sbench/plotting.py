"""matplotlib for the reports' figures, when it is installed (it comes with the ``asr`` extra)."""

from __future__ import annotations

import io
from typing import Any


def pyplot() -> Any | None:
    """matplotlib's pyplot on the file-only Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def png(figure: Any) -> bytes:
    """A figure as PNG bytes (the caller writes them atomically, or embeds them), closing it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()
