"""A class as the desk lists it: each student's current verdict (the latest submission that has
one), its checks, the graders' adjustments and the final grade, from the `checks` and `verdicts`
tables in a handful of queries (1,000 students x 25 checks: see benchmarks/desk.py).

The recognised mistakes of a verdict live only in its result_json; they are read once per verdict
and kept (`MistakeCache`): a verdict row never changes, a regrade writes a new one. The rows it
makes are grader.desk.studentrow's values.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, Mapping

from grader.batch.adjustments import HistoryEntry, adjustments_of, for_policy, utc, versions_of
from grader.desk.studentrow import CheckRow, Facts, StudentRow
from grader.policy.final import Adjustment
from grader.policy.manual import ManualAnswer
from grader.results import CheckResult, Result

if TYPE_CHECKING:
    from grader.batch.gradebook import Gradebook
    from grader.policy.manual import Grade
    from grader.policy.deadline import Deadline


class MistakeCache:
    """A verdict -> its Facts, its checks as CheckResults: read once per verdict (a verdict row
    never changes: a regrade writes a new one), so a page after a batch's next verdict reads only
    that verdict's rows. A verdict is known by its id and the time it was graded: SQLite gives a
    regraded verdict the id of the one it replaced when that was the last row."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, Any], Facts] = {}
        self.checks: dict[tuple[int, Any], list[CheckResult]] = {}
        self.students: dict[
            tuple[str, str], tuple[Any, "StudentRow"]
        ] = {}  # the rows made, with what they were made of
        self.lock = threading.Lock()

    def fill(self, book: "Gradebook", keys: list[tuple[int, Any]]) -> None:
        """Read the verdicts of `keys` (id, graded_at) not read yet."""
        import sqlalchemy as sa

        wanted = {key[0]: key for key in keys if key not in self.known}  # id -> (id, graded_at)
        missing = list(wanted)
        v, c = book.verdicts, book.checks
        found: dict[int, Facts] = {}
        checks: dict[int, list[CheckResult]] = {i: [] for i in missing}
        columns = (c.c.verdict_id, c.c.exercise, c.c.name, c.c.hidden, c.c.points, c.c.score, c.c.status, c.c.message)
        with book.engine.connect() as conn:
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                for vid, text in conn.execute(sa.select(v.c.id, v.c.result_json).where(v.c.id.in_(chunk))):
                    found[vid] = facts_of(text)
                query = sa.select(*columns).where(c.c.verdict_id.in_(chunk)).order_by(c.c.id)
                for vid, exercise, name, hidden, points, score, status, message in conn.execute(query):
                    diagnosis = found[vid].diagnosis(name) if vid in found else ""
                    checks[vid].append(
                        CheckResult(
                            name=name,
                            exercise=exercise,
                            points=points,
                            score=score,
                            status=status,
                            hidden=hidden,
                            message=message,
                            diagnosis=diagnosis,
                        )
                    )
        with self.lock:
            self.known.update({wanted[vid]: facts for vid, facts in found.items()})
            self.checks.update({wanted[vid]: rows for vid, rows in checks.items()})


def facts_of(result_json: str) -> Facts:
    data = json.loads(result_json)
    seen: dict[tuple[str, str], None] = {}
    diagnoses = []
    for check in data.get("checks", []):
        if check.get("status") != "passed" and check.get("diagnosis"):
            seen.setdefault((str(check["exercise"]), str(check["diagnosis"])), None)
            diagnoses.append((str(check["name"]), str(check["diagnosis"])))
    errors = data.get("errors") or [""]
    stamp = tuple((k, str(data[k])) for k in STAMP_FIELDS if data.get(k))
    manual = tuple(ManualAnswer(**{**m, "text": "", "outputs": []}) for m in data.get("manual", []))
    return Facts(
        tuple(seen),
        tuple(diagnoses),
        str(errors[0]),
        float(data.get("execution_time", 0.0)),
        stamp,
        str(data.get("checks_digest", "")),
        manual,
    )


STAMP_FIELDS = ("submitted_at", "submitted_from", "due", "lms", "lms_id", "display_name")


def current_verdicts(book: "Gradebook", assignment: str, student: str | None = None) -> dict[str, Any]:
    """student -> the row of their latest submission that has a verdict."""
    import sqlalchemy as sa

    s, v = book.submissions, book.verdicts
    query = (
        sa.select(
            s.c.id.label("sid"),
            s.c.student,
            s.c.sha256,
            s.c.source,
            v.c.id.label("vid"),
            v.c.status,
            v.c.score,
            v.c.max_score,
            v.c.graded_at,
            v.c.device,
            v.c.isolation,
            v.c.reason,
        )
        .join(v, v.c.submission_id == s.c.id)
        .where(s.c.assignment == assignment)
    )
    if student is not None:
        query = query.where(s.c.student == student)
    latest: dict[str, Any] = {}
    with book.engine.connect() as conn:
        for row in conn.execute(query):
            if row.student not in latest or row.sid > latest[row.student].sid:
                latest[row.student] = row
    return latest


def manual_grades(book: "Gradebook", assignment: str) -> dict[int, dict[str, "Grade"]]:
    """The grades given to the questions a person grades: submission row -> question -> Grade."""
    from grader.policy.gradestore import GradeStore

    return GradeStore(book, assignment).grades()


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


def read_class(
    book: "Gradebook",
    assignment: str,
    cache: MistakeCache,
    student: str | None = None,
    deadline: "Deadline | None" = None,
    due: Mapping[str, str] | None = None,
) -> list[StudentRow]:
    """Every student of `assignment` (or just `student`), in the order of their ids; each final
    grade with the graders' adjustments and the late policy of `deadline` (`due`: the students'
    extensions, grader serve --extensions, in place of what their verdicts recorded)."""
    latest = current_verdicts(book, assignment, student)
    stored = adjustments_of(book, assignment, student)
    versions = versions_of(book, assignment)
    history = history_by_student(book, assignment, student)
    grades = manual_grades(book, assignment)
    cache.fill(book, [(row.vid, row.graded_at) for row in latest.values()])
    out = []
    for name in sorted(latest):
        row = latest[name]
        version = versions[name].version if name in versions else 0
        mine = history.get(name, [])
        # a student whose verdict, adjustments and history did not change is the row made before
        given = grades.get(row.sid, {})
        key = (
            row.vid,
            row.graded_at,
            version,
            len(mine),
            mine[0].at if mine else None,
            tuple(sorted((q, g.version) for q, g in given.items())),
        )
        made = cache.students.get((assignment, name))
        if made is not None and made[0] == key:
            out.append(made[1])
            continue
        adjustments = for_policy(stored.get(name, []), row.sha256)
        made_now = student_row(
            assignment,
            row,
            cache.checks.get((row.vid, row.graded_at), []),
            adjustments,
            cache.known.get((row.vid, row.graded_at), Facts()),
            version,
            mine,
            deadline,
            (due or {}).get(name, ""),
            given,
        )
        cache.students[(assignment, name)] = (key, made_now)
        out.append(made_now)
    return out


def student_row(
    assignment: str,
    row: Any,
    check_rows: list[CheckResult],
    adjustments: list[Adjustment],
    facts: Facts,
    version: int,
    history: list[HistoryEntry],
    deadline: "Deadline | None",
    due: str = "",
    grades: Mapping[str, "Grade"] | None = None,
) -> StudentRow:
    from dataclasses import replace

    from grader.policy.grading import with_grades
    from grader.policy.submitted import shown

    result = with_grades(light_result(assignment, row, check_rows, facts), grades or {})
    result = replace(result, due=due) if due else result
    final = shown(result, deadline, adjustments)
    grade = final.grade
    by_check = {a.name: a for a in grade.applied if a.kind == "check"}
    views = [
        CheckRow(
            c.name,
            c.exercise,
            c.status,
            c.score,
            c.points,
            c.hidden,
            c.name in by_check,
            by_check[c.name].points if c.name in by_check else c.score,
        )
        for c in check_rows
    ]
    return StudentRow(
        student=row.student,
        sha256=row.sha256,
        source=row.source,
        verdict_id=row.vid,
        status=row.status,
        score=row.score,
        max_score=row.max_score,
        graded_at=utc(row.graded_at),
        checks=views,
        grade=grade,
        adjustments=adjustments,
        facts=facts,
        version=version,
        history=history,
        result=result,
        reason=row.reason,
        late=final.late_data(),
    )


def light_result(assignment: str, row: Any, check_rows: list[CheckResult], facts: Facts) -> Result:
    """The verdict as its rows hold it (no tensors, tracebacks or cells): enough for the final grade
    and the class report, without reading result_json. The checks are shared: never changed."""
    from grader.policy.submitted import Stamp, stamped

    result = Result(
        submission=row.student,
        assignment=assignment,
        score=row.score,
        max_score=row.max_score,
        execution_time=facts.seconds,
        errors=[facts.error] if facts.error else [],
        readable=row.status != "unreadable",
        checks=check_rows,
        device=row.device,
        isolation=row.isolation,
        sha256=row.sha256,
        checks_digest=facts.checks_digest,
        manual=list(facts.manual),
    )
    return stamped(result, Stamp(**dict(facts.stamp))) if facts.stamp else result
