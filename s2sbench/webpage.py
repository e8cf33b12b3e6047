"""Self-contained one-page HTML reports: ``report.html`` in a build directory (validate/report.py)
and ``s2s report --html`` over results directories (scorer/compare.py).

One file that opens from disk: no server, no network, no script. Figures are PNG ``data:`` URIs and
clips WAV or FLAC ``data:`` URIs (at most :data:`MAX_CLIP_BYTES` each, and :data:`PAGE_CLIP_BYTES`
in all: a page of the 20 worst clips of a large set stays under 5 MB); the style is inline. The page's Content-Security-Policy allows nothing else
to load, so a page that tried would show a policy error in the browser rather than reach a network.
Every text from data goes through ``html.escape`` (item texts, transcripts, ids and model names are
user data); the only markup not escaped is made here, from numbers and base64.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench.tables import Section, Table, to_html

CONTENT_POLICY = "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'"
MAX_CLIP_BYTES = 1 << 20  # a 16 kHz 16-bit clip of 32 s; longer clips are named, not embedded
PAGE_CLIP_BYTES = 3 << 20  # all a page embeds (4 MB as base64): the worst clips come first, the rest are named
AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac"}
MAX_VALUE = 300  # characters of one build fact shown (a long list is cut, and says so)
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 76em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eee; } audio { width: 16em; } h2 { margin-top: 1.6em; }
.t { max-height: 12em; overflow: hidden; overflow-wrap: anywhere; }
"""


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image(png: bytes, alt: str) -> str:
    return f'<figure><img alt="{escape(alt)}" src="{data_uri(png, "image/png")}"></figure>'


@dataclass
class ClipBudget:
    """The clip bytes one page may still embed: players are made worst clip first, so the clips that
    matter most are heard and the page stays a few MB whatever the set's size (sCMMLU's contexts run
    to 20 s, 640 kB each)."""

    left: int = PAGE_CLIP_BYTES

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


def audio_player(data: bytes | None, name: str, budget: ClipBudget | None = None) -> str:
    """An ``<audio>`` player holding the clip ``data``, or a note when the clip is missing, larger
    than :data:`MAX_CLIP_BYTES` or more than the page's ``budget`` has left. ``name``: the clip's path
    as the build records it (checked to stay inside the build), shown and kept in ``data-clip``; its
    suffix gives the type."""
    if data is None:
        return f"(missing: {escape(name)})"
    if len(data) > MAX_CLIP_BYTES:
        return f"(not embedded, {len(data) / 2**20:.1f} MiB: {escape(name)})"
    if budget is not None and not budget.take(len(data)):
        return f"(not embedded: this page's {PAGE_CLIP_BYTES >> 20} MiB of clips are taken by worse ones: {escape(name)})"
    mime = AUDIO_TYPES.get(Path(name).suffix.lower(), "audio/wav")
    return f'<audio controls preload="auto" data-clip="{escape(name)}" src="{data_uri(data, mime)}"></audio>'


def facts(values: dict[str, Any], prefix: str = "") -> Table:
    """A nested mapping (build.json's sections) as a two-column table of dotted keys and values."""
    table = Table(["", "value"], "ll")
    for key, value in values.items():
        name = f"{prefix}{key}"
        if value is None:  # an option not given
            continue
        if isinstance(value, dict) and value:
            table.rows += facts(value, f"{name}.").rows
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value) else (
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        table.add(name, text if len(text) <= MAX_VALUE else f"{text[:MAX_VALUE]}... ({len(text)} characters)")
    return table


def sections_html(sections: list[Section], level: int = 2) -> list[str]:
    """Report sections as HTML: a heading over each table or paragraph, all of it escaped."""
    parts = []
    for heading, content in sections:
        if heading:
            parts.append(f"<h{level}>{escape(heading)}</h{level}>")
        parts.append(to_html(content) if isinstance(content, Table) else f"<p>{escape(content)}</p>")
    return parts


def page(title: str, body: list[str]) -> str:
    """The whole page: ``body`` is markup made by this module's functions (text already escaped)."""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>",
        f"<body><h1>{escape(title)}</h1>",
        *body,
        "</body></html>",
        "",
    ])
