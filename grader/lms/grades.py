"""The grades that go back to an LMS: the latest verdict of each student of one assignment in a
gradebook, as grader.policy.final's final grade (through grader.policy.submitted.shown), with
the LMS id and display name the verdict recorded. Also `grader export csv`'s plain table."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from grader.config import Assignment
from grader.errors import UsageError
from grader.lms.sheet import inert

__all__ = ["ClassGrade", "class_grades", "gradebook_url", "normal_name", "plain_csv"]


@dataclass(frozen=True)
class ClassGrade:
    student: str
    lms: str
    lms_id: str
    display_name: str
    score: float  # the checks' score
    final: float  # what goes out
    max_score: float
    late: str  # the late policy's words ("" where none applies)
    submitted_at: str

    def comment(self) -> str:
        """Feedback in a line: the checks' score, the late penalty, the final grade."""
        late = f"; {self.late}" if self.late else ""
        return f"Checks: {self.score:g}/{self.max_score:g}{late}; final: {self.final:g}/{self.max_score:g}"


def normal_name(text: str) -> str:
    """A name as matching compares it: lowercase letters and digits only ("Lovelace, Ada" -> "lovelaceada")."""
    return re.sub(r"[\W_]+", "", text.lower())


def gradebook_url(value: str) -> str:
    """--gradebook: a batch's --out folder (its gradebook.sqlite) or a database URL."""
    from grader.batch.gradebook import SQLITE_FILE, default_url

    if "://" in value:
        return value
    folder = Path(value)
    if not (folder / SQLITE_FILE).is_file():
        raise UsageError(
            f"--gradebook {value}: no {SQLITE_FILE} there",
            hint="give the folder that `grader batch --out` wrote, or the gradebook's URL (--db)",
        )
    return default_url(folder)


def class_grades(assignment: Assignment, url: str) -> list[ClassGrade]:
    """The latest verdict of each student of `assignment` in the gradebook at `url`, sorted by student,
    with the graders' adjustments and late-penalty waivers (grader serve)."""
    from grader.batch.adjustments import current_adjustments
    from grader.batch.gradebook import Gradebook
    from grader.policy.grading import with_manual_grades
    from grader.policy.submitted import shown

    book = Gradebook(url)
    try:
        stored = book.verdicts_of(assignment.slug)
        stored = with_manual_grades(book, assignment, stored)  # given so far to questions a person grades
        latest = {v.student: v for v in sorted(stored.values(), key=lambda v: v.graded_at)}  # the latest of each
        adjusted = current_adjustments(book, assignment.slug, {s: v.sha256 for s, v in latest.items()})
    finally:
        book.close()
    out = []
    for student, verdict in sorted(latest.items()):
        result = verdict.result
        grade = shown(result, assignment.deadline, adjusted.get(student, ()))  # the desk's adjustments too
        late = grade.penalty
        words = grade.words if late is not None and (late.late_by_seconds > 0 or late.unknown) else ""
        out.append(
            ClassGrade(
                student=student,
                lms=result.lms,
                lms_id=result.lms_id,
                display_name=result.display_name,
                score=result.score,
                final=grade.grade.final,
                max_score=grade.grade.max_score,
                late=words,
                submitted_at=result.submitted_at,
            )
        )
    if not out:
        raise UsageError(
            f"the gradebook {url} holds no verdict of {assignment.slug}",
            hint="grade the class first: grader batch SUBMISSIONS --assignment DIR --out DIR",
        )
    return out


PLAIN_COLUMNS = ["student", "lms", "lms_id", "display_name", "submitted_at", "score", "late", "final", "max_score"]


def plain_csv(grades: list[ClassGrade]) -> str:
    """`grader export csv`: one row per student, every cell inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PLAIN_COLUMNS)
    for g in grades:
        writer.writerow(
            [
                inert(v)
                for v in (
                    g.student,
                    g.lms,
                    g.lms_id,
                    g.display_name,
                    g.submitted_at,
                    g.score,
                    g.late,
                    g.final,
                    g.max_score,
                )
            ]
        )
    return out.getvalue()
