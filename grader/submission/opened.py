"""open_submission(): a notebook, a folder or a zip, read once, as the Submission grade() takes, with
the files that came with it (grader.submission.values.SubmittedFiles) and where they are meanwhile,
and the assignment it is graded for (given, or found from the slug the submission names).

    notebook.ipynb      the notebook; with beside=True (`grader check`) the other files directly
                        in its folder come too, with beside=False (a class folder's flat layout) none
    folder/             the notebook picked in it (grader.submission.pick) and the files of the
                        notebook's own folder
    submission.zip      the notebook picked in the zip and the files of its folder in the zip,
                        extracted to a temporary folder that lives as long as the context

`extra` (`--with FILE...`) adds files from anywhere. A submission in which no notebook can be
chosen is an unreadable Submission that says why: every check fails with those words.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from grader.config import Assignment
from grader.submission.notebook import Submission, read_submission
from grader.submission import archive, folder
from grader.submission.collect import Collector, file_sha256
from grader.submission.pick import pick_notebook
from grader.submission.values import SubmittedFiles

__all__ = ["AssignmentFor", "Opened", "attach_files", "collector_for", "gather", "is_zip", "open_submission"]


def collector_for(assignment: Assignment) -> Collector:
    return Collector(assignment.limits, {name: assignment.root / name for name in assignment.public_files})


def is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path)


def _not_graded(path: Path, problem: str) -> Submission:
    sha = file_sha256(path) if path.is_file() else hashlib.sha256(str(path).encode()).hexdigest()
    return Submission(path=path, sha256=sha, readable=False, problems=[problem])


def attach_files(submission: Submission, files: SubmittedFiles) -> Submission:
    """`submission` with `files`; each refused file is one of its warnings, in words."""
    return replace(submission, files=files, warnings=submission.warnings + files.warnings())


def gather(
    notebook: Path, assignment: Assignment, *, beside: bool = True, deep: bool = False, extra: tuple[Path, ...] = ()
) -> SubmittedFiles:
    """The files that come with a notebook already read: `beside` it in its folder (`deep`: and
    in the folders under it, for a folder that is a submission) and `extra`."""
    collector = collector_for(assignment)
    if beside:
        folder.beside(notebook, collector, deep=deep)
    folder.listed(list(extra), notebook, collector)
    return collector.result()


@dataclass(frozen=True)
class Opened:
    """A submission read, and the assignment it is graded for."""

    submission: Submission
    assignment: Assignment


AssignmentFor = Callable[[str | None], Assignment]  # the assignment a submission's slug (or none) names


@contextmanager
def open_submission(
    path: Path,
    assignment: Assignment | AssignmentFor,
    *,
    beside: bool = True,
    deep: bool = False,
    extra: tuple[Path, ...] = (),
) -> Iterator[Opened]:
    """The submission at `path` (a notebook, a folder or a zip), read once, with its files.

    `assignment` is the assignment, or the function that finds it from the slug the submission
    names (a notebook's metadata; a zip's notebook, read before anything is extracted). A
    notebook's files are those `beside` it in its folder (`deep`: and in the folders under it)."""
    path = Path(path)
    if is_zip(path):
        found = assignment if isinstance(assignment, Assignment) else assignment(archive.zip_slug(path))
        with _unzipped(path, found, extra) as submission:
            yield Opened(submission, found)
        return
    if not path.is_dir():
        submission = read_submission(path)  # once: its slug names the assignment, its bytes are graded
        found = assignment if isinstance(assignment, Assignment) else assignment(submission.slug)
        yield Opened(attach_files(submission, gather(path, found, beside=beside, deep=deep, extra=extra)), found)
        return
    found = assignment if isinstance(assignment, Assignment) else assignment(None)
    notebook, problem = pick_notebook(path.name, path, found.notebook)
    if notebook is None:
        yield Opened(_not_graded(path, problem), found)
        return
    yield Opened(attach_files(read_submission(notebook), gather(notebook, found, deep=True, extra=extra)), found)


@contextmanager
def _unzipped(path: Path, assignment: Assignment, extra: tuple[Path, ...]) -> Iterator[Submission]:
    """The notebook picked in the zip at `path` and the files of its folder, in a temporary folder."""
    collector = collector_for(assignment)
    tmp = Path(tempfile.mkdtemp(prefix="grader-submission-"))
    try:
        unpacked = archive.unpack(path, tmp, assignment.notebook, collector)
        if unpacked.notebook is None:
            yield _not_graded(path, unpacked.problem)
            return
        folder.listed(list(extra), unpacked.notebook, collector)
        yield attach_files(read_submission(unpacked.notebook), collector.result())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
