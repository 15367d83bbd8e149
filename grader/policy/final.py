"""The final grade: one pure function of the verdict, the adjustments, the manual points and the
late penalty. Every output shows `FinalGrade.final`; nothing else adds these up.

Order: a check's adjustment replaces that check's score; an exercise's adjustment replaces the
exercise's total (after its checks' adjustments); manual points are added; the late penalty takes
its percent of that sum, unless an instructor waived it (an adjustment of kind "late", which
grader.policy.submitted.shown turns into LatePenalty.waived). An adjustment whose check or
exercise the verdict no longer has is kept aside (`unmatched`), never applied to something else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, Sequence


class Check(Protocol):
    """What the final grade reads of a check (grader.results.CheckResult)."""

    @property
    def name(self) -> str: ...
    @property
    def exercise(self) -> str: ...
    @property
    def score(self) -> float: ...


class Verdict(Protocol):
    """What the final grade reads of a verdict (grader.results.Result, whose formats show the final
    grade: described here, not imported, so that the two modules do not import each other)."""

    @property
    def checks(self) -> Sequence[Check]: ...
    @property
    def score(self) -> float: ...
    @property
    def max_score(self) -> float: ...


AdjustmentKind = Literal["check", "exercise", "late"]  # "late": an instructor waived the late penalty


@dataclass(frozen=True)
class Adjustment:
    """A grader's decision about one check's (or exercise's) points, with the reason they gave."""

    kind: AdjustmentKind
    name: str  # the check's name, or the exercise's ("late penalty" for a waiver)
    points: float  # what it is worth now, in place of the automatic score (a waiver: 0)
    reason: str
    by: str = ""  # who made it
    at: str = ""  # when (ISO 8601, UTC)
    earlier: bool = False  # made on an earlier submission of this student


@dataclass(frozen=True)
class ManualScore:
    """A question a person grades: its points once given (None: waiting for a grader)."""

    question: str
    max_points: float
    points: float | None = None


@dataclass(frozen=True)
class LatePenalty:
    """The late policy's verdict on one submission (grader.policy.deadline makes it)."""

    percent: float  # of the score, 0 to 100
    late_by_seconds: float = 0.0
    words: str = ""  # "submitted 1 day 3 hours late: -10%"
    waived: bool = False  # an instructor waived it (with a reason, as an adjustment)
    unknown: bool = False  # the submission's time could not be read: not penalised, flagged


@dataclass(frozen=True)
class FinalGrade:
    automatic: float  # the verdict's own score
    adjusted: float  # the automatic checks after adjustments
    manual: float  # manual points given so far
    manual_waiting: int  # manual questions not graded yet
    before_penalty: float
    penalty_percent: float
    penalty_points: float
    final: float  # what everything shows
    max_score: float  # automatic checks and manual questions
    applied: tuple[Adjustment, ...] = field(default=())
    unmatched: tuple[Adjustment, ...] = field(default=())
    waiver: Adjustment | None = None  # the waiver of the late penalty, where there was one to waive

    @property
    def changed(self) -> bool:
        """Whether anything besides the checks moved the grade."""
        return bool(self.applied) or self.manual > 0 or self.penalty_points > 0


def final_grade(
    result: Verdict,
    adjustments: Sequence[Adjustment] = (),
    manual: Sequence[ManualScore] = (),
    penalty: LatePenalty | None = None,
) -> FinalGrade:
    checks = {check.name: check for check in result.checks}
    exercises = {check.exercise for check in result.checks}
    by_check = {a.name: a for a in adjustments if a.kind == "check" and a.name in checks}
    by_exercise = {a.name: a for a in adjustments if a.kind == "exercise" and a.name in exercises}
    totals: dict[str, float] = {}
    for check in result.checks:
        score = by_check[check.name].points if check.name in by_check else check.score
        totals[check.exercise] = totals.get(check.exercise, 0.0) + score
    for name, adjustment in by_exercise.items():
        totals[name] = adjustment.points
    adjusted = _round(sum(totals.values())) if result.checks else _round(result.score)
    given = _round(sum(m.points for m in manual if m.points is not None))
    before = _round(adjusted + given)
    percent = 0.0 if penalty is None or penalty.waived else min(max(penalty.percent, 0.0), 100.0)
    penalty_points = _round(before * percent / 100)
    applied = tuple(a for a in adjustments if by_check.get(a.name) is a or by_exercise.get(a.name) is a)
    waiver = (
        next((a for a in adjustments if a.kind == "late"), None) if penalty is not None and penalty.waived else None
    )
    return FinalGrade(
        automatic=result.score,
        adjusted=adjusted,
        manual=given,
        manual_waiting=sum(1 for m in manual if m.points is None),
        before_penalty=before,
        penalty_percent=percent,
        penalty_points=penalty_points,
        final=_round(max(before - penalty_points, 0.0)),
        max_score=_round(result.max_score + sum(m.max_points for m in manual)),
        applied=applied,
        unmatched=tuple(a for a in adjustments if a not in applied and a.kind != "late"),
        waiver=waiver,
    )


def _round(value: float) -> float:
    """Points as people read them: 0.1 + 0.2 is 0.3."""
    return round(value, 6) + 0.0
