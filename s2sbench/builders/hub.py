"""Rows of a Hugging Face Hub dataset, ``hf://owner/name[:config[:split]]``.

Loaded with :func:`datasets.load_dataset`; a local dataset directory (parquet, JSON, CSV files)
works the same way, which is how the code path is tested offline. The split defaults to ``test``
when the dataset has one, else its only split.
"""

from __future__ import annotations

from collections.abc import Iterator

from s2sbench.builders.rows import SourceRow
from s2sbench.errors import SourceError


def parse_hub_source(spec: str) -> tuple[str, str | None, str | None]:
    """``owner/name:config:split`` -> (name, config, split); empty parts are None."""
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise SourceError(f"hf://{spec}: expected hf://owner/name[:config[:split]]")
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1] or None, parts[2] or None


def hub_rows(spec: str) -> tuple[Iterator[SourceRow], list[str]]:
    """The rows of a Hub (or local) dataset and its column names."""
    import datasets

    name, config, split = parse_hub_source(spec)
    where = f"hf://{spec}"
    try:
        loaded = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # datasets raises many types; the user needs one clear line
        raise SourceError(f"{where}: cannot load dataset: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if isinstance(loaded, datasets.DatasetDict):
        if "test" in loaded:
            split = "test"
        elif len(loaded) == 1:
            split = next(iter(loaded))
        else:
            raise SourceError(f"{where}: several splits ({', '.join(loaded)}); name one: hf://{name}:{config or ''}:SPLIT")
        loaded = loaded[split]

    def rows() -> Iterator[SourceRow]:
        for index, record in enumerate(loaded):
            yield SourceRow(f"{where}#row={index}", None, (index,), dict(record))

    return rows(), list(loaded.column_names)
