"""Exception classes raised by s2sbench.

Every error a user can cause derives from :class:`S2SBenchError`; the CLI prints its message on
one line and exits non-zero. Messages name the file, line and field where there is one.
"""

from __future__ import annotations

import errno
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


def _hub_message(error: BaseException) -> str | None:
    import os

    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {"ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "ReadError", "ConnectionError", "OfflineModeIsEnabled"}:
        return f"cannot reach the Hub at {endpoint} ({type(error).__name__}); check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use local files only"
    if "GatedRepoError" in names:
        return "the repository is gated: accept its terms on the Hub with this account first"
    if "RepositoryNotFoundError" in names:
        return "repository not found (or not visible with this token)"
    if "RevisionNotFoundError" in names:
        return "revision not found in the repository"
    if "HfHubHTTPError" in names:
        status = getattr(getattr(error, "response", None), "status_code", None)
        return f"the Hub answered {status}: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    return None
