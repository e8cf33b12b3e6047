"""No import circle among s2sbench's modules: read every module's import-time imports from its syntax
tree and fail on any cycle, naming its modules.

Import time means the module's top level (and the bodies of top-level ``if`` and ``try``), where an
import runs when the module is imported; an import inside a function runs when the function is
called, after every module has loaded, and cannot make a circle. Importing ``a.b.c`` imports the
packages ``a`` and ``a.b`` first, so it counts as importing them too (a package whose ``__init__``
imports its own submodules, which import the package, is a circle). Run by ``make lint``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "s2sbench"


def module_names(root: Path = ROOT) -> dict[str, Path]:
    names = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    statements = []
    for node in body:
        if isinstance(node, ast.If):
            statements += _top_level(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            statements += _top_level(node.body + node.orelse + node.finalbody + [s for handler in node.handlers for s in handler.body])
        else:
            statements.append(node)
    return statements


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The s2sbench modules that importing ``name`` imports first: what it names, and the packages above those."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets.add(module)
            targets.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    # The packages above a target are imported first; those above the importer itself already are,
    # so they count only when named (`from s2sbench.builders import register_builder` in a builder).
    implied = {".".join(target.split(".")[:end]) for target in targets for end in range(1, target.count(".") + 1)}
    own_parents = {module for module in implied if name.startswith(module + ".")}
    return {module for module in targets | (implied - own_parents) if module in modules and module != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    modules = module_names()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    circles = cycles(graph)
    for circle in circles:
        print(f"import circle of {len(circle)} modules: {' '.join(circle)}", file=sys.stderr)
    if circles:
        return 1
    print(f"no import circle among {len(modules)} {PACKAGE} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
