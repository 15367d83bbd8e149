"""Fingerprints in the gradebook (table `fingerprints`, migration 0003_fingerprints): written
with each verdict of a batch, read back for a comparison, this term's or an earlier one's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from grader.batch.gradebook import Gradebook, db_text
from grader.similarity.fingerprint import Part
from grader.similarity.winnow import METHOD


@dataclass(frozen=True)
class Prints:
    """One submission's fingerprints as the gradebook holds them."""

    student: str
    sha256: str
    parts: tuple[Part, ...]
    earlier: str = ""  # the earlier gradebook it came from ("" for this one)


def write(book: Gradebook, assignment: str, student: str, sha256: str, parts: list[Part]) -> None:
    """Replace the fingerprints of one submission (its row must exist: its verdict was written)."""
    import sqlalchemy as sa

    s, f = book.submissions, book.tables.fingerprints
    now = datetime.now(timezone.utc)
    with book.engine.begin() as conn:
        where = (s.c.assignment == assignment, s.c.student == student, s.c.sha256 == sha256)
        sub_id = conn.execute(sa.select(s.c.id).where(*where)).scalar()
        if sub_id is None:
            return
        conn.execute(f.delete().where(f.c.submission_id == sub_id))
        parts = parts or [Part.empty()]  # kept all the same: "no code of their own", not "not fingerprinted"
        rows = [
            {
                "submission_id": sub_id,
                "exercise": db_text(p.exercise, 200),
                "method": METHOD,
                "tokens": p.tokens,
                "length": p.length,
                "code": db_text(p.code),
                "prints": p.prints(),
                "made_at": now,
            }
            for p in parts
        ]
        if rows:
            conn.execute(f.insert(), rows)


def fingerprinted(book: Gradebook, assignment: str) -> set[tuple[str, str]]:
    """(student, sha256) of the submissions of `assignment` whose fingerprints are kept."""
    import sqlalchemy as sa

    s, f = book.submissions, book.tables.fingerprints
    query = (
        sa.select(s.c.student, s.c.sha256)
        .distinct()
        .join(f, f.c.submission_id == s.c.id)
        .where(s.c.assignment == assignment)
    )
    with book.engine.connect() as conn:
        return {(row.student, row.sha256) for row in conn.execute(query)}


def read(
    book: Gradebook, assignment: str, keys: Iterable[tuple[str, str]] | None = None, earlier: str = ""
) -> list[Prints]:
    """The fingerprints of `assignment`: of `keys` when given, else of each student's newest
    submission that has a verdict (a student who submitted again is compared on the new one)."""
    import sqlalchemy as sa

    s, v, f = book.submissions, book.verdicts, book.tables.fingerprints
    query = (
        sa.select(
            s.c.student, s.c.sha256, s.c.first_seen, s.c.id, f.c.exercise, f.c.tokens, f.c.length, f.c.code, f.c.prints
        )
        .join(v, v.c.submission_id == s.c.id)
        .join(f, f.c.submission_id == s.c.id)
        .where(s.c.assignment == assignment, f.c.method == METHOD)
        .order_by(s.c.id, f.c.id)
    )
    found: dict[tuple[str, str], list[Part]] = {}
    newest: dict[str, tuple[Any, int, str]] = {}
    with book.engine.connect() as conn:
        for row in conn.execute(query):
            found.setdefault((row.student, row.sha256), []).append(
                Part.stored(row.exercise, row.code, row.tokens, row.length, row.prints)
            )
            seen = (row.first_seen, row.id, row.sha256)
            if row.student not in newest or seen[:2] > newest[row.student][:2]:
                newest[row.student] = seen
    wanted = set(keys) if keys is not None else {(student, seen[2]) for student, seen in newest.items()}
    return [
        Prints(student, sha, tuple(parts), earlier)
        for (student, sha), parts in sorted(found.items())
        if (student, sha) in wanted
    ]
