"""What the tests check of a refused command: the house's one line on stderr, exit status 2."""

from __future__ import annotations


def one_line_error(result, *parts: str) -> str:
    """The one ``error: ...`` line a refused command printed (a typer ``Result``), which holds each of
    ``parts``; fails on any other exit status, a second line, or a traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]
