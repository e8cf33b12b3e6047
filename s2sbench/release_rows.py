"""The rows of a published release (a Hub dataset or an export folder), a few at a time.

The scorer and ``s2s pull`` both read releases through here. A config's data files are the ones
``datasets`` resolves for it (the card's ``configs:`` metadata), but they are read with pyarrow one
small batch at a time, never loaded whole: a release's config holds gigabytes of audio, and reading
it through a ``datasets`` table maps every page of it (the process's memory then grows with the
dataset). A Hub file is downloaded into the Hugging Face cache first (streamed to disk, kept per
commit, so a second read downloads nothing); a local one is read in place. Clips come as their
``{bytes, path}`` structs, never decoded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from s2sbench.errors import S2SBenchError

READ_BATCH_ROWS = 16  # rows decoded from parquet at a time: a few MB of audio


def data_files(name: str, config: str | None, split: str, revision: str | None) -> list[str]:
    """The parquet files of ``config``'s ``split``, as ``datasets`` resolves them (paths, or hf:// URLs)."""
    import datasets

    # A local folder: its own scratch cache, as datasets keys a folder's cache by its name alone.
    with tempfile.TemporaryDirectory(prefix="s2s-read-") as scratch:
        local = {"cache_dir": scratch} if Path(name).is_dir() else {}
        try:
            builder = datasets.load_dataset_builder(name, config, revision=revision, **local)
        except Exception as exc:
            raise S2SBenchError(f"{name}: cannot load dataset (config {config}, split {split}): {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    splits = builder.config.data_files or {}
    if split not in splits:
        raise S2SBenchError(f"{name}: config {config}: no split {split!r} (it has: {', '.join(splits) or 'none'})")
    return list(splits[split])


def local_file(file: str, cache_dir: str | None = None) -> str:
    """A local path for ``file``: itself, or a Hub file's copy in the Hugging Face cache (or ``cache_dir``)."""
    if not file.startswith("hf://"):
        return file
    from huggingface_hub import HfFileSystem, hf_hub_download

    resolved = HfFileSystem().resolve_path(file)
    return hf_hub_download(resolved.repo_id, resolved.path_in_repo, repo_type=resolved.repo_type, revision=resolved.revision, cache_dir=cache_dir)


def release_rows(name: str, config: str | None, split: str, revision: str | None, cache_dir: str | None = None,
                 check: Callable[[str, Any], None] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) of a release's config, in the order of its files, :data:`READ_BATCH_ROWS` at a time;
    ``cache_dir``: where Hub files go instead of the Hugging Face cache; ``check``: given each file (as an
    error names it) and its columns (``datasets.Features``) before any of its rows, it raises on what its reader cannot take."""
    return file_rows(name, data_files(name, config, split, revision), cache_dir, check)


def file_rows(name: str, files: list[str], cache_dir: str | None = None, check: Callable[[str, Any], None] | None = None
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of ``files`` (:func:`data_files` of the release ``name``), as :func:`release_rows` gives them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    for file in files:
        shown = "/".join(file.rsplit("/", 2)[-2:])
        try:
            path = local_file(file, cache_dir)
        except Exception as exc:
            raise S2SBenchError(f"{name}: {shown}: cannot download it: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
        if check is not None:
            check(file if Path(name).is_dir() else f"{name}: {shown}", _columns(path))
        try:
            batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=READ_BATCH_ROWS)
            for batch in batches:
                for row in batch.to_pylist():
                    yield number, row
                    number += 1
        except (pa.ArrowException, OSError) as exc:
            raise S2SBenchError(f"{name}: {shown}: cannot read it as parquet: {str(exc).splitlines()[0]}") from None


def _columns(path: str) -> Any:
    """A parquet file's columns as ``datasets`` features (from its footer; no row is read)."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return datasets.Features.from_arrow_schema(pq.read_schema(path))
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise S2SBenchError(f"{path}: cannot read its columns: {str(exc).splitlines()[0]}") from None


def row_count(files: list[str], cache_dir: str | None = None) -> int:
    """The rows of ``files`` (:func:`data_files`), from their parquet footers (no row is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(local_file(file, cache_dir)).metadata.num_rows for file in files)
