"""Fail when pyproject.toml (or requirements/*.in) and the committed lock disagree.

Every requirement that `make` installs (the `test` extra, expanded through its self-references, the
tools in requirements/tools.in, the weights in requirements/smollm2.in) must be pinned in the lock at a
version its specifier accepts; the `peer` extra (`make peer`) in requirements/peer.txt, which pins
every package the main lock pins at the same version. `make lock` repairs a failure. Offline: it reads files only.

    python scripts/check_lock.py            # exit 0 and one line, or one line per problem and exit 1
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def read_pins(lock: Path) -> dict[str, list[Version]]:
    """Package name -> every version the lock pins for it (a universal lock may fork by marker)."""
    pins: dict[str, list[Version]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PINNED.match(line)
        if match:
            pins.setdefault(canonicalize_name(match[1]), []).append(Version(match[2]))
    return pins


def project_requirements(pyproject: Path, extra: str) -> list[Requirement]:
    """The base dependencies plus `extra`, following `s2sbench[...]` references to other extras."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    name = canonicalize_name(project["name"])
    extras = project.get("optional-dependencies", {})
    wanted, seen, out = [extra], set(), [Requirement(r) for r in project.get("dependencies", [])]
    while wanted:
        current = wanted.pop()
        if current in seen:
            continue
        seen.add(current)
        for text in extras[current]:
            req = Requirement(text)
            if canonicalize_name(req.name) == name:
                wanted.extend(req.extras)
            else:
                out.append(req)
    return out


def input_requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def problems(requirements: list[tuple[str, Requirement]], pins: dict[str, list[Version]]) -> list[str]:
    found = []
    for origin, req in requirements:
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        versions = pins.get(canonicalize_name(req.name))
        if not versions:
            found.append(f"{origin}: {req}: not in the lock")
            continue
        bad = [str(v) for v in versions if not req.specifier.contains(v, prereleases=True)]
        if bad:
            found.append(f"{origin}: {req}: the lock pins {', '.join(bad)}")
    return found


def main() -> int:
    lock = read_pins(ROOT / "requirements" / "lock.txt")
    weights = read_pins(ROOT / "requirements" / "smollm2.txt")
    wanted = [("pyproject.toml[test]", r) for r in project_requirements(ROOT / "pyproject.toml", "test")]
    wanted += [("requirements/tools.in", r) for r in input_requirements(ROOT / "requirements" / "tools.in")]
    found = problems(wanted, lock)
    found += problems([("requirements/smollm2.in", r) for r in input_requirements(ROOT / "requirements" / "smollm2.in")], weights)
    # The peer lock (lm-eval: the tests, benchmarks/ and s2sbench.integrations) holds the peer extra and agrees with the main lock on every package both pin.
    peer = read_pins(ROOT / "requirements" / "peer.txt")
    found += problems([("pyproject.toml[peer]", r) for r in project_requirements(ROOT / "pyproject.toml", "peer")], peer)
    found += [f"requirements/peer.txt: {name}: pins {', '.join(map(str, peer[name]))}, lock.txt {', '.join(map(str, versions))}"
              for name, versions in lock.items() if name in peer and sorted(peer[name]) != sorted(versions)]
    for line in found:
        print(f"lock out of date: {line} (run `make lock`)", file=sys.stderr)
    if not found:
        print(f"lock agrees with pyproject.toml: {len(wanted)} requirements, {len(lock)} pinned packages")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
