"""Files a kernel sees in its working folder, read-only: the assignment's public files and the
files submitted with the notebook.

A kernel's files are part of its SandboxSpec (`SandboxSpec.files`: each a name relative to the
working folder and the host file it is a copy of). `prepare_workdir` stages them before the kernel
starts: under a sandbox into the kernel's folder (`<workdir>/files`), from where bubblewrap
(`launch.bwrap_argv`) or the zygote (`zygote/mounts.py: bind_files`) binds each top-level entry
read-only into the kernel's home, its working folder, and then hides the staging folder under an
empty tmpfs; without a sandbox, straight into the home, as files the kernel may read but not write
(0444, owned by the grader; the kernel runs as another uid when the grader is root). Nothing else
of the host is shown: hidden assignment files are never in a spec.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.config import Assignment

__all__ = ["STAGE_DIR", "KernelFile", "assignment_kernel_files", "bwrap_binds", "stage", "top_level"]

STAGE_DIR = "files"  # <workdir>/files: the staged copies, bound into the home, then hidden


@dataclass(frozen=True)
class KernelFile:
    """One file of a kernel's working folder: `name` (a posix path relative to it) and `source`,
    the host file whose bytes it holds."""

    name: str
    source: str


def assignment_kernel_files(assignment: "Assignment") -> tuple[KernelFile, ...]:
    """The assignment's public files ([files] public), as its students' folder holds them."""
    return tuple(KernelFile(name, str(assignment.root / name)) for name in assignment.public_files)


def top_level(files: tuple[KernelFile, ...]) -> tuple[str, ...]:
    """The first components of the files' names, each once, in order: what is bound into the home."""
    seen: dict[str, None] = {}
    for file in files:
        seen.setdefault(file.name.split("/")[0], None)
    return tuple(seen)


def _linkable(source: Path) -> bool:
    """A hard link will do when every uid may read the file (it is only ever shown read-only)."""
    try:
        mode = source.stat().st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IROTH) and stat.S_ISREG(mode)


def _place(source: Path, target: Path, link: bool) -> None:
    if target.exists() or target.is_symlink():
        target.unlink()
    if link and _linkable(source):
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another filesystem, or not allowed: a copy
    shutil.copyfile(source, target)
    os.chmod(target, 0o444)


def stage(files: tuple[KernelFile, ...], dest: Path, *, link: bool) -> None:
    """Put each file at `dest/<name>` (folders 0755). `link`: a hard link where it can be, for a
    sandbox that shows the files only through read-only binds; else a copy the kernel cannot write."""
    for file in files:
        target = dest / file.name
        for parent in reversed(target.relative_to(dest).parents):
            folder = dest / parent
            if not folder.is_dir():
                folder.mkdir()
                os.chmod(folder, 0o755)
        _place(Path(file.source), target, link)


def bwrap_binds(files: tuple[KernelFile, ...], workdir: str, home: str) -> list[str]:
    """bubblewrap's arguments (after the home's tmpfs): each staged top-level entry bound read-only
    into the home, then the staging folder hidden under an empty tmpfs."""
    if not files:
        return []
    staged = Path(workdir) / STAGE_DIR
    out: list[str] = []
    for name in top_level(files):
        out += ["--ro-bind", str(staged / name), str(Path(home) / name)]
    return out + ["--tmpfs", str(staged)]
