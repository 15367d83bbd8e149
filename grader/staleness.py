"""Are verdicts and the released assignment current? The digest of the checks a verdict was made
with, and what a master folder changed since the last `grader assign`.

A verdict records `checks_digest` (in its Result, so in the gradebook's result_json): the sha256
of the assignment.toml and of every file of the check folders it was graded with, by relative
name and bytes (not where they lie: a Dask worker's bundle has the same digest). `grader batch`
compares it with the checks it grades with now; a verdict with another digest, or none, is stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader import course
from grader.config import Assignment
from grader.results import Result

SKIP_PARTS = ("__pycache__", ".pytest_cache", ".ipynb_checkpoints")


def _files(folder: Path) -> dict[str, bytes]:
    """The files of `folder` by relative posix name (caches and hidden files left out)."""
    if not folder.is_dir():
        return {}
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (
            path.is_file()
            and path.suffix != ".pyc"
            and not any(p in SKIP_PARTS or p.startswith(".") for p in rel.parts)
        ):
            out[rel.as_posix()] = path.read_bytes()
    return out


def checks_digest(assignment: Assignment, hidden: bool, select: str | None = None) -> str:
    """The digest of what decides a verdict besides the notebook: assignment.toml, the check
    folders graded with (public, then hidden when `hidden`), and an --exercise selection."""
    digest = hashlib.sha256()
    toml = assignment.root / course.TOML
    digest.update(b"toml\0" + (toml.read_bytes() if toml.is_file() else b"") + b"\0")
    for label, folder in zip(("public", "hidden"), assignment.check_folders(hidden)):
        for name, data in _files(folder).items():
            digest.update(f"{label}/{name}\0{len(data)}\0".encode() + data)
    digest.update(f"select\0{select or ''}".encode())
    return digest.hexdigest()


def is_stale(result: Result, digest: str) -> bool:
    """Was `result` made with other checks than those of `digest` (or with no record of them)?"""
    return result.checks_digest != digest


def release_drift(assignment: Assignment) -> list[str]:
    """What the master folder (solutions/<slug>) changed since the last `grader assign`: its
    public/ checks or its assignment.toml differ from the released ones. Empty when they agree,
    or when there is no master folder with public/ beside the assignment."""
    master = assignment.solutions
    if master is None or not (master / course.PUBLIC).is_dir():
        return []
    public, released = _files(master / course.PUBLIC), _files(assignment.public_checks)
    changed = sorted(name for name in public.keys() | released.keys() if public.get(name) != released.get(name))
    names = [f"{course.PUBLIC}/{name}" for name in changed]
    toml_master, toml_released = master / course.TOML, assignment.root / course.TOML
    if toml_master.is_file() and toml_released.is_file() and toml_master.read_bytes() != toml_released.read_bytes():
        names.append(course.TOML)
    return names


def drift_warning(assignment: Assignment) -> str:
    """The warning `grader check` prints when the release is behind its master folder ("" if not)."""
    names = release_drift(assignment)
    if not names:
        return ""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"warning: {assignment.solutions} changed since the last `grader assign` ({shown}): "
        f"these verdicts use the released checks in {assignment.root}; "
        f"run `grader assign {assignment.solutions}` to release the master's"
    )
