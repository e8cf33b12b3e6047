"""Exception classes raised by s2sbench.

Every error a user can cause derives from :class:`S2SBenchError`; the CLI prints its message on
one line and exits non-zero. Messages name the file, line and field where there is one.
"""

from __future__ import annotations

import errno
import importlib
from collections.abc import Callable
from pathlib import Path


class S2SBenchError(Exception):
    """Base class of the errors s2sbench raises for bad input or a missing component."""


class SourceError(S2SBenchError):
    """A source cannot be read at all: missing file, unknown format, unsniffable layout."""


class SourceRowError(S2SBenchError):
    """One row of a source is malformed. ``str()`` is ``FILE:LINE: field: problem``."""

    def __init__(self, file: str | Path, line: int | None, field: str, problem: str):
        self.file = str(file)
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {field}: {problem}")

    def as_record(self) -> dict:
        """The skip record written to build.json under ``skipped_rows``."""
        return {"file": self.file, "line": self.line, "field": self.field, "problem": self.problem}


class EngineError(S2SBenchError):
    """A speech engine is unknown, not installed, or failed to load or run."""


class ProfileError(S2SBenchError):
    """A language profile is missing or malformed."""


class BuildDirectoryError(S2SBenchError):
    """A build directory is missing, not a build directory, or inconsistent."""


# errno -> what a user is told, for the failures a user can meet when a command writes or reads files.
_OS_ERRORS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOTDIR: "a file stands where a directory is needed",
    errno.EISDIR: "a directory stands where a file is needed",
    errno.EEXIST: "already exists",
    errno.ENOENT: "no such file or directory",
    errno.EPIPE: "broken pipe: what read this command's output stopped reading",
    errno.ECONNRESET: "the connection was reset by the other side",
    errno.ECONNREFUSED: "the connection was refused (nothing listens there)",
    errno.ETIMEDOUT: "the connection timed out",
}


def user_message(error: BaseException) -> str | None:
    """The one line a user is shown for ``error``, or None for a defect (which keeps its traceback).

    The one place where library and third-party exceptions become messages: s2sbench's own errors,
    file-system errors, and the Hub client's typed errors and connection failures.
    """
    if isinstance(error, S2SBenchError):
        return str(error)
    if isinstance(error, OSError) and error.errno in _OS_ERRORS:
        where = error.filename or ""
        return f"{where}: {_OS_ERRORS[error.errno]}" if where else _OS_ERRORS[error.errno]
    hub = _hub_message(error)
    if hub:
        return hub
    return None


def _unreachable(error: BaseException) -> str:
    import os

    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    return (f"cannot reach the Hub at {endpoint} ({type(error).__name__}); check the network or HF_ENDPOINT, "
            "or set HF_HUB_OFFLINE=1 to use local files only")


def _http_status(error: BaseException) -> str:
    status = getattr(getattr(error, "response", None), "status_code", None)
    return f"the Hub answered {status}: {str(error).splitlines()[0] if str(error) else type(error).__name__}"


def _hub_errors() -> list[tuple[tuple[type[BaseException], ...], Callable[[BaseException], str]]]:
    """(exception classes, message) rows, the most specific first, as huggingface_hub's own CLI maps
    its errors (``cli/_errors.py``). The classes are the clients' own, matched with ``isinstance``:
    an OS error that merely shares a name (Python's BrokenPipeError is a ConnectionError) is not
    taken for the Hub. A client that is not installed gives no rows."""
    rows: list[tuple[tuple[type[BaseException], ...], Callable[[BaseException], str]]] = []
    try:
        from huggingface_hub import errors as hub
    except ImportError:
        pass
    else:
        rows += [
            ((hub.GatedRepoError,), lambda error: "the repository is gated: accept its terms on the Hub with this account first"),
            ((hub.RepositoryNotFoundError,), lambda error: "repository not found (or not visible with this token)"),
            ((hub.RevisionNotFoundError,), lambda error: "revision not found in the repository"),
            ((hub.OfflineModeIsEnabled,), _unreachable),
            ((hub.HfHubHTTPError,), _http_status),
        ]
    for module, names in (("httpx2", ("TransportError",)), ("httpx", ("TransportError",)),
                          ("requests.exceptions", ("ConnectionError", "Timeout"))):
        try:
            imported = importlib.import_module(module)
        except ImportError:
            continue
        rows.append((tuple(getattr(imported, name) for name in names), _unreachable))
    return rows


def _hub_message(error: BaseException) -> str | None:
    for classes, message in _hub_errors():
        if isinstance(error, classes):
            return message(error)
    return None
