"""The tables of the reports, built once and rendered as Markdown (``summary.md``, ``validation.md``,
``s2s report``) or as HTML (``report.html``, ``s2s report --html``).

A cell is text as it should read; the Markdown renderer keeps a ``|`` or a line break in a cell
from breaking the table, the HTML renderer escapes everything (item texts are user data).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


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
        return "".join(f'<{tag}{" class=num" if a == "r" else ""}>{html.escape(c)}</{tag}>' for c, a in zip(row, table.align))

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
