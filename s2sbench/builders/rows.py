"""Reading tabular sources row by row, with the line numbers errors need.

Readers yield :class:`SourceRow` for good rows and :class:`SourceRowError` *values* for rows that
cannot be decoded, so the caller decides whether a bad row stops the build or is skipped.
CSV handling: UTF-8 with or without BOM, CRLF or LF, quoted commas and newlines inside quotes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench._io import parse_json
from s2sbench.errors import SourceError, SourceRowError

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
# A physical line longer than this is refused before it is parsed: a story is about 500 bytes, and a
# runaway line (a file without newlines, a binary file) would otherwise be held whole at every stage.
MAX_LINE_BYTES = 2**20


@dataclass(frozen=True)
class SourceRow:
    """One data row of a source: where it is, its stable key, and its fields."""

    file: str
    line: int | None  # 1-based physical line where the record starts (None for Hub rows)
    key: tuple[str | int, ...]  # stable per-source key: (row,) or (path within the directory, row)
    fields: dict[str, Any]

    def error(self, field: str, problem: str) -> SourceRowError:
        return SourceRowError(self.file, self.line, field, problem)

    def text(self, field: str) -> str:
        """The field's text, whitespace-trimmed; a missing column or an empty value is an error."""
        if field not in self.fields:
            raise self.error(field, "missing column")
        value = self.fields[field]
        if value is None:
            raise self.error(field, "empty value")
        text = str(value).replace("\r\n", "\n").strip()  # a CRLF file reads like an LF file
        if not text:
            raise self.error(field, "empty value")
        return text

    def choice(self, field: str, options: Sequence[str]) -> int:
        """Index of the field's value among ``options`` (e.g. ``"1","2"`` or ``"A".."D"``)."""
        value = self.text(field)
        if value not in options:
            raise self.error(field, f"answer {value!r} out of range (expected one of {', '.join(options)})")
        return list(options).index(value)


def _decoded_lines(path: Path) -> Iterator[tuple[int, str | SourceRowError]]:
    """Physical lines of a UTF-8 file (BOM stripped), keeping line endings, numbered from 1."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a block at a time
                    raw = handle.readline(MAX_LINE_BYTES + 1)
                yield number, SourceRowError(path, number, "line", f"longer than the limit of {MAX_LINE_BYTES} bytes")
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, SourceRowError(path, number, "encoding", f"undecodable bytes at column {exc.start + 1} (not UTF-8)")


def read_csv(path: Path, fieldnames: Sequence[str] | None = None, delimiter: str | None = None) -> Iterator[SourceRow | SourceRowError]:
    """Rows of a CSV/TSV file. With ``fieldnames`` the file has no header row."""
    delimiter = delimiter or ("\t" if path.suffix == ".tsv" else ",")
    pending_error: list[SourceRowError] = []

    def lines() -> Iterator[str]:
        for _number, line in _decoded_lines(path):
            if isinstance(line, SourceRowError):
                pending_error.append(line)
                yield "\n"  # stands in for the bad line so the reader stays in step
            else:
                yield line

    # TSV sources (XStoryCloze) are unquoted: a leading quote is text, not a quote.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(lines(), delimiter=delimiter, quoting=quoting)
    header = list(fieldnames) if fieldnames is not None else None
    index = 0
    previous_end = 0
    for record in _records(reader):
        start = previous_end + 1
        previous_end = reader.line_num
        if isinstance(record, csv.Error):  # a field past the reader's limit: that row only, the reader goes on
            pending_error.append(SourceRowError(path, start, "row", f"not a CSV row the reader takes: {record}"))
        if pending_error:
            error = pending_error.pop()
            pending_error.clear()
            if header is None:
                raise SourceError(str(error))
            yield error
            index += 1
            continue
        if header is None:
            header = [name.strip() for name in record]
            continue
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) != len(header):
            yield SourceRowError(path, start, "row", f"has {len(record)} fields, header has {len(header)}")
            index += 1
            continue
        yield SourceRow(str(path), start, (index,), dict(zip(header, record)))
        index += 1


def _records(reader: Any) -> Iterator[list[str] | csv.Error]:
    """The reader's records, and in place of a record it refuses (a field over csv's 131,072
    characters) the error: the reader resumes at the next line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield error


def read_jsonl(path: Path) -> Iterator[SourceRow | SourceRowError]:
    """Records of a JSON Lines file (or a JSON file holding one list of records)."""
    if path.suffix == ".json":
        try:
            records = parse_json(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SourceError(f"{path}: not valid JSON: {exc}") from exc
        if not isinstance(records, list):
            raise SourceError(f"{path}: expected a JSON list of records")
        for index, record in enumerate(records):
            yield SourceRow(str(path), None, (index,), record)
        return
    index = 0
    for number, line in _decoded_lines(path):
        if isinstance(line, SourceRowError):
            yield line
            index += 1
            continue
        if not line.strip():
            continue
        try:
            record = parse_json(line)
        except json.JSONDecodeError as exc:
            yield SourceRowError(path, number, "json", f"not valid JSON ({exc.msg} at column {exc.colno})")
            index += 1
            continue
        if not isinstance(record, dict):
            yield SourceRowError(path, number, "json", "expected an object")
        else:
            yield SourceRow(str(path), number, (index,), record)
        index += 1


def read_table(path: Path, fieldnames: Sequence[str] | None = None) -> Iterator[SourceRow | SourceRowError]:
    """Rows of one CSV/TSV/JSONL file, or of every such file in a directory (sorted by name).

    Rows from a directory carry the file's path within it (no suffix) in their key, so ids stay
    unique and stable.
    """
    if path.is_dir():
        files = table_files(path)
        for file in files:
            name = file.relative_to(path).with_suffix("").as_posix()  # "test/agronomy": unique within the tree
            for row in read_table(file, fieldnames):
                if isinstance(row, SourceRow):
                    row = SourceRow(row.file, row.line, (name, *row.key), row.fields)
                yield row
        return
    if path.suffix in (".jsonl", ".json"):
        yield from read_jsonl(path)
    else:
        yield from read_csv(path, fieldnames)


def table_files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in TABLE_SUFFIXES)
    if not files:
        raise SourceError(f"{directory}: no {'/'.join(TABLE_SUFFIXES)} files in this directory")
    return files


def peek_columns(path: Path) -> list[str]:
    """Column names of a table (its header row or its first record's keys), for sniffing."""
    if path.is_dir():
        path = table_files(path)[0]
    if path.suffix in (".jsonl", ".json"):
        for row in read_jsonl(path):
            return list(row.fields) if isinstance(row, SourceRow) else []
        return []
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        tsv = path.suffix == ".tsv"
        header = next(csv.reader(handle, delimiter="\t" if tsv else ",", quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL), [])
    return [name.strip() for name in header]
