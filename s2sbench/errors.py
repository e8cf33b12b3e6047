"""Exception classes raised by s2sbench.

Every error a user can cause derives from :class:`S2SBenchError`; the CLI prints its message on
one line and exits non-zero. Messages name the file, line and field where there is one.
"""

from __future__ import annotations

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
