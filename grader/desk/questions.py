"""Grading by question on the desk: what its question pages and their /api twins show and save.

A thin layer over grader.policy.grading.ManualGrading, which holds the logic (the order of the
answers, the filter, next and previous, the rubric arithmetic, stale saves refused with who and
when); here: who may do what, the answer as the page shows it, and the batch's files rewritten
after each change (Desk.refresh_outputs), as after an adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Sequence

from grader.desk.service import Desk, NotFound, User
from grader.errors import UsageError

if TYPE_CHECKING:
    from grader.policy.grading import AnswerFilter, AnswerRow, ManualGrading
    from grader.policy.manual import Grade
    from grader.policy.questions import ManualQuestion

IMAGES = ("image/png", "image/jpeg")  # the only outputs shown as images (checked base64 when kept)
FILTERS = {"all": "all", "not-graded": "not graded", "graded": "graded"}  # ?only= in an address


@dataclass(frozen=True)
class QuestionSummary:
    name: str
    title: str
    points: float
    answers: int
    waiting: int  # answers found that nobody graded yet

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.name,
            "title": self.title,
            "points": self.points,
            "answers": self.answers,
            "waiting": self.waiting,
        }


def grading_of(desk: Desk, slug: str) -> "ManualGrading":
    from grader.policy.grading import ManualGrading

    if slug not in desk.slugs():
        raise NotFound(f"no assignment {slug!r} in the gradebook")
    return ManualGrading(desk.book, desk.assignment(slug))


def question_list(desk: Desk, slug: str) -> list[QuestionSummary]:
    """The assignment's questions a person grades, each with how many answers wait (from the
    desk's class list, read again only when the class's stamp moves)."""
    from grader.policy.manual import status

    questions = desk.assignment(slug).manual
    if not questions:
        return []
    answers = [a for row in desk.students(slug) if row.result is not None for a in row.result.manual]
    return [
        QuestionSummary(
            q.name,
            q.title,
            q.points,
            sum(a.question == q.name for a in answers),
            sum(a.question == q.name and status(a) == "waiting" for a in answers),
        )
        for q in questions
    ]


def filter_of(value: str) -> "AnswerFilter":
    """?only=not-graded (or graded, all) as the service's filter; anything else: all."""
    return FILTERS.get(value, "all")  # type: ignore[return-value]


def asked_question(grading: "ManualGrading", question: str) -> "ManualQuestion":
    """The question named `question` of the assignment; one it does not have is a 404 naming it."""
    try:
        return grading.question(question)
    except UsageError as exc:
        raise NotFound(exc.message) from None


def question_view(desk: Desk, slug: str, question: str, student: str | None, only: "AnswerFilter") -> dict[str, Any]:
    """One answer of `question` (`student`'s, or the first that `only` keeps) with what grading it needs."""
    grading = grading_of(desk, slug)
    asked = asked_question(grading, question)
    every = grading.answers(question)
    kept = [r for r in every if only == "all" or (only == "graded") == (r.status == "graded")]
    if student is None:
        row = kept[0] if kept else None
    else:
        row = next((r for r in every if r.student == student), None)
        if row is None:
            raise NotFound(f"no student {student!r} with an answer to {question!r} in {slug}")
    before, after = grading.neighbours(question, row.student, only) if row else (None, None)
    return {
        "extra": extra_of(grading, question, row) if row else 0.0,
        "question": asked,
        "row": row,
        "rubric": grading.rubric(question),
        "comments": grading.comments(question),
        "answers": len(every),
        "waiting": sum(r.status == "waiting" for r in every),
        "kept": len(kept),
        "before": before,
        "after": after,
        "only": only,
        "applied": {i["id"] for i in row.answer.rubric} if row else set(),
    }


def extra_of(grading: "ManualGrading", question: str, row: "AnswerRow") -> float:
    """The extra points of the answer's grade (0: none), for the form to keep them."""
    if not row.version:
        return 0.0
    submission = grading.store.submission_ids()[(row.student, row.sha256)]
    grade = grading.store.grades([submission]).get(submission, {}).get(question)
    return grade.extra if grade is not None else 0.0


def answer_json(row: "AnswerRow") -> dict[str, Any]:
    a = row.answer
    return {
        "student": row.student,
        "status": row.status,
        "version": row.version,
        "found": a.found,
        "where": a.where,
        "kind": a.kind,
        "text": a.text,
        "outputs": a.outputs,
        "points": a.score,
        "max_points": a.points,
        "items": [i["id"] for i in a.rubric],
        "comment": a.comment,
        "graded_by": a.graded_by,
        "graded_at": a.graded_at or None,
    }


def answers_json(desk: Desk, slug: str, question: str, only: "AnswerFilter") -> dict[str, Any]:
    """GET /api/.../questions/{question}: the question, its rubric and comments, its answers."""
    grading = grading_of(desk, slug)
    asked = asked_question(grading, question)
    every = grading.answers(question)
    return {
        "assignment": slug,
        "question": asked.name,
        "title": asked.title,
        "points": asked.points,
        "waiting": sum(r.status == "waiting" for r in every),
        "rubric": [{"id": i.id, "text": i.text, "points": i.points, "uses": i.uses} for i in grading.rubric(question)],
        "comments": [{"text": t, "uses": n} for t, n in grading.comments(question)],
        "answers": [answer_json(r) for r in grading.answers(question, only)],
    }


def grade(
    desk: Desk,
    user: User,
    slug: str,
    question: str,
    student: str,
    items: Sequence[str],
    extra: float,
    comment: str,
    version: int,
) -> "Grade":
    """Save `user`'s grade of one answer (StaleGrade where someone saved since `version`), then
    rewrite the batch's files."""
    saved = grading_of(desk, slug).grade(
        question, student, items=list(items), comment=comment.strip(), extra=extra, by=user.name, version=version
    )
    desk.refresh_outputs(slug, students=[student])
    return saved


def set_item_points(desk: Desk, user: User, slug: str, question: str, item: str, points: float) -> int:
    """An instructor changes a rubric item's points: every grade that applied it follows; how many."""
    from grader.batch.adjustments import NotAllowed

    if user.role != "instructor":
        raise NotAllowed("only an instructor changes a rubric item's points", hint="ask an instructor")
    grading = grading_of(desk, slug)
    using = [r.student for r in grading.answers(question) if any(i["id"] == item for i in r.answer.rubric)]
    changed = grading.set_item_points(question, item, points)
    desk.refresh_outputs(slug, students=using)
    return changed


def stale_words(by: str, at: str) -> str:
    """'Sam changed this at 14:02' (local time) of a StaleGrade."""
    try:
        clock = datetime.fromisoformat(at).astimezone().strftime("%H:%M")
    except ValueError:
        clock = at or "a moment ago"
    return f"{by or 'Someone'} changed this at {clock}"


def shown_outputs(outputs: list[dict[str, str]]) -> list[dict[str, str]]:
    """The answer's outputs the page shows: images (PNG/JPEG only) and text; nothing else."""
    return [o for o in outputs if o.get("mime") in IMAGES or o.get("mime") == "text/plain"]
