"""Source builders: one module per source format, each turning rows into items.

A builder is registered by name with :func:`register_builder` and is one small function from a
:class:`SourceRow` to an :class:`~s2sbench.items.Item`. Formats that are not one-row-one-item
(the original S2SBench release) register a whole reader instead. The format modules
(:data:`FORMAT_MODULES`) and third-party packages (the ``s2sbench.builders`` entry-point group) are
imported the first time the registry is read, not when this package is: a format module imports
this package, which is then whole.

``iter_source_items(source, fmt, context)`` resolves a source string (a path, ``sample:LANG`` or
``hf://owner/name[:config[:split]]``), sniffs the format when it is unambiguous, and streams items.
"""

from __future__ import annotations

import difflib
import importlib
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from s2sbench.builders.rows import SourceRow, peek_columns, read_table
from s2sbench.errors import SourceError, SourceRowError
from s2sbench.items import Item, make_id
from s2sbench.licenses import DataLicense
from s2sbench.profiles import LanguageProfile

RowToItem = Callable[[SourceRow, "BuildContext"], Item]
Reader = Callable[[Path, "BuildContext"], Iterator["Item | SourceRowError"]]


CANDIDATE_FIELDS = ("option", "letter", "question")


def check_template(template: str, fields: Sequence[str], where: str) -> None:
    """A template is text with named fields from a closed set: ``{option}``, not ``{option!r}``,
    ``{option:>{letter}}``, ``{0}`` or ``{option.__class__}`` (``{{``/``}}`` are literal braces)."""
    allowed = ", ".join(f"{{{name}}}" for name in fields)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise SourceError(f"{where} {template!r}: not a template ({exc}); use {allowed}") from None
    for _, name, spec, conversion in parsed:
        if name is not None and (name not in fields or spec or conversion):
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise SourceError(f"{where} {template!r}: {shown}: only {allowed}, without conversions or format specs")


@dataclass
class BuildContext:
    """What a builder may know besides its row: language, profile and the user's overrides."""

    lang: str
    profile: LanguageProfile
    subset: str | None = None  # overrides the builder's default subset name
    column_map: dict[str, str] = field(default_factory=dict)  # --map for generic tables
    template: str | None = None  # --template: candidate template for question sources

    def __post_init__(self) -> None:
        check_template(self.profile.question_context, ("question",), f"{self.profile.path or self.profile.code}: question_context")
        check_template(self.profile.question_candidate, CANDIDATE_FIELDS, f"{self.profile.path or self.profile.code}: question_candidate")
        if self.template is not None:
            check_template(self.template, CANDIDATE_FIELDS, "--template")

    def question_texts(self, question: str, options: Sequence[str]) -> tuple[str, list[str]]:
        """Context and continuations of a multiple-choice question, through the templates."""
        candidate_template = self.template or self.profile.question_candidate
        context = self.profile.question_context.format(question=question)
        try:
            candidates = [
                candidate_template.format(option=option, letter=chr(ord("A") + i), question=question)
                for i, option in enumerate(options)
            ]
        except (KeyError, IndexError) as exc:
            raise SourceError(f"template {candidate_template!r}: unknown placeholder {exc} (use {{option}}, {{letter}}, {{question}})") from exc
        return context, candidates


@dataclass(frozen=True)
class Builder:
    """A registered source format."""

    name: str
    subset: str  # default subset name; ``{lang}`` is replaced by the language code
    license: DataLicense | None  # the source's licence, for dataset cards; None: the user's own data (push asks)
    description: str
    row_to_item: RowToItem | None = None
    reader: Reader | None = None
    columns: tuple[str, ...] = ()  # the columns that identify this format when sniffing
    fieldnames: tuple[str, ...] | None = None  # for header-less CSVs
    sniffable: bool = True
    hub_ids: tuple[str, ...] = ()  # Hub datasets that are this corpus: read from one, its licence applies

    def recognized_license(self, spec: str | None) -> DataLicense | None:
        """The corpus's licence when ``spec`` (a build's source) is the corpus itself (``hf://`` one of
        :attr:`hub_ids`); None for any other source, whose licence the user gives."""
        name = str(spec or "")[len(HUB_PREFIX):].split(":")[0] if str(spec or "").startswith(HUB_PREFIX) else None
        return self.license if name and name in self.hub_ids else None

    def subset_name(self, context: BuildContext) -> str:
        return context.subset or self.subset.format(lang=context.lang)

    def make_item(self, row: SourceRow, context: BuildContext, text: str, candidates: list[str], answer: int, **source: Any) -> Item:
        """An item for ``row`` with a stable id and full provenance."""
        subset = self.subset_name(context)
        provenance = {"name": self.name, "file": row.file, "line": row.line, "row": row.key[-1], **source}
        if len(set(candidates)) != len(candidates):
            raise row.error("candidates", "two candidates have the same text")
        return Item(
            id=make_id(subset, context.lang, *row.key),
            subset=subset,
            lang=context.lang,
            context=text,
            candidates=candidates,
            answer=answer,
            source={k: v for k, v in provenance.items() if v is not None},
        )

    def read(self, path: Path, context: BuildContext) -> Iterator[Item | SourceRowError]:
        if self.reader is not None:
            yield from self.reader(path, context)
            return
        for row in read_table(path, self.fieldnames):
            yield from self._convert(row, context)

    def items_from_rows(self, rows: Iterator[SourceRow], context: BuildContext) -> Iterator[Item | SourceRowError]:
        if self.row_to_item is None:
            raise SourceError(f"format {self.name!r} reads files only, not Hub datasets")
        for row in rows:
            yield from self._convert(row, context)

    def _convert(self, row: SourceRow | SourceRowError, context: BuildContext) -> Iterator[Item | SourceRowError]:
        if isinstance(row, SourceRowError):
            yield row
            return
        try:
            yield self.row_to_item(row, context)
        except SourceRowError as error:
            yield error


_REGISTRY: dict[str, Builder] = {}


def register_builder(
    name: str,
    *,
    subset: str,
    license: DataLicense | str | None,
    columns: Sequence[str] = (),
    fieldnames: Sequence[str] | None = None,
    sniffable: bool = True,
    reader: Reader | None = None,
    hub_ids: Sequence[str] = (),
) -> Callable[[RowToItem], RowToItem]:
    """Register a row-to-item function (the decorated function) as source format ``name``.

    The function's docstring is the format's one-line description in ``s2s formats``.
    """

    def decorate(function: RowToItem | None) -> RowToItem | None:
        doc = (function.__doc__ if function else reader.__doc__) or ""
        _REGISTRY[name] = Builder(
            name=name,
            subset=subset,
            license=DataLicense(license) if isinstance(license, str) else license,
            description=doc.strip().splitlines()[0] if doc.strip() else name,
            row_to_item=function,
            reader=reader,
            columns=tuple(columns),
            fieldnames=tuple(fieldnames) if fieldnames else None,
            sniffable=sniffable,
            hub_ids=tuple(hub_ids),
        )
        return function

    return decorate


# The bundled format modules: importing one registers its builders.
FORMAT_MODULES = ("storycloze", "xstorycloze", "cmmlu", "mmlu", "s2sbench_release", "items_format", "table")
_LOADED: list[bool] = []


def _registry() -> dict[str, Builder]:
    """Every builder, the format modules and plugins imported on the first call."""
    if not _LOADED:
        _LOADED.append(True)
        for module in FORMAT_MODULES:
            importlib.import_module(f"{__name__}.{module}")
        for entry in metadata.entry_points(group="s2sbench.builders"):
            entry.load()  # importing the module registers its builders
    return _REGISTRY


def builders() -> dict[str, Builder]:
    """All registered builders by name."""
    return dict(_registry())


def get_builder(name: str) -> Builder:
    registry = _registry()
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SourceError(f"unknown format {name!r}; {hint}known formats: {', '.join(sorted(registry))}")
    return registry[name]


def sniff_format(columns: Sequence[str], where: str) -> Builder:
    """The one builder whose identifying columns are all present, or a clear error."""
    present = set(columns)
    matches = [b for b in _registry().values() if b.sniffable and b.columns and set(b.columns) <= present]
    # Prefer the most specific layout when one format's columns contain another's.
    matches.sort(key=lambda b: -len(b.columns))
    if len(matches) == 1 or (len(matches) > 1 and len(matches[0].columns) > len(matches[1].columns)):
        return matches[0]
    names = ", ".join(b.name for b in matches) if matches else "none"
    raise SourceError(
        f"{where}: cannot tell the source format from its columns ({', '.join(columns) or 'no header'}; "
        f"matching formats: {names}); pass --format one of {', '.join(sorted(_registry()))}"
    )


SAMPLE_PREFIX = "sample:"
HUB_PREFIX = "hf://"


def sample_path(lang: str) -> Path:
    """The bundled sample for ``lang`` (``sample:en``, ``sample:zh``)."""
    resource = resources.files("s2sbench.sample") / f"{lang}.jsonl"
    if not resource.is_file():
        available = sorted(p.name[:-6] for p in resources.files("s2sbench.sample").iterdir() if p.name.endswith(".jsonl"))
        raise SourceError(f"no bundled sample {lang!r}; available: {', '.join('sample:' + a for a in available)}")
    return Path(str(resource))


def iter_source_items(source: str, fmt: str | None, context: BuildContext) -> Iterator[Item | SourceRowError]:
    """Stream the items of ``source``; malformed rows come through as :class:`SourceRowError`."""
    if source.startswith(SAMPLE_PREFIX):
        path = sample_path(source[len(SAMPLE_PREFIX):])
        yield from get_builder(fmt or "items").read(path, context)
        return
    if source.startswith(HUB_PREFIX):
        from s2sbench.builders.hub import hub_rows

        rows, columns = hub_rows(source[len(HUB_PREFIX):])
        builder = get_builder(fmt) if fmt else sniff_format(columns, source)
        yield from builder.items_from_rows(rows, context)
        return
    path = Path(source)
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    builder = get_builder(fmt) if fmt else sniff_format(peek_columns(path), str(path))
    yield from builder.read(path, context)
