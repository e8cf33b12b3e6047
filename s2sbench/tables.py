"""The tables of the reports, built once and rendered as Markdown (``summary.md``, ``validation.md``,
``s2s report``) or as HTML (``report.html``, ``s2s report --html``).

A cell is text as it should read; the Markdown renderer keeps a ``|`` or a line break in a cell
from breaking the table, the HTML renderer escapes everything (item texts are user data).

What a report says of a source or a model goes through :func:`public_source` (:func:`public_model`
for ``--model`` values): a local path by its last part, never the directories above it, so a
published page names no one's home directory.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

_ENGINE_PREFIX = re.compile(r"^([A-Za-z][\w.-]+):(?!//)(.+)$")  # engine:MODEL (piper:/voices/a.onnx); not a drive letter, not a URL
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")  # C:\ or C:/, or a \\server share


def _local(spec: str) -> bool:
    """``spec`` names a local file or directory: absolute, under ``~``, explicitly relative
    (``./``, ``../``), a Windows path, of more than one ``/`` (a Hub id has one), or a relative path
    that exists here."""
    if spec.startswith(("/", "~", "./", "../", ".\\", "..\\")) or spec in (".", "..") or spec.count("/") > 1 or _WINDOWS_ABSOLUTE.match(spec):
        return True
    try:
        return Path(spec).exists()
    except (OSError, ValueError):
        return False


def _last_part(spec: str) -> str:
    """The file or directory name of a local path (``.`` by the name of the directory it is)."""
    windows = "\\" in spec or bool(_WINDOWS_ABSOLUTE.match(spec))
    name = (PureWindowsPath(spec) if windows else PurePosixPath(spec)).name
    if name in ("", ".", ".."):
        try:
            name = Path(spec).expanduser().resolve().name
        except (OSError, RuntimeError, ValueError):
            name = ""
    return name or "local"


def public_source(spec: object) -> str:
    """How a public file (summary.md, report.html, a page of ``s2s report --html``, a card) names a
    source spec: a local path (absolute, ``~/...``, ``./...``, ``file://...``, ``a/b/c``, or a
    relative path that exists here) by its file or directory name, ``engine:PATH`` as
    ``engine:NAME``; anything else as it is: ``sample:en``, ``hf://owner/name[:config[:split]]``,
    a Hub id ``OWNER/NAME`` (unless a directory of that name is here), another URL."""
    text = str(spec)
    if text.startswith("file://"):
        return _last_part(text[len("file://"):])
    if "://" in text or text.startswith("sample:"):
        return text
    engine = _ENGINE_PREFIX.match(text)
    if engine and _local(engine.group(2)):
        return f"{engine.group(1)}:{_last_part(engine.group(2))}"
    return _last_part(text) if _local(text) else text


def public_model(model: object) -> str:
    """:func:`public_source` of a ``--model`` value, each part of a ``cascade:ASR+LM``."""
    text = str(model)
    if text.startswith("cascade:"):
        asr, _, lm = text.removeprefix("cascade:").partition("+")
        return f"cascade:{public_model(asr)}+{public_model(lm)}"
    return public_source(text)


@dataclass
class Table:
    headers: list[str]
    align: str  # one letter per column: "l" (text) or "r" (a number)
    rows: list[list[str]] = field(default_factory=list)
    # HTML only: one more column of markup made by the caller from checked data (an <audio> player),
    # never from text; Markdown leaves it out.
    markup_header: str | None = None
    markup: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])


def markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(table: Table, escape: bool = False) -> list[str]:
    """The table's Markdown lines; ``escape``: cells may hold ``|`` or line breaks (texts from data)."""
    cell = markdown_cell if escape else str
    lines = ["| " + " | ".join(table.headers) + " |", "|" + "".join("---:|" if a == "r" else "---|" for a in table.align)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    return lines


def to_html(table: Table) -> str:
    """The table as an HTML ``<table>``, every cell escaped; number columns right-aligned."""
    def cells(tag: str, row: list[str]) -> str:
        # Text from data is isolated (its own direction, so a U+202E inside cannot reverse what follows) and
        # clipped (10,000 combining marks stay inside their cell); numbers are ours.
        return "".join(f'<{tag} class=num>{html.escape(c)}</{tag}>' if a == "r" else f'<{tag}><div class=t dir=auto>{html.escape(c)}</div></{tag}>'
                       for c, a in zip(row, table.align))

    extra = table.markup if table.markup_header is not None else [""] * len(table.rows)
    head = cells("th", table.headers) + (f"<th>{html.escape(table.markup_header)}</th>" if table.markup_header is not None else "")
    body = "".join(f"<tr>{cells('td', row)}{f'<td>{markup}</td>' if table.markup_header is not None else ''}</tr>" for row, markup in zip(table.rows, extra))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# A report is a list of sections: (heading or None, a table or a paragraph of text).
Section = tuple[str | None, "Table | str"]


def markdown_sections(sections: list[Section], escape: bool = False) -> list[str]:
    """Sections as Markdown: ``## heading`` over each table or paragraph, a blank line between."""
    lines: list[str] = []
    for index, (heading, content) in enumerate(sections):
        if index:
            lines.append("")
        if heading:
            lines += [f"## {heading}", ""]
        lines += markdown(content, escape) if isinstance(content, Table) else [content]
    return lines
