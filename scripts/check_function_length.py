"""No function in s2sbench longer than 50 lines: a function that holds several steps is split into
named steps that read top to bottom. A function's length counts from its ``def`` (decorators
excluded) to its last line, its docstring and nested functions included. Run by ``make lint``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "s2sbench"
MAX_LINES = 50


def long_functions(root: Path = ROOT, limit: int = MAX_LINES) -> list[tuple[str, int, str, int]]:
    """(path, line, name, lines) of every function over ``limit`` lines, methods and nested ones too."""
    found = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append((path.relative_to(root).as_posix(), node.lineno, node.name, lines))
    return found


def main() -> int:
    found = long_functions()
    for path, line, name, lines in found:
        print(f"{path}:{line}: {name} is {lines} lines, more than {MAX_LINES}: split it into named steps", file=sys.stderr)
    if found:
        return 1
    print(f"no function in {PACKAGE} over {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
