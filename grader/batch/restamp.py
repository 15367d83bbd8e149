"""A verdict's stamp brought up to date: when a later batch knows more of when a submission came
in (a --submitted-at file given since), or of the student's extension, the verdict already in the
gradebook records it, without grading again, so that `grader export` and the desk read it.
Only the stamp's fields of result_json change (grader.policy.submitted.Stamp); the checks and the
score stay as graded."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from grader.policy.submitted import Stamp, stamped

if TYPE_CHECKING:
    from grader.batch.gradebook import StoredVerdict

__all__ = ["restamp"]


def restamp(
    book: Any, assignment: str, verdicts: dict[tuple[str, str], "StoredVerdict"], stamps: dict[str, Stamp]
) -> int:
    """Rewrite the stamp of each verdict whose stamp differs from this run's; return how many changed."""
    import sqlalchemy as sa

    s, v = book.submissions, book.verdicts
    changed = 0
    with book.engine.begin() as conn:
        for (student, sha256), stored in verdicts.items():
            fresh = stamped(stored.result, stamps.get(student))
            if fresh == stored.result:
                continue
            sub = sa.select(s.c.id).where(s.c.assignment == assignment, s.c.student == student, s.c.sha256 == sha256)
            conn.execute(
                v.update()
                .where(v.c.submission_id == sub.scalar_subquery())
                .values(result_json=json.dumps(fresh.to_dict()))
            )
            stored.result = fresh
            changed += 1
    return changed
