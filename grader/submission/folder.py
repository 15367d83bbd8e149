"""The files beside a notebook: what `grader check NOTEBOOK` gives the kernel along with the
notebook (the files directly in its folder: that folder may be ~/Downloads or a whole class), and
what a submission folder gives (a student's folder in `grader batch`, a Gradescope upload: every
file of the notebook's folder and of the folders under it, `deep`).

Other notebooks, hidden entries and litter are not taken; links are refused (a link could name
any file of the machine); the rest goes through the Collector's bounds. The walk stops once it
has looked at LOOK_AT_MOST entries per file allowed: a notebook in ~/Downloads costs little.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from grader.submission.collect import Collector, file_sha256
from grader.submission.names import skipped

__all__ = ["beside", "listed"]


def _walk(folder: Path, deep: bool = True) -> Iterator[Path]:
    """Files under `folder` (only those directly in it unless `deep`), sorted, hidden and litter
    folders left out; links (to folders too) as themselves, never followed."""
    for root, dirs, files in os.walk(folder):
        if not deep:
            yield from (Path(root) / name for name in sorted(files))
            return
        keep = []
        for name in sorted(dirs):
            path = os.path.join(root, name)
            if os.path.islink(path):
                yield Path(path)
            elif not skipped(name):
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            yield Path(root) / name


def _add(collector: Collector, root: Path, path: Path) -> None:
    sent = path.relative_to(root).as_posix()
    if path.is_symlink():
        if not sent.lower().endswith(".ipynb"):
            collector.refuse(sent, "a link (only plain files are taken)")
        return
    if not path.is_file():
        return
    size = path.stat().st_size
    name = collector.consider(sent, size, lambda: file_sha256(path))
    if name is not None:
        collector.take(name, size, path, sent)


COURSE_FILES = ("assignment.toml", "checks")  # an assignment folder's own: never the student's files


def _course_file(root: Path, path: Path) -> bool:
    """In an assignment folder (a student's copy from `grader assign`): its toml and its checks."""
    return (root / COURSE_FILES[0]).is_file() and path.relative_to(root).parts[0] in COURSE_FILES


def _take_all(collector: Collector, root: Path, paths: Iterator[Path], skip: Path | None = None) -> None:
    for path in paths:
        if path == skip or _course_file(root, path):
            continue
        if collector.full:
            collector.unlisted = True
            return
        _add(collector, root, path)


def beside(notebook: Path, collector: Collector, *, deep: bool) -> None:
    """Consider every file in the notebook's folder (the notebook itself aside); `deep`: and in the
    folders under it."""
    notebook = Path(os.path.abspath(notebook))
    _take_all(collector, notebook.parent, _walk(notebook.parent, deep), skip=notebook)


def listed(paths: list[Path], notebook: Path, collector: Collector) -> None:
    """`--with FILE...`: each file (every file of a folder) named by its path relative to the
    notebook's folder, or, when it lies elsewhere, relative to the folder it was given in."""
    base = Path(os.path.abspath(notebook)).parent
    for given in paths:
        path = Path(os.path.abspath(given))
        root = base if path.is_relative_to(base) and path != base else path.parent
        _take_all(collector, root, _walk(path) if path.is_dir() and not path.is_symlink() else iter([path]))
