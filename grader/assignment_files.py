"""[files] of assignment.toml resolved against a folder: which files of the assignment go where.

    [files]
    public = ["data/digits-train.pt", "helpers.py"]   # paths or globs, relative to the master folder
    hidden = ["data/digits-test.pt"]                  # stay in the master folder, never in a kernel
    max_mb = 64                                       # the bound on the public files' total size

A pattern is a path, a glob (`data/*.pt`, `**` for any depth) or a folder (every file under it).
Each must match at least one file: a pattern that matches nothing is an AssignmentError naming
it, the file and the folder it was looked for in. Public and hidden files are resolved where
they live: public ones in the folder being read (the master folder, or the students' copy that
`grader assign` made), hidden ones in the master folder only. Hidden entries (a name starting
with '.', __pycache__) and links pointing outside the folder are never taken.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.config import FilesTable
from grader.errors import AssignmentError

__all__ = ["PATTERN_HINT", "resolve", "resolve_public", "total_bytes"]

SKIPPED = ("__pycache__", ".ipynb_checkpoints")
PATTERN_HINT = "name files that exist, relative to the master folder (a path, a glob such as data/*.pt, or a folder)"


def _taken(folder: Path, path: Path) -> bool:
    rel = path.relative_to(folder)
    if any(part.startswith(".") or part in SKIPPED for part in rel.parts):
        return False
    if not path.is_file():
        return False
    real = Path(os.path.realpath(path))
    return real.is_relative_to(Path(os.path.realpath(folder)))


def _matches(folder: Path, pattern: str) -> list[Path]:
    pattern = pattern.replace("\\", "/").strip("/")
    direct = folder / pattern
    if direct.is_dir():
        candidates = sorted(direct.rglob("*"))
    elif direct.exists():
        candidates = [direct]
    else:
        candidates = sorted(folder.glob(pattern))
        candidates = [f for c in candidates for f in ([c] if not c.is_dir() else sorted(c.rglob("*")))]
    return [p for p in candidates if _taken(folder, p)]


def resolve(folder: Path, patterns: tuple[str, ...], *, key: str, toml: Path) -> tuple[str, ...]:
    """The files of `folder` that `patterns` name, as sorted posix paths relative to it."""
    found: dict[str, None] = {}
    for pattern in patterns:
        matched = _matches(folder, pattern)
        if not matched:
            raise AssignmentError(
                f"{toml}: [files] {key} names {pattern!r}, which matches no file in {folder}",
                hint=PATTERN_HINT + ("; in a students' copy, run `grader assign` again" if key == "public" else ""),
            )
        for path in matched:
            found.setdefault(path.relative_to(folder).as_posix(), None)
    return tuple(sorted(found))


def total_bytes(folder: Path, names: tuple[str, ...]) -> int:
    return sum((folder / name).stat().st_size for name in names)


def resolve_public(folder: Path, table: FilesTable, toml: Path) -> tuple[str, ...]:
    """[files] public in `folder`, checked against max_mb."""
    names = resolve(folder, table.public, key="public", toml=toml)
    size = total_bytes(folder, names)
    if size > table.max_mb * 2**20:
        raise AssignmentError(
            f"{toml}: the public files of [files] come to {size / 2**20:.1f} MB, over max_mb = {table.max_mb:g}",
            hint="ship smaller files (a subset of the data, float16 weights), or raise max_mb in [files]",
        )
    return names
