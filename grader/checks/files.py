"""The `assignment_files` fixture: the folder holding the assignment's files, for checks that read
them in the grader process (a held-out split, labels) and never in the kernel.

    def test_accuracy(nb, assignment_files):
        X, y = torch.load(assignment_files / "data/digits-test.pt")

It is the master folder solutions/<slug> where there is one, and `assignment_files / name` falls
back to the students' copy assignments/<slug> for a public file the master folder does not hold
(the Gradescope zip keeps the public files there). In a students' copy, where there is no master
folder, a check that asks for a file that is not there is skipped with the words
HIDDEN_ABSENT: the hidden checks do not run there anyway. The folder is found from the checks
being run (grader.course.assignment_dir_for_checks), when a check first asks for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

__all__ = ["HIDDEN_ABSENT", "AssignmentFilesPlugin", "AssignmentFolder", "assignment_folder"]

HIDDEN_ABSENT = "the assignment's hidden files are not in this copy"


class AssignmentFolder(type(Path())):  # type: ignore[misc]
    """A Path of the master folder (or, without one, of the students' copy) whose `/` finds a file
    where it is: the master folder, then the students' copy; absent everywhere without a master
    folder, the check is skipped (HIDDEN_ABSENT)."""

    master: Path | None = None
    copy: Path | None = None

    def _find(self, name: str) -> Path:
        for folder in (self.master, self.copy):
            if folder is not None and (folder / name).exists():
                return folder / name
        if self.master is None:
            pytest.skip(HIDDEN_ABSENT)
        return self.master / name  # the instructor's own mistake: opening it names the path

    def __truediv__(self, key: Any) -> Path:
        return self._find(str(key))

    def joinpath(self, *parts: Any) -> Path:
        return self._find("/".join(str(p) for p in parts))


def assignment_folder(master: Path | None, copy: Path) -> AssignmentFolder:
    folder = AssignmentFolder(str(master or copy))
    folder.master, folder.copy = master, copy
    return folder


class AssignmentFilesPlugin:
    """Registered beside the grading plugin: provides `assignment_files` for the checks under `paths`."""

    def __init__(self, paths: list[Path], root: Path | None = None) -> None:
        self.paths = paths
        self.root = root  # the assignment folder, when the front end was told it

    @pytest.fixture(scope="session")
    def assignment_files(self) -> Path:
        from grader.course import assignment_dir_for_checks, load_assignment

        root = self.root or assignment_dir_for_checks(self.paths)
        if root is None:
            pytest.skip("no assignment.toml was found above the checks: the assignment's files are not known")
        assignment = load_assignment(root)
        return assignment_folder(assignment.solutions, assignment.root)
