"""The class's statistics over its rows, as the class report and the desk's assignment page show
them: the scores, the verdicts by status, the pass rate of each exercise and check, the most common
failures, what to re-teach.

Each row's part is a RowTally, made from that row alone; the statistics fold the tallies. The batch
makes each tally once; the desk keeps them on its rows, so that after a grader's save only the
changed student's tally is made again (a class of 1,000 is folded in milliseconds)."""

from __future__ import annotations

import functools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from grader.config import Assignment
from grader.policy.final import FinalGrade
from grader.policy.manual import final_of, waiting as waiting_questions
from grader.results import Result, mistakes_of

__all__ = ["NOT_GRADED_STATUSES", "ClassRow", "RowTally", "class_mistakes", "class_stats", "clip", "row_tally"]

NOT_GRADED_STATUSES = ("unreadable", "crashed", "timeout")


@dataclass
class ClassRow:
    """One student in the report."""

    student: str
    status: str
    result: Result | None  # None: no verdict (the grader could not grade it)
    source: str = ""
    feedback: str = ""  # link to the student's feedback page, relative to the report
    stale: bool = False  # its verdict was made with other checks than the current ones
    late: str = ""  # the late policy's words, where it took something or the time is unknown
    final: float | None = None  # grader.policy.final's grade (None: the verdict's score)

    @functools.cached_property
    def grade(self) -> FinalGrade | None:
        """The checks and the manual points given so far (grader.policy.manual.final_of), out of their
        maximum; made once (a row's result is not changed once the row is made)."""
        return final_of(self.result) if self.result else None

    @property
    def score(self) -> float:
        if self.final is not None and self.result is not None:
            return self.final
        return self.grade.final if self.grade else 0.0

    @property
    def waiting(self) -> list[str]:
        """The questions of this student still waiting for a grader."""
        return waiting_questions(self.result) if self.result else []

    @property
    def seconds(self) -> float:
        return self.result.execution_time if self.result else 0.0

    @property
    def reason(self) -> str:
        if self.result is None or self.status not in NOT_GRADED_STATUSES:
            return ""
        return self.result.errors[0].splitlines()[0] if self.result.errors else self.status


@dataclass(frozen=True)
class RowTally:
    """One row's part of the class's statistics (not its score: an adjustment moves that alone)."""

    graded: bool = False  # it has a verdict
    real: bool = False  # and its checks ran (not unreadable, crashed or timed out)
    max_score: float | None = None  # its grade's maximum, with the questions a person grades
    waiting: int = 0  # its questions still waiting for a grader
    exercises: tuple[tuple[str, bool], ...] = ()  # each exercise with checks: all of them passed
    checks: tuple[tuple[tuple[str, str, bool], bool], ...] = ()  # (exercise, check, hidden): passed
    failures: tuple[tuple[str, str], ...] = ()  # (what the class report says of it, the check)
    not_graded: str = ""  # a verdict that is not graded: its line in the failures
    mistakes: tuple[tuple[str, str], ...] = ()  # (exercise, mistake) as results.mistakes_of names them


def clip(text: str, n: int) -> str:
    """`text` on one line, at most `n` characters (an ellipsis where it was cut)."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def row_tally(row: ClassRow) -> RowTally:
    if row.result is None:
        return RowTally()
    grade = row.grade
    max_score = grade.max_score if grade else None
    if row.status in NOT_GRADED_STATUSES:
        return RowTally(
            graded=True,
            max_score=max_score,
            waiting=len(row.waiting),
            not_graded=clip(f"Not graded ({row.status}): {row.reason}", 150),
        )
    view = row.result.public_view()
    exercises = tuple((name, all(c.passed for c in checks)) for name, checks in view.by_exercise().items() if checks)
    failures = []
    for c in view.checks:
        if not c.passed:
            first = c.message.splitlines()[0] if c.message and not c.hidden else ""
            failures.append((clip(first or f"{c.name}: {'hidden check ' if c.hidden else ''}failed", 150), c.name))
    return RowTally(
        graded=True,
        real=True,
        max_score=max_score,
        waiting=len(row.waiting),
        exercises=exercises,
        checks=tuple(((c.exercise, c.name, c.hidden), c.passed) for c in view.checks),
        failures=tuple(failures),
        mistakes=tuple(mistakes_of(row.result)),
    )


def class_stats(
    assignment: Assignment, rows: list[ClassRow], tallies: Sequence[RowTally] | None = None
) -> dict[str, Any]:
    """The statistics of `rows`; `tallies`: their RowTallies, where the caller keeps them."""
    tallies = list(tallies) if tallies is not None else [row_tally(r) for r in rows]
    graded = [(r, t) for r, t in zip(rows, tallies) if t.graded]
    scores = [r.score for r, _t in graded]
    max_score = max((t.max_score for _r, t in graded if t.max_score is not None), default=0.0)
    ex_pass: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    check_pass: dict[tuple[str, str, bool], list[int]] = defaultdict(lambda: [0, 0])
    failures: Counter = Counter()
    failure_checks: dict[str, set[str]] = defaultdict(set)
    for _r, t in graded:  # per exercise and per check, over the submissions that were actually graded
        for name, passed in t.exercises:
            ex_pass[name][1] += 1
            ex_pass[name][0] += passed
        for key, passed in t.checks:
            check_pass[key][1] += 1
            check_pass[key][0] += passed
        failures.update(list(dict.fromkeys(msg for msg, _check in t.failures)))  # a student counts once per message
        for msg, check in t.failures:
            failure_checks[msg].add(check)
    for r, t in graded:
        if t.not_graded:
            failures[t.not_graded] += 1
            failure_checks[t.not_graded].add(r.status)
    exercises = list(assignment.exercises) + [e for e in ex_pass if e not in assignment.exercises]
    return {
        "mistakes": ranked_mistakes(assignment, (t.mistakes for _r, t in graded if t.real)),
        "students": len(rows),
        "graded": len(graded),
        "scores": scores,
        "max_score": max_score,
        "mean": statistics.fmean(scores) if scores else 0.0,
        "median": statistics.median(scores) if scores else 0.0,
        "statuses": Counter(r.status for r in rows),
        "exercise_rates": [(e, assignment.exercises.get(e, e), *ex_pass[e]) for e in exercises if e in ex_pass],
        "check_rates": [(ex, name, hidden, p, t) for (ex, name, hidden), (p, t) in check_pass.items()],
        "failures": failures.most_common(10),
        "failure_checks": failure_checks,
        "slowest": sorted((r for r, _t in graded), key=lambda r: -r.seconds)[:10],
        "waiting": sum(t.waiting for _r, t in graded),
        "manual": bool(assignment.manual),
    }


def class_mistakes(assignment: Assignment, rows: list[ClassRow]) -> list[tuple[str, str, int]]:
    """What to re-teach: (exercise title, mistake, students who made it), most students first
    within the assignment's exercise order. A student counts once per mistake."""
    return ranked_mistakes(assignment, (mistakes_of(row.result) for row in rows if row.result is not None))


def ranked_mistakes(assignment: Assignment, per_row: Iterable[Iterable[tuple[str, str]]]) -> list[tuple[str, str, int]]:
    counts: Counter = Counter()
    for mistakes in per_row:
        counts.update(mistakes)
    order = {name: i for i, name in enumerate(assignment.exercises)}
    ranked = sorted(counts.items(), key=lambda item: (order.get(item[0][0], len(order)), -item[1], item[0][1]))
    return [(assignment.exercises.get(ex, ex), mistake, n) for (ex, mistake), n in ranked]
