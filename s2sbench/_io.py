"""Crash-safe file writes, shared by every stage that writes a build or results directory.

- Whole files are written to a temporary name beside the target and renamed over it, so a reader (or
  the next run after a kill) sees the old file or the new one, never half of one.
- Append-only JSONL files grow by whole lines, each appended with one ``write``; a line torn by a kill
  is cut by :func:`repair_tail` before the next run reads or appends.
- Paths read from a build, results or source directory are resolved with :func:`inside`, which refuses
  anything that would leave that directory.
- :class:`DirectoryLock` keeps two processes from writing one directory at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from s2sbench.errors import BuildDirectoryError, S2SBenchError

TEMPORARY_PREFIX = ".tmp-"


def temporary_name(path: Path) -> Path:
    return path.with_name(f"{TEMPORARY_PREFIX}{os.getpid()}-{path.name}")


def remove_temporary_files(directory: Path, depth: int = 0) -> None:
    """Remove the temporary files (:func:`temporary_name`) a killed writer left in ``directory`` and
    its folders ``depth`` levels down: only names of exactly that form, as the directory may hold a
    user's files too (and only as deep as the writer writes: it may be a large tree)."""
    pattern = re.compile(rf"{re.escape(TEMPORARY_PREFIX)}\d+-.")
    top = len(directory.parts)
    for folder, subfolders, files in os.walk(directory):
        if len(Path(folder).parts) - top >= depth:
            subfolders.clear()
        for name in files:
            if pattern.match(name):
                (Path(folder) / name).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """A handle to write ``path`` through: renamed over it on success, removed on any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(path)
    try:
        with open(temporary, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _naming(error, path) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _naming(error: OSError, path: Path) -> OSError:
    """``error`` with the file it happened to (a failed write, e.g. a full disk, names none)."""
    if error.filename is not None or error.errno is None:
        return error
    return OSError(error.errno, os.strerror(error.errno), str(path))


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    with atomic_file(path, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def write_lines_atomic(path: Path, lines: Iterable[str]) -> int:
    """Replace ``path`` with ``lines`` (streamed, never held); returns how many were written."""
    count = 0
    with atomic_file(path) as handle:
        for line in lines:
            handle.write(line)
            count += 1
    return count


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks (never held whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_json(text: str | bytes) -> Any:
    """:func:`json.loads` for text that another program or person wrote. JSON nested deeper than the
    parser recurses (100,000 brackets fit in one line) is a :class:`json.JSONDecodeError` like any other
    malformed JSON, so every reader reports it in its one line instead of a RecursionError traceback."""
    try:
        return json.loads(text)
    except RecursionError:
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nested too deeply", document, 0) from None


def read_json_object(path: Path, error: type[S2SBenchError] = S2SBenchError) -> dict[str, Any]:
    """The one JSON object a file holds (build.json, run.json, a published record). Anything else is one
    line naming the file: bytes that are not UTF-8, text that is not JSON (or nested too deeply), JSON
    that is not an object."""
    data = Path(path).read_bytes()
    try:
        value = parse_json(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise error(f"{path}: expected a JSON object, found {_json_kind(value)}")
    return value


def _json_kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def is_whole_line(data: bytes) -> bool:
    """Whether ``data``, a last line without its newline, is a whole line rather than one torn by a kill.

    A torn line is a prefix of a JSON object written in UTF-8: it does not parse (no proper prefix of
    an object is one). So a last line that parses as JSON is whole, one whose newline was lost (a hand
    edit, another tool); so is one holding a byte no UTF-8 writer wrote, which a reader then reports
    with its place. Neither is cut: only a line that ends mid-object or mid-character is torn.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.reason != "unexpected end of data"  # a character cut short by the kill: torn
    try:
        parse_json(text)
    except ValueError:
        return False
    return True


def repair_tail(path: Path) -> bool:
    """Cut a torn last line (see :func:`is_whole_line`) left by a killed writer; True when the file
    changed. A whole last line without its newline is kept and given its newline, so that the next
    append starts a line of its own."""
    if not path.is_file():
        return False
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return False
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return False
        # Walk back to the last newline in blocks: the file may be large, its torn tail is small.
        position = size
        start_of_tail = 0
        while position > 0:
            start = max(0, position - 65536)
            handle.seek(start)
            block = handle.read(position - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                start_of_tail = start + newline + 1
                break
            position = start
        handle.seek(start_of_tail)
        if is_whole_line(handle.read(size - start_of_tail)):
            handle.seek(size)
            handle.write(b"\n")
        else:
            handle.truncate(start_of_tail)
        return True


def append_line(path: Path, line: str) -> None:
    """Append one line with a single ``write``, so a kill never leaves half of it. A write that
    stops short (a full disk) is taken back and raised as ENOSPC naming ``path``."""
    if not line.endswith("\n"):
        line += "\n"
    data = line.encode("utf-8")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            end = os.lseek(descriptor, 0, os.SEEK_END)
            try:
                written = os.write(descriptor, data)
            except OSError:
                os.ftruncate(descriptor, end)
                raise
            if written != len(data):
                os.ftruncate(descriptor, end)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        finally:
            os.close(descriptor)
    except OSError as error:
        raise _naming(error, path) from None


def append_json(path: Path, record: dict) -> None:
    append_line(path, json.dumps(record, ensure_ascii=False) + "\n")


def inside(root: Path, relative: object, where: str) -> Path:
    """``root / relative``, refusing a value that is not a relative path staying inside ``root``.

    ``where`` names the value for the error (``items.jsonl:12: audio.context``). Symbolic links are
    followed before the check, so a link inside the build that points outside is refused too.
    """
    if not isinstance(relative, str) or not relative:
        raise BuildDirectoryError(f"{where}: expected a relative path, got {relative!r}")
    if "\x00" in relative or relative.startswith(("/", "\\")) or Path(relative).is_absolute():
        raise BuildDirectoryError(f"{where}: {relative!r} is not a path inside the directory")
    base = root.resolve()
    try:
        resolved = (base / relative).resolve()
    except (RuntimeError, OSError) as error:  # a loop of symbolic links (RuntimeError before Python 3.13)
        problem = "a loop of symbolic links" if isinstance(error, RuntimeError) or error.errno == errno.ELOOP else error.strerror
        raise BuildDirectoryError(f"{where}: {relative!r}: {problem}") from None
    if resolved != base and base not in resolved.parents:
        raise BuildDirectoryError(f"{where}: {relative!r} leaves the directory {root}")
    return resolved


def regular_file(path: Path, where: str) -> Path:
    """``path`` (resolved, see :func:`inside`) when it is a regular file or is not there; else an error
    ``WHERE is a FIFO, not a regular file`` (``where``: ``items.jsonl:3: audio.context: 'audio/...'``).

    Checked with ``stat``, never by opening it: a FIFO would block its reader for ever, a device
    (``/dev/zero``) would be read until memory runs out, a directory fails with a traceback. A file
    that is not there is left to the reader (a build makes it again, validation finds it unreadable).
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path
    except OSError as error:
        raise BuildDirectoryError(f"{where}: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "something")
        raise BuildDirectoryError(f"{where} is {kind}, not a regular file")
    return path


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


# Descriptors of the locks this process holds. A forked child (espeak-ng speaks in one) inherits them,
# and an flock lives while any descriptor of it is open: a child still finishing its clip when its
# parent is killed would keep the directory locked. The child closes its copies at once.
_HELD: set[int] = set()


def _close_inherited_locks() -> None:
    for descriptor in _HELD:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


class DirectoryLock:
    """An exclusive lock on a directory (``.lock`` inside it), held while a process writes there.

    The lock is ``flock``-based: the kernel drops it when the holder dies (forked children do not
    keep it, see :data:`_HELD`), so a killed run never leaves a stale lock behind. The file records
    the holder's pid for the error message.
    """

    def __init__(self, root: Path, what: str = "directory", name: str = ".lock", shared: bool = False):
        self.root = Path(root)
        self.what = what
        self.name = name  # one directory may hold several locks (a results directory's shards)
        self.shared = shared  # a reader's: readers share it, a writer excludes them (and they it)
        self._handle: IO | None = None

    def __enter__(self) -> DirectoryLock:
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / self.name, "a+", encoding="utf-8")  # held until __exit__
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                handle.close()
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise S2SBenchError(f"{self.root}: this {self.what} is in use by {holder}; wait for it to finish or stop it") from None
        if not self.shared:  # the writer names itself; readers leave the name of the last writer alone
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(f"process {os.getpid()}")
                handle.flush()
            except OSError as error:  # a full disk: named, and the lock let go
                fcntl.flock(handle, fcntl.LOCK_UN)
                with contextlib.suppress(OSError):  # closing flushes the same bytes again
                    handle.close()
                raise _naming(error, self.root / self.name) from None
        self._handle = handle
        _HELD.add(handle.fileno())
        return self

    def __exit__(self, *exc_info) -> None:
        if self._handle is not None:
            _HELD.discard(self._handle.fileno())
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
