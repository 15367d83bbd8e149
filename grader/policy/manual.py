"""Questions a person grades, pure: their status, their points, and their part of the final grade.

A submission's `Result.manual` holds one `ManualAnswer` per [manual.<name>] question: the answer
as found (grader.policy.answers) and, once a person graded it, its points, rubric items and
comment (grader.policy.grading applies the stored grades). A question is

    waiting      its answer was found and nobody graded it yet: it counts for nothing so far
    graded       a person gave it points (rubric items, a comment)
    no answer    its cell was not in the submission: 0 points unless a grader changes it

A grade's points from its rubric items: an item adds its points (negative: takes them away);
a rubric whose items are all deductions starts from the question's full points, any other from
0; a grader's own extra points are added last; the sum is kept between 0 and the question's
points. `final_of` is the one place the final grade of a verdict is taken (adjustments come
with the desk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Literal, Protocol, Sequence

from grader.policy.final import FinalGrade, LatePenalty, ManualScore, Verdict, final_grade

if TYPE_CHECKING:
    from grader.policy.questions import ManualQuestion

ManualStatus = Literal["waiting", "graded", "no answer"]
MANUAL_WAITING = "waiting"  # grades.csv's column of the questions still waiting
STUDENT_WORDS = "graded by a person after submission"
WAITING_WORDS = "waiting for a grader"


@dataclass
class ManualAnswer:
    """A question a person grades in one submission: the answer as found, its grade once given (policy.manual)."""

    question: str  # its name in [manual.<name>]
    title: str
    points: float  # what it is worth
    found: bool = False  # False: "no answer", 0 points unless a grader changes it
    cell: int | None = None  # 0-based index of the answer's cell
    where: str = ""  # the cell in words: 'cell 12 (under "Question A")'
    kind: str = ""  # "markdown" or "code"
    text: str = ""  # the cell's text, bounded; the student's: escaped wherever shown
    outputs: list[dict[str, str]] = field(default_factory=list)  # {"mime", "data"}: a plot as image/png, text
    score: float | None = None  # given by a person; None: not graded (yet)
    rubric: list[dict[str, Any]] = field(default_factory=list)  # the rubric items applied: id, text, points
    comment: str = ""
    graded_by: str = ""  # and graded_at: ISO 8601, UTC
    graded_at: str = ""


class ManualVerdict(Verdict, Protocol):
    """What this module reads of a verdict (grader.results.Result, which totals through this module:
    described here, not imported, so that the two do not import each other)."""

    @property
    def manual(self) -> Sequence[ManualAnswer]: ...


@dataclass(frozen=True)
class AppliedItem:
    """A rubric item a grade applied, as it stands now (its points may have changed since)."""

    id: str
    text: str
    points: float


@dataclass(frozen=True)
class Grade:
    """A person's grade of one answer: who gave it and when; `version` counts its saves."""

    question: str
    points: float
    items: tuple[AppliedItem, ...] = ()
    extra: float = 0.0
    comment: str = ""
    by: str = ""
    at: str = ""
    version: int = 0


def status(answer: ManualAnswer) -> ManualStatus:
    if answer.score is not None:
        return "graded"
    return "waiting" if answer.found else "no answer"


def points_of(answer: ManualAnswer) -> float | None:
    """Its points as they count now: a person's, 0 for no answer, None while waiting."""
    if answer.score is not None:
        return answer.score
    return None if answer.found else 0.0


def manual_scores(result: ManualVerdict) -> list[ManualScore]:
    return [ManualScore(a.question, a.points, points_of(a)) for a in result.manual]


def final_of(result: ManualVerdict, penalty_percent: float | None = None) -> FinalGrade:
    """The final grade of `result` with its manual points, as every output shows it; `penalty_percent`:
    the late policy's, where one applies (grader.policy.submitted.shown decides it)."""
    penalty = LatePenalty(percent=penalty_percent) if penalty_percent is not None else None
    return final_grade(result, adjustments=(), manual=manual_scores(result), penalty=penalty)


def waiting(result: ManualVerdict) -> list[str]:
    """The questions of `result` still waiting for a grader."""
    return [a.question for a in result.manual if status(a) == "waiting"]


def csv_cells(result: ManualVerdict) -> dict[str, Any]:
    """grades.csv's cells of the manual questions: each one's points (empty while it waits), and MANUAL_WAITING."""
    if not result.manual:
        return {}
    cells: dict[str, Any] = {a.question: "" if points_of(a) is None else points_of(a) for a in result.manual}
    return {**cells, MANUAL_WAITING: "; ".join(waiting(result))}


def rubric_points(
    question: "ManualQuestion", applied: Iterable[float], extra: float = 0.0, rubric: Iterable[float] | None = None
) -> float:
    """A grade's points from the points of its applied rubric items (see the module's words);
    `rubric`: every item's points as they stand now (default: the question's own)."""
    every = list(rubric) if rubric is not None else [i.points for i in question.rubric]
    start = question.points if every and all(p < 0 for p in every) else 0.0
    total = start + sum(applied) + extra
    return round(min(max(total, 0.0), question.points), 6) + 0.0


def student_line(answer: ManualAnswer) -> str:
    """What `grader check` and grader.check() say of a manual question before it is graded."""
    found = f"answer found in {answer.where}" if answer.found else "no answer found: " + _no_answer_hint(answer)
    return f"{answer.title}: {STUDENT_WORDS} ({answer.points:g} points); {found}"


def _no_answer_hint(answer: ManualAnswer) -> str:
    return answer.where or "keep the question's cell as given and write your answer in it"


def gradescope_tests(result: ManualVerdict, visibility: str) -> list[dict[str, Any]]:
    """One results.json test per manual question, tagged `manual`."""
    tests = []
    for answer in result.manual:
        state, points = status(answer), points_of(answer)
        lines = {
            "waiting": f"Waiting for a grader: {STUDENT_WORDS}.",
            "graded": "Graded by a person.",
            "no answer": "No answer was found: 0 points unless a grader changes it.",
        }[state]
        words = [lines] + [f"{item['points']:+g}  {item['text']}" for item in answer.rubric]
        if answer.comment:
            words.append("Comment: " + answer.comment)
        tests.append(
            {
                "name": f"{answer.question}: {answer.title}",
                "score": 0.0 if points is None else points,
                "max_score": answer.points,
                **({} if points is None else {"status": "passed" if points >= answer.points else "failed"}),
                "output": "\n".join(words),
                "tags": ["manual"],
                "visibility": visibility,
                "output_format": "text",
                "extra_data": {
                    "manual": True,
                    "question": answer.question,
                    "manual_status": state,
                    "rubric": [item["id"] for item in answer.rubric],
                },
            }
        )
    return tests
