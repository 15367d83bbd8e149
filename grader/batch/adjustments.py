"""Graders' adjustments in the gradebook: stored per assignment, student and check (or exercise)
name, so that they outlive regrades; a version per student's adjustments, so that a second
grader's save made on a stale page is refused rather than lost; the history of every change.

A save runs in one transaction: the student's version row is read (locked with FOR UPDATE where
the database has row locks), compared with the version the grader's page was made from, the
adjustment written, the version raised and the history appended. Two graders saving at once: one
commits, the other finds the version moved (or, racing on the first insert, a unique key) and is
refused with who changed it and when.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Sequence

from grader.errors import GraderError
from grader.policy.final import Adjustment, AdjustmentKind

if TYPE_CHECKING:
    from grader.batch.gradebook import Gradebook

HistoryAction = Literal["adjust", "remove", "regrade", "comment", "waive"]
ATTEMPTS = 6


class StaleEdit(GraderError):
    """Someone else changed this student's grade since the page was made."""

    exit_code = 1

    def __init__(self, by: str, at: datetime | None, version: int) -> None:
        when = at.astimezone().strftime("%H:%M") if at else "just now"
        super().__init__(
            f"{by} changed this at {when}", hint="the page shows the current state; make your change again"
        )
        self.by, self.at, self.version = by, at, version


class NotAllowed(GraderError):
    """A grader's role does not allow this change."""

    exit_code = 1


@dataclass(frozen=True)
class StoredAdjustment:
    student: str
    kind: AdjustmentKind
    name: str
    points: float
    reason: str
    author: str
    sha256: str  # the submission it was made on
    created_at: datetime

    def for_policy(self, current_sha: str) -> Adjustment:
        return Adjustment(
            kind=self.kind,
            name=self.name,
            points=self.points,
            reason=self.reason,
            by=self.author,
            at=self.created_at.isoformat(timespec="seconds"),
            earlier=self.sha256 != current_sha,
        )


@dataclass(frozen=True)
class GradeVersion:
    version: int = 0
    updated_by: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    author: str
    action: str
    detail: str


@dataclass(frozen=True)
class Change:
    """One grader's change to one student's adjustments."""

    assignment: str
    student: str
    kind: AdjustmentKind
    name: str
    points: float | None  # None: remove the adjustment
    reason: str
    author: str
    sha256: str  # the submission the grader looked at
    expected_version: int | None  # the version the grader's page showed (None: do not check)
    may_replace_others: bool  # an instructor may change another grader's adjustment


def utc(value: datetime) -> datetime:
    """SQLite hands back the UTC time it was given without its zone; PostgreSQL with it."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def adjustments_of(book: "Gradebook", assignment: str, student: str | None = None) -> dict[str, list[StoredAdjustment]]:
    """Every adjustment of `assignment` (of one student when given), by student, oldest first."""
    import sqlalchemy as sa

    a = book.desk.adjustments
    query = sa.select(a).where(a.c.assignment == assignment).order_by(a.c.id)
    if student is not None:
        query = query.where(a.c.student == student)
    out: dict[str, list[StoredAdjustment]] = {}
    with book.engine.connect() as conn:
        for row in conn.execute(query):
            out.setdefault(row.student, []).append(
                StoredAdjustment(
                    row.student, row.kind, row.name, row.points, row.reason, row.author, row.sha256, utc(row.created_at)
                )
            )
    return out


def versions_of(book: "Gradebook", assignment: str) -> dict[str, GradeVersion]:
    import sqlalchemy as sa

    g = book.desk.grade_versions
    with book.engine.connect() as conn:
        return {
            row.student: GradeVersion(row.version, row.updated_by, utc(row.updated_at))
            for row in conn.execute(sa.select(g).where(g.c.assignment == assignment))
        }


def version_of(book: "Gradebook", assignment: str, student: str) -> GradeVersion:
    import sqlalchemy as sa

    g = book.desk.grade_versions
    with book.engine.connect() as conn:
        row = conn.execute(sa.select(g).where(g.c.assignment == assignment, g.c.student == student)).first()
    return GradeVersion(row.version, row.updated_by, utc(row.updated_at)) if row else GradeVersion()


def history_of(book: "Gradebook", assignment: str, student: str) -> list[HistoryEntry]:
    """Every change and regrade of one student, newest first."""
    import sqlalchemy as sa

    h = book.desk.history
    query = sa.select(h).where(h.c.assignment == assignment, h.c.student == student).order_by(h.c.id.desc())
    with book.engine.connect() as conn:
        return [HistoryEntry(utc(r.at), r.author, r.action, r.detail) for r in conn.execute(query)]


def record_history(
    book: "Gradebook", assignment: str, student: str, author: str, action: HistoryAction, detail: str, conn: Any = None
) -> None:
    from grader.batch.gradebook import db_text

    values = {
        "assignment": assignment,
        "student": student,
        "at": datetime.now(timezone.utc),
        "author": db_text(author, 200),
        "action": action,
        "detail": db_text(detail),
    }
    if conn is not None:
        conn.execute(book.desk.history.insert().values(**values))
        return
    with book.engine.begin() as own:
        own.execute(book.desk.history.insert().values(**values))


def save(book: "Gradebook", change: Change) -> GradeVersion:
    """Apply `change` in one transaction; StaleEdit when the student's grade moved since the
    grader's page was made, NotAllowed when it would replace another grader's adjustment."""
    import sqlalchemy as sa

    for attempt in range(ATTEMPTS):
        try:
            with book.engine.begin() as conn:
                return _save(book, conn, change)
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            locked = isinstance(exc, sa.exc.IntegrityError) or "locked" in str(exc) or "could not serialize" in str(exc)
            if not locked or attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.02 * (attempt + 1))  # a race on the first insert: the next try sees the winner's version
    raise AssertionError("unreachable")


def _save(book: "Gradebook", conn: Any, change: Change) -> GradeVersion:
    row, current = _locked_version(book, conn, change)
    now = datetime.now(timezone.utc)
    detail = _write_adjustment(book, conn, change, now)
    _raise_version(book, conn, change, row, current, now)
    if change.kind == "late":
        detail = (
            f"removed the waiver of the late penalty: {change.reason}"
            if change.points is None
            else f"waived the late penalty: {change.reason}"
        )
    action: HistoryAction = "remove" if change.points is None else "waive" if change.kind == "late" else "adjust"
    record_history(book, change.assignment, change.student, change.author, action, detail, conn=conn)
    return GradeVersion(current.version + 1, change.author, now)


def _locked_version(book: "Gradebook", conn: Any, change: Change) -> tuple[Any, GradeVersion]:
    """The student's version row (None: never changed), locked for update, and its version;
    StaleEdit when it is not the one the grader's page was made from."""
    import sqlalchemy as sa

    g = book.desk.grade_versions
    row = conn.execute(
        sa.select(g).where(g.c.assignment == change.assignment, g.c.student == change.student).with_for_update()
    ).first()
    current = GradeVersion(row.version, row.updated_by, utc(row.updated_at)) if row else GradeVersion()
    if change.expected_version is not None and change.expected_version != current.version:
        raise StaleEdit(current.updated_by, current.updated_at, current.version)
    return row, current


def _write_adjustment(book: "Gradebook", conn: Any, change: Change, now: datetime) -> str:
    """Insert, replace or remove the adjustment; what was done, in the history's words. NotAllowed
    where it would replace another grader's adjustment, or remove one that is not there."""
    import sqlalchemy as sa

    from grader.batch.gradebook import db_text

    a = book.desk.adjustments
    key = (
        a.c.assignment == change.assignment,
        a.c.student == change.student,
        a.c.kind == change.kind,
        a.c.name == change.name,
    )
    existing = conn.execute(sa.select(a.c.id, a.c.author, a.c.points).where(*key)).first()
    if existing is not None and existing.author != change.author and not change.may_replace_others:
        raise NotAllowed(
            f"{existing.author} made this adjustment; only an instructor may change it",
            hint="add a comment, or ask an instructor",
        )
    if change.points is None:
        if existing is None:
            raise NotAllowed(f"{change.name} has no adjustment to remove")
        conn.execute(a.delete().where(a.c.id == existing.id))
        return f"removed the adjustment of {change.kind} {change.name} ({existing.points:g} points): {change.reason}"
    values = {
        "points": float(change.points),
        "reason": db_text(change.reason),
        "author": db_text(change.author, 200),
        "sha256": change.sha256,
        "created_at": now,
    }
    if existing is None:
        conn.execute(
            a.insert().values(
                assignment=change.assignment,
                student=change.student,
                kind=change.kind,
                name=db_text(change.name, 300),
                **values,
            )
        )
    else:
        conn.execute(a.update().where(a.c.id == existing.id).values(**values))
    before = f" (was {existing.points:g})" if existing is not None else ""
    return f"set {change.kind} {change.name} to {change.points:g} points{before}: {change.reason}"


def _raise_version(
    book: "Gradebook", conn: Any, change: Change, row: Any, current: GradeVersion, now: datetime
) -> None:
    """The student's version one more, by the change's author; StaleEdit where another save moved it
    after it was read (a database without row locks)."""
    from grader.batch.gradebook import db_text

    g = book.desk.grade_versions
    if row is None:
        conn.execute(
            g.insert().values(
                assignment=change.assignment,
                student=change.student,
                version=1,
                updated_by=db_text(change.author, 200),
                updated_at=now,
            )
        )
        return
    done = conn.execute(
        g.update()
        .where(g.c.id == row.id, g.c.version == current.version)
        .values(version=current.version + 1, updated_by=db_text(change.author, 200), updated_at=now)
    )
    if done.rowcount != 1:
        raise StaleEdit(current.updated_by, current.updated_at, current.version)


def for_policy(stored: Sequence[StoredAdjustment], current_sha: str) -> list[Adjustment]:
    return [s.for_policy(current_sha) for s in stored]


def current_adjustments(book: "Gradebook", assignment: str, current: dict[str, str]) -> dict[str, list[Adjustment]]:
    """The adjustments of each student in `current` (student -> the sha256 of the submission now
    graded) as grader.policy.final takes them, marked `earlier` when made on another submission."""
    stored = adjustments_of(book, assignment)
    return {student: for_policy(stored[student], sha) for student, sha in current.items() if student in stored}
