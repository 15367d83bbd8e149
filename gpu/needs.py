"""What gpu/check.py needs before it installs anything, and whether what it installed has what it needs.

Both are read on the lent machine, which reaches no registry: what is missing there is said in
one line, with what to do, instead of a failure half-way through the tests.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 11)
MIN_SETUPTOOLS = 68  # pyproject.toml's build backend; built here without isolation (offline)


@dataclass(frozen=True)
class Unmet:
    requirement: str  # as the distribution states it
    needed_by: str
    found: str  # "not installed", or the version found


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _wheels_python(wheels: Path) -> str | None:
    stamp = wheels / ".inputs.json"
    try:
        return str(json.loads(stamp.read_text())["python"])
    except (OSError, ValueError, KeyError):
        return None


def needs_before_install(wheels: Path, root: Path) -> list[str]:
    """What this Python and the checkout lack for the offline install; [] when nothing."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    missing: list[str] = []
    if sys.version_info < MIN_PYTHON:
        missing.append(f"Python {here} is too old (the grader needs 3.11 or later)")
    if importlib.util.find_spec("torch") is None:
        missing.append(f"{sys.executable} has no torch: run this with the machine's own python3, the one that holds it")
    for module, why in (
        ("pip", "to install the carried wheels"),
        ("setuptools", "to build the grader offline"),
        ("packaging", "to check the installed requirements"),
    ):
        if importlib.util.find_spec(module) is None:
            missing.append(f"{sys.executable} has no {module} ({why})")
    if (
        importlib.util.find_spec("setuptools") is not None
        and _major(importlib.metadata.version("setuptools")) < MIN_SETUPTOOLS
    ):
        missing.append(
            f"setuptools {importlib.metadata.version('setuptools')} is older than {MIN_SETUPTOOLS} "
            "(pyproject.toml's build backend)"
        )
    if not (root / "pyproject.toml").is_file():
        missing.append(f"no pyproject.toml in {root}: run this from the grader's checkout")
    if not any(wheels.glob("*.whl")):
        missing.append(
            f"no wheels in {wheels}: run `make gpu-wheels` where a registry is reachable, and carry "
            f"{wheels.name} (docs/gpu.md)"
        )
    elif _wheels_python(wheels) not in (here, None):
        missing.append(
            f"the wheels in {wheels} are for Python {_wheels_python(wheels)}, this is {here}: "
            f"`make gpu-wheels GPU_PYTHON={here}`"
        )
    return missing


def _installed(name: str, path: list[str]) -> str | None:
    for dist in importlib.metadata.distributions(name=name, path=path):
        return dist.version
    return None


def check_requirements(target: Path) -> list[Unmet]:
    """Every requirement of every distribution in `target` (markers evaluated here, no extras),
    against `target` first, then this Python's own packages: what is unmet."""
    from packaging.requirements import Requirement

    path = [str(target), *sys.path]
    unmet: list[Unmet] = []
    for dist in importlib.metadata.distributions(path=[str(target)]):
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            version = _installed(req.name, path)
            if version is None:
                unmet.append(Unmet(text, dist.metadata["Name"], "not installed"))
            elif not req.specifier.contains(version, prereleases=True):
                unmet.append(Unmet(text, dist.metadata["Name"], f"{version} is installed"))
    return unmet
