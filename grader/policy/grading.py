"""Grading by question: the service the desk's pages and its /api call (and tests, and scripts).

For one question, student after student: `answers(question, only="not graded")` lists them in
order, `neighbours` gives the previous and next, `grade` applies rubric items, extra points and a
comment and records who and when. A save names the version of the grade it was made from
(0: none yet); when someone saved in between, it is refused with who and when (`StaleGrade`),
never lost. Comments are kept for reuse with how often they were used. A rubric item's points may
change later: every grade that applied it is totalled again, and the count is returned; an item
that grades apply cannot be removed (`RubricInUse`, with the count).

Each student's current submission is their latest verdict in the gradebook.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Mapping, Sequence

from grader.config import Assignment
from grader.errors import GraderError, UsageError
from grader.policy.gradestore import GradeStore, StoredItem
from grader.policy.manual import Grade, ManualStatus, rubric_points, status
from grader.policy.questions import ManualQuestion, RubricItem
from grader.results import ManualAnswer, Result

if TYPE_CHECKING:
    from grader.batch.gradebook import Gradebook, StoredVerdict

AnswerFilter = Literal["all", "graded", "not graded"]


class StaleGrade(GraderError):
    """Someone saved this grade after the version the save was made from."""

    exit_code = 1

    def __init__(self, message: str, *, by: str, at: str, version: int) -> None:
        super().__init__(message, hint="reload the answer to see their grade, then change it if you must")
        self.by, self.at, self.version = by, at, version


class RubricInUse(GraderError):
    """A rubric item that grades apply cannot be removed."""

    exit_code = 1


@dataclass(frozen=True)
class AnswerRow:
    student: str
    sha256: str
    answer: ManualAnswer  # as found, with its grade applied
    status: ManualStatus
    version: int  # of its grade; 0: not graded


def with_grades(result: Result, grades: Mapping[str, Grade]) -> Result:
    """`result` with the grades given to its manual questions (by question name)."""
    manual = []
    for answer in result.manual:
        grade = grades.get(answer.question)
        if grade is not None:
            answer = dataclasses.replace(
                answer,
                score=grade.points,
                rubric=[dataclasses.asdict(i) for i in grade.items],
                comment=grade.comment,
                graded_by=grade.by,
                graded_at=grade.at,
            )
        manual.append(answer)
    return dataclasses.replace(result, manual=manual)


class ManualGrading:
    """Grading the manual questions of one assignment in one gradebook."""

    def __init__(self, book: "Gradebook", assignment: Assignment) -> None:
        self.book, self.assignment = book, assignment
        self.store = GradeStore(book, assignment.slug)
        self.store.seed(assignment.manual)

    def question(self, name: str) -> ManualQuestion:
        found = next((q for q in self.assignment.manual if q.name == name), None)
        if found is None:
            known = ", ".join(q.name for q in self.assignment.manual) or "none"
            raise UsageError(
                f"'{self.assignment.slug}' has no manual question {name!r}", hint=f"its manual questions: {known}"
            )
        return found

    # -- reading ------------------------------------------------------------------------
    def latest(self) -> dict[str, "StoredVerdict"]:
        """Each student's current verdict: the latest graded."""
        out: dict[str, "StoredVerdict"] = {}
        for stored in self.book.verdicts_of(self.assignment.slug).values():
            if stored.student not in out or stored.graded_at > out[stored.student].graded_at:
                out[stored.student] = stored
        return dict(sorted(out.items()))

    def results(self) -> dict[str, tuple["StoredVerdict", Result]]:
        """Each student's current verdict, and its Result with the grades given so far."""
        ids = self.store.submission_ids()
        grades = self.store.grades()
        return {
            student: (stored, with_grades(stored.result, grades.get(ids[(student, stored.sha256)], {})))
            for student, stored in self.latest().items()
        }

    def applied(self, verdicts: dict[tuple[str, str], "StoredVerdict"]) -> dict[tuple[str, str], "StoredVerdict"]:
        """`verdicts` (keyed by student and sha256) with the grades their manual questions have."""
        ids = self.store.submission_ids()
        grades = self.store.grades()
        return {
            key: dataclasses.replace(stored, result=with_grades(stored.result, grades.get(ids.get(key, -1), {})))
            for key, stored in verdicts.items()
        }

    def answers(self, question: str, only: AnswerFilter = "all") -> list[AnswerRow]:
        """The answers to `question`, student by student; `only` graded or not graded ones."""
        self.question(question)
        ids = self.store.submission_ids()
        grades = self.store.grades()
        rows = []
        for student, stored in self.latest().items():
            given = grades.get(ids[(student, stored.sha256)], {})
            result = with_grades(stored.result, given)
            answer = next((a for a in result.manual if a.question == question), None)
            if answer is None:  # graded before the question was added: nothing to grade
                continue
            row = AnswerRow(
                student, stored.sha256, answer, status(answer), given[question].version if question in given else 0
            )
            if _kept(row, only):
                rows.append(row)
        return rows

    def neighbours(self, question: str, student: str, only: AnswerFilter = "all") -> tuple[str | None, str | None]:
        """The students before and after `student` in the order of `answers`, among those `only` keeps."""
        every = self.answers(question)
        names = [row.student for row in every]
        keep = {row.student for row in every if _kept(row, only)}
        at = names.index(student) if student in names else -1
        before = [n for n in names[: max(at, 0)] if n in keep]
        after = [n for n in names[at + 1 :] if n in keep]
        return (before[-1] if before else None), (after[0] if after else None)

    def rubric(self, question: str) -> list[StoredItem]:
        self.question(question)
        return self.store.items(question)

    def comments(self, question: str) -> list[tuple[str, int]]:
        """Comments kept for reuse, most used first: (text, times used)."""
        return self.store.comments(question)

    def waiting(self) -> int:
        """How many answers of the class still wait for a grader."""
        return sum(1 for _, result in self.results().values() for a in result.manual if status(a) == "waiting")

    # -- grading ------------------------------------------------------------------------
    def grade(
        self,
        question: str,
        student: str,
        *,
        items: Sequence[str] = (),
        comment: str = "",
        extra: float = 0.0,
        by: str,
        version: int,
    ) -> Grade:
        """Save a grade of `student`'s answer made from its grade's `version` (0: none yet)."""
        import sqlalchemy as sa

        asked = self.question(question)
        stored = self.latest().get(student)
        if stored is None:
            raise UsageError(
                f"no verdict of {student!r} for '{self.assignment.slug}' in the gradebook",
                hint="grade the class with `grader batch` first",
            )
        rubric = {item.id: item for item in self.store.items(question)}
        unknown = [i for i in items if i not in rubric]
        if unknown:
            raise UsageError(
                f"question {question!r} has no rubric item {unknown[0]!r}",
                hint="its items: " + (", ".join(rubric) or "none"),
            )
        chosen = [rubric[i] for i in dict.fromkeys(items)]
        points = rubric_points(asked, [i.points for i in chosen], extra, [i.points for i in rubric.values()])
        submission = self.store.submission_ids()[(student, stored.sha256)]
        values = {
            "submission_id": submission,
            "question": question,
            "points": points,
            "extra": float(extra),
            "comment": comment,
            "graded_by": by,
        }
        try:
            with self.book.engine.begin() as conn:
                old = self.store.current(conn, submission, question)
                if (old.version if old is not None else 0) != version:
                    raise _stale(student, question, old)
                self.store.write(conn, old, values, [i.key for i in chosen])
                if comment.strip() and (old is None or old.comment != comment):
                    self.store.use_comment(conn, question, comment)
        except sa.exc.IntegrityError:  # a first grade saved by someone else at the same moment
            with self.book.engine.connect() as conn:
                raise _stale(student, question, self.store.current(conn, submission, question)) from None
        return self.store.grades([submission])[submission][question]

    def set_item_points(self, question: str, item: str, points: float) -> int:
        """Change a rubric item's points; every grade that applied it is totalled again. How many."""
        asked = self.question(question)
        if points == 0:
            raise UsageError("a rubric item must add or take away points", hint="give it points other than 0")
        target = self._item(question, item)
        with self.book.engine.begin() as conn:
            self.store.set_item_points(conn, target.key, float(points))
            now = {i.key: (float(points) if i.key == target.key else i.points) for i in self.store.items(question)}
            rows = self.store.grades_using(conn, target.key)
            for row in rows:
                self.store.retotal(
                    conn, row.grade_id, rubric_points(asked, [now[k] for k in row.items], row.extra, now.values())
                )
        return len(rows)

    def add_item(self, question: str, item: RubricItem) -> None:
        self.question(question)
        if any(i.id == item.id for i in self.store.items(question)):
            raise UsageError(f"question {question!r} has a rubric item {item.id!r} already", hint="choose another id")
        self.store.add_item(question, item)

    def remove_item(self, question: str, item: str) -> None:
        """Remove a rubric item no grade applies; refused with the count of grades that apply it."""
        target = self._item(question, item)
        with self.book.engine.begin() as conn:
            used = len(self.store.grades_using(conn, target.key))
            if used:
                raise RubricInUse(
                    f"rubric item {item!r} of {question!r} is applied by {used} grade(s): not removed",
                    hint="take it off those grades first, or change its points instead",
                )
            self.store.delete_item(conn, target.key)

    def _item(self, question: str, item: str) -> StoredItem:
        found = next((i for i in self.rubric(question) if i.id == item), None)
        if found is None:
            raise UsageError(
                f"question {question!r} has no rubric item {item!r}",
                hint="its items: " + ", ".join(i.id for i in self.rubric(question)),
            )
        return found


def with_manual_grades(
    book: "Gradebook", assignment: Assignment, verdicts: dict[tuple[str, str], "StoredVerdict"]
) -> dict[tuple[str, str], "StoredVerdict"]:
    """`verdicts` with the grades given so far to their questions a person grades (none: unchanged)."""
    return ManualGrading(book, assignment).applied(verdicts) if assignment.manual else verdicts


def _kept(row: AnswerRow, only: AnswerFilter) -> bool:
    return only == "all" or (only == "graded") == (row.status == "graded")


def _stale(student: str, question: str, old: object) -> StaleGrade:
    by, version = str(getattr(old, "graded_by", "")), int(getattr(old, "version", 0))
    when = getattr(old, "graded_at", None)
    at = when.isoformat(timespec="seconds") if when is not None else ""
    if old is None:
        return StaleGrade(f"{student}'s answer to {question!r} has no grade any more", by="", at="", version=0)
    return StaleGrade(
        f"{student}'s answer to {question!r} was graded by {by or 'someone'} at {at} "
        "while you were grading it: your grade was not saved",
        by=by,
        at=at,
        version=version,
    )


__all__ = [
    "AnswerFilter",
    "AnswerRow",
    "ManualGrading",
    "RubricInUse",
    "StaleGrade",
    "with_grades",
    "with_manual_grades",
]
