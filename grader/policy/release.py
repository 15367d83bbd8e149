"""`grader release`: the final feedback of a class, written where an LMS upload or nbgrader's
feedback folder expects it.

    DIR/<student>/<notebook>.html     the final feedback page: checks, adjustments with their reasons,
                                      manual points, rubric items, comments, the late policy
    DIR/<student>/results.json        the same verdict in Gradescope's schema

The gradebook is a batch's --out folder (its gradebook.sqlite) or a database URL. Each student's
current verdict (the latest) is released with the grades given to its manual questions; while
any answer still waits for a grader, the release is refused with how many, unless `partial`
(the page then says which questions are still waiting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.batch.gradebook import SQLITE_FILE, Gradebook, default_url
from grader.batch.outputs import safe_name
from grader.checking import Outputs, write_outputs
from grader.config import Assignment
from grader.errors import GraderError, UsageError
from grader.policy.grading import ManualGrading
from grader.policy.manual import waiting

RESULTS = "results.json"


class ReleaseRefused(GraderError):
    """Answers still wait for a grader, and a partial release was not asked for."""

    exit_code = 1


@dataclass
class Released:
    out: Path
    students: int = 0
    waiting: int = 0  # answers released while still waiting (--partial)
    files: list[Path] = field(default_factory=list)


def open_gradebook(where: str) -> Gradebook:
    """A database URL, or a batch's --out folder holding gradebook.sqlite."""
    if "://" in where:
        return Gradebook(where)
    folder = Path(where)
    if not (folder / SQLITE_FILE).is_file():
        raise UsageError(
            f"no gradebook in {folder}: {SQLITE_FILE} is not there",
            hint="give the --out folder of `grader batch`, or the database URL it wrote to (--db)",
        )
    return Gradebook(default_url(folder))


def release(assignment: Assignment, gradebook: str, out: Path, *, partial: bool = False) -> Released:
    """Write every student's final feedback page and results.json under `out`."""
    from grader.batch.adjustments import current_adjustments

    book = open_gradebook(gradebook)
    try:
        results = ManualGrading(book, assignment).results()
        adjusted = current_adjustments(book, assignment.slug, {s: stored.sha256 for s, (stored, _) in results.items()})
    finally:
        book.close()
    if not results:
        raise UsageError(
            f"the gradebook {gradebook} holds no verdict of '{assignment.slug}'",
            hint="grade the class with `grader batch` first",
        )
    left = {student: waiting(result) for student, (_, result) in results.items()}
    count = sum(len(names) for names in left.values())
    if count and not partial:
        students = sum(1 for names in left.values() if names)
        raise ReleaseRefused(
            f"{count} answer(s) of {students} student(s) are still waiting for a grader: nothing was released",
            hint="grade them first, or pass --partial to release now (the pages say which are waiting)",
        )
    done = Released(out=out, students=len(results), waiting=count)
    page = Path(assignment.notebook).stem + ".html"
    for student, (_, result) in results.items():
        folder = out / safe_name(student)
        paths = Outputs(results=folder / RESULTS, feedback=folder / page)
        write_outputs(result, assignment, paths, adjusted.get(student, ()))
        done.files += [folder / RESULTS, folder / page]
    return done
