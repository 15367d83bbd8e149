"""A class as the desk lists it: each student's current verdict (the latest submission that has
one), its checks, the graders' adjustments and the final grade, from the `checks` and `verdicts`
tables in a handful of queries (1,000 students x 25 checks: see benchmarks/desk.py).

The recognised mistakes of a verdict live only in its result_json; they are read once per verdict
and kept (`MistakeCache`): a verdict row never changes, a regrade writes a new one.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from grader.batch.adjustments import HistoryEntry, adjustments_of, for_policy, utc, versions_of
from grader.policy.final import Adjustment, FinalGrade, final_grade
from grader.results import CheckResult, Result

if TYPE_CHECKING:
    from grader.batch.gradebook import Gradebook


@dataclass(frozen=True)
class Facts:
    """What the list and the class report need of a verdict beyond its rows: its recognised
    mistakes (by check), its first error and how long it took."""

    mistakes: tuple[tuple[str, str], ...] = ()
    diagnoses: tuple[tuple[str, str], ...] = ()      # (check name, mistake) of the failed checks
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class CheckRow:
    name: str
    exercise: str
    status: str
    score: float                    # the automatic score
    max_score: float
    hidden: bool
    adjusted: bool = False
    final: float = 0.0              # what it counts for now (the adjustment's points when adjusted)


@dataclass
class StudentRow:
    student: str
    sha256: str
    source: str
    verdict_id: int
    status: str
    score: float                    # automatic
    max_score: float
    graded_at: datetime
    checks: list[CheckRow]
    grade: FinalGrade
    adjustments: list[Adjustment]
    facts: Facts = Facts()
    version: int = 0                # of the student's adjustments (optimistic concurrency)
    history: list[HistoryEntry] = field(default_factory=list)
    result: Result | None = None    # the light verdict (light_result)

    @property
    def final(self) -> float:
        return self.grade.final

    @property
    def adjusted(self) -> bool:
        return bool(self.grade.applied)

    @property
    def failed_exercises(self) -> list[str]:
        return sorted({c.exercise for c in self.checks if c.status != "passed"})

    def to_json(self) -> dict[str, Any]:
        """The student as the API gives it (docs/desk.md)."""
        return {
            "student": self.student, "status": self.status, "score": self.score, "final": self.final,
            "max_score": self.grade.max_score, "adjusted": self.adjusted, "sha256": self.sha256,
            "graded_at": self.graded_at.isoformat(timespec="seconds"), "version": self.version,
            "failed_exercises": self.failed_exercises,
            "mistakes": [{"exercise": e, "mistake": m} for e, m in self.facts.mistakes],
            "checks": [{"name": c.name, "exercise": c.exercise, "status": c.status, "score": c.score,
                        "max_score": c.max_score, "adjusted": c.adjusted, "final": c.final, "hidden": c.hidden}
                       for c in self.checks],
            "adjustments": [adjustment_json(a) for a in self.adjustments],
            "history": [{"at": h.at.isoformat(timespec="seconds"), "by": h.author, "action": h.action,
                         "detail": h.detail} for h in self.history],
        }


def adjustment_json(a: Adjustment) -> dict[str, Any]:
    return {"kind": a.kind, "name": a.name, "points": a.points, "reason": a.reason, "by": a.by, "at": a.at,
            "earlier": a.earlier}


class MistakeCache:
    """verdict id -> its Facts; read from result_json once per verdict (a verdict row never
    changes: a regrade writes a new one)."""

    def __init__(self) -> None:
        self.known: dict[int, Facts] = {}
        self.lock = threading.Lock()

    def fill(self, book: "Gradebook", ids: list[int]) -> None:
        import sqlalchemy as sa

        missing = [i for i in ids if i not in self.known]
        v = book.verdicts
        found: dict[int, Facts] = {}
        with book.engine.connect() as conn:
            for start in range(0, len(missing), 500):
                chunk = missing[start:start + 500]
                for row in conn.execute(sa.select(v.c.id, v.c.result_json).where(v.c.id.in_(chunk))):
                    found[row.id] = facts_of(row.result_json)
        with self.lock:
            self.known.update(found)


def facts_of(result_json: str) -> Facts:
    data = json.loads(result_json)
    seen: dict[tuple[str, str], None] = {}
    diagnoses = []
    for check in data.get("checks", []):
        if check.get("status") != "passed" and check.get("diagnosis"):
            seen.setdefault((str(check["exercise"]), str(check["diagnosis"])), None)
            diagnoses.append((str(check["name"]), str(check["diagnosis"])))
    errors = data.get("errors") or [""]
    return Facts(tuple(seen), tuple(diagnoses), str(errors[0]), float(data.get("execution_time", 0.0)))


def current_verdicts(book: "Gradebook", assignment: str, student: str | None = None) -> dict[str, Any]:
    """student -> the row of their latest submission that has a verdict."""
    import sqlalchemy as sa

    s, v = book.submissions, book.verdicts
    query = (sa.select(s.c.id.label("sid"), s.c.student, s.c.sha256, s.c.source, v.c.id.label("vid"), v.c.status,
                       v.c.score, v.c.max_score, v.c.graded_at)
             .join(v, v.c.submission_id == s.c.id).where(s.c.assignment == assignment))
    if student is not None:
        query = query.where(s.c.student == student)
    latest: dict[str, Any] = {}
    with book.engine.connect() as conn:
        for row in conn.execute(query):
            if row.student not in latest or row.sid > latest[row.student].sid:
                latest[row.student] = row
    return latest


def checks_of(book: "Gradebook", assignment: str, verdict_ids: set[int]) -> dict[int, list[Any]]:
    import sqlalchemy as sa

    c, v, s = book.checks, book.verdicts, book.submissions
    query = (sa.select(c.c.verdict_id, c.c.exercise, c.c.name, c.c.hidden, c.c.points, c.c.score, c.c.status,
                       c.c.message)
             .join(v, v.c.id == c.c.verdict_id).join(s, s.c.id == v.c.submission_id)
             .where(s.c.assignment == assignment).order_by(c.c.id))
    if len(verdict_ids) == 1:
        query = query.where(c.c.verdict_id == next(iter(verdict_ids)))
    out: dict[int, list[Any]] = {}
    with book.engine.connect() as conn:
        for row in conn.execute(query):
            if row.verdict_id in verdict_ids:
                out.setdefault(row.verdict_id, []).append(row)
    return out


def history_by_student(book: "Gradebook", assignment: str, student: str | None = None) -> dict[str, list[HistoryEntry]]:
    import sqlalchemy as sa

    h = book.desk.history
    query = sa.select(h).where(h.c.assignment == assignment).order_by(h.c.id.desc())
    if student is not None:
        query = query.where(h.c.student == student)
    out: dict[str, list[HistoryEntry]] = {}
    with book.engine.connect() as conn:
        for r in conn.execute(query):
            out.setdefault(r.student, []).append(HistoryEntry(utc(r.at), r.author, r.action, r.detail))
    return out


def read_class(book: "Gradebook", assignment: str, cache: MistakeCache, student: str | None = None) -> list[StudentRow]:
    """Every student of `assignment` (or just `student`), in the order of their ids."""
    latest = current_verdicts(book, assignment, student)
    checks = checks_of(book, assignment, {row.vid for row in latest.values()})
    stored = adjustments_of(book, assignment, student)
    versions = versions_of(book, assignment)
    history = history_by_student(book, assignment, student)
    cache.fill(book, [row.vid for row in latest.values()])
    out = []
    for name in sorted(latest):
        row = latest[name]
        adjustments = for_policy(stored.get(name, []), row.sha256)
        out.append(student_row(assignment, row, checks.get(row.vid, []), adjustments,
                               cache.known.get(row.vid, Facts()), versions[name].version if name in versions else 0,
                               history.get(name, [])))
    return out


def student_row(assignment: str, row: Any, check_rows: list[Any], adjustments: list[Adjustment],
                facts: Facts, version: int, history: list[HistoryEntry]) -> StudentRow:
    result = light_result(assignment, row, check_rows, facts)
    grade = final_grade(result, adjustments)
    by_check = {a.name: a for a in grade.applied if a.kind == "check"}
    views = [CheckRow(c.name, c.exercise, c.status, c.score, c.points, c.hidden, c.name in by_check,
                      by_check[c.name].points if c.name in by_check else c.score) for c in check_rows]
    return StudentRow(student=row.student, sha256=row.sha256, source=row.source, verdict_id=row.vid, status=row.status,
                      score=row.score, max_score=row.max_score, graded_at=utc(row.graded_at), checks=views, grade=grade,
                      adjustments=adjustments, facts=facts, version=version, history=history, result=result)


def light_result(assignment: str, row: Any, check_rows: list[Any], facts: Facts) -> Result:
    """The verdict as its rows hold it (no tensors, tracebacks or cells): enough for the final grade
    and the class report, without reading result_json."""
    diagnoses = dict(facts.diagnoses)
    return Result(submission=row.student, assignment=assignment, score=row.score, max_score=row.max_score,
                  execution_time=facts.seconds, errors=[facts.error] if facts.error else [],
                  readable=row.status != "unreadable",
                  checks=[CheckResult(name=c.name, exercise=c.exercise, points=c.points, score=c.score,
                                      status=c.status, hidden=c.hidden, message=c.message,
                                      diagnosis=diagnoses.get(c.name, "")) for c in check_rows])
