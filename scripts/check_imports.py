"""No import circle among s2sbench's modules: read every module's import-time imports from its syntax
tree and fail on any cycle, naming its modules.

Import time means the module's top level (and the bodies of top-level ``if`` and ``try``), where an
import runs when the module is imported; an import inside a function runs when the function is
called, after every module has loaded, and cannot make a circle. Importing ``a.b.c`` imports the
packages ``a`` and ``a.b`` first, so it counts as importing them too (a package whose ``__init__``
imports its own submodules, which import the package, is a circle).

It also fails on an import that points up: by the layer table ``layers.txt`` beside this script (the
order of DESIGN.md), a module may import from its own layer and the layers below it, never from one
above, wherever the import statement is (an import inside a function points up as much as one at the
top). Importing the root package ``s2sbench`` itself is no layer's import: Python has imported it
before any of its modules. Run by ``make lint``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "s2sbench"
LAYERS = Path(__file__).resolve().parent / "layers.txt"


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


def _from_module(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from ... import`` names, a relative one resolved against ``package``."""
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The s2sbench modules that importing ``name`` imports first: what it names, and the packages above those."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _from_module(node, package)
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


def read_layers(path: Path = LAYERS) -> dict[str, int]:
    """Each top-level name of the table -> its layer's number, 0 the highest."""
    layers: dict[str, int] = {}
    lines = [line.split("#")[0].split() for line in path.read_text(encoding="utf-8").splitlines()]
    for number, names in enumerate(names for names in lines if names):
        for name in names:
            layers[name] = number
    return layers


def _unit(module: str) -> str:
    """The table's name for a module: the top-level module or package of s2sbench it belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def all_imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, s2sbench module) of every import statement in the module, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _from_module(node, package)
            submodules = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in modules]
            targets = submodules or [module]  # `from pkg import submodule` imports the submodule
        else:
            continue
        found += [(node.lineno, target) for target in targets if target in modules]
    return found


def upward_imports(modules: dict[str, Path], layers: dict[str, int], root: Path = ROOT) -> list[str]:
    """One line per import from a lower layer to a higher one, and per module the table does not place."""
    problems = []
    for unit in sorted({_unit(name) for name in modules} - set(layers) - {PACKAGE}):
        problems.append(f"{PACKAGE}.{unit}: not in {LAYERS.name}: add it to the layer it belongs to")
    for name, path in modules.items():
        importer = _unit(name)
        for line, target in all_imports(name, path, modules):
            imported = _unit(target)
            if imported == PACKAGE or importer == PACKAGE or imported == importer:
                continue
            if importer in layers and imported in layers and layers[imported] < layers[importer]:
                problems.append(f"{path.relative_to(root)}:{line}: {name} imports {target}, a higher layer "
                                f"({imported} is above {importer} in {LAYERS.name})")
    return problems


def main() -> int:
    modules = module_names()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    circles = cycles(graph)
    for circle in circles:
        print(f"import circle of {len(circle)} modules: {' '.join(circle)}", file=sys.stderr)
    upward = upward_imports(modules, read_layers())
    for problem in upward:
        print(f"import pointing up: {problem}", file=sys.stderr)
    if circles or upward:
        return 1
    print(f"no import circle among {len(modules)} {PACKAGE} modules, and every import points down the layers of {LAYERS.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
