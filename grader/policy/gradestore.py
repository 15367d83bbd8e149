"""The manual grades of a gradebook, in SQL: rubric items, grades with their items, comments.

Tables of revision 0004_manual (grader.batch.schema.manual_tables). A grade belongs to one
submission (a row of `submissions`) and one question; its `version` counts its saves, and a save
says which version it was made from: one made from an older version is refused (a second
grader's save never overwrites the first's unseen). Rubric items live here once a question is
first graded, seeded from assignment.toml; their points may change afterwards, and every grade
that applied the item is then totalled again (grader.policy.grading does the arithmetic).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from grader.batch.gradebook import Gradebook, db_text
from grader.batch.schema import manual_tables
from grader.policy.manual import AppliedItem, Grade
from grader.policy.questions import ManualQuestion, RubricItem


@dataclass(frozen=True)
class StoredItem:
    """A rubric item as the gradebook holds it, with how many grades apply it."""

    key: int  # its row
    id: str
    text: str
    points: float
    uses: int = 0


@dataclass(frozen=True)
class GradeRow:
    """A grade as stored: the submission it grades, the rows of the items it applied."""

    grade_id: int
    submission_id: int
    question: str
    extra: float
    items: tuple[int, ...]


class GradeStore:
    """The manual tables of one gradebook, for one assignment."""

    def __init__(self, book: Gradebook, assignment: str) -> None:
        self.book, self.assignment = book, assignment
        self.t = manual_tables(book.tables.meta)

    # -- rubric items ---------------------------------------------------------------------
    def seed(self, questions: Sequence[ManualQuestion]) -> None:
        """Add the rubric items of assignment.toml that the gradebook does not hold yet."""
        import sqlalchemy as sa

        r = self.t.rubric_items
        with self.book.engine.begin() as conn:
            for question in questions:
                have = set(
                    conn.execute(
                        sa.select(r.c.item).where(r.c.assignment == self.assignment, r.c.question == question.name)
                    ).scalars()
                )
                rows = [
                    {
                        "assignment": self.assignment,
                        "question": question.name,
                        "item": item.id,
                        "text": db_text(item.text),
                        "points": item.points,
                        "position": n,
                    }
                    for n, item in enumerate(question.rubric)
                    if item.id not in have
                ]
                if rows:
                    conn.execute(r.insert(), rows)

    def items(self, question: str) -> list[StoredItem]:
        import sqlalchemy as sa

        r, gi = self.t.rubric_items, self.t.grade_items
        uses = sa.select(sa.func.count()).where(gi.c.rubric_item_id == r.c.id).scalar_subquery()
        query = (
            sa.select(r.c.id, r.c.item, r.c.text, r.c.points, uses.label("uses"))
            .where(r.c.assignment == self.assignment, r.c.question == question)
            .order_by(r.c.position, r.c.id)
        )
        with self.book.engine.connect() as conn:
            return [StoredItem(row.id, row.item, row.text, row.points, int(row.uses)) for row in conn.execute(query)]

    def add_item(self, question: str, item: RubricItem) -> None:
        import sqlalchemy as sa

        r = self.t.rubric_items
        with self.book.engine.begin() as conn:
            last = conn.execute(
                sa.select(sa.func.max(r.c.position)).where(r.c.assignment == self.assignment, r.c.question == question)
            ).scalar()
            conn.execute(
                r.insert().values(
                    assignment=self.assignment,
                    question=question,
                    item=item.id,
                    text=db_text(item.text),
                    points=item.points,
                    position=(last if last is not None else -1) + 1,
                )
            )

    def set_item_points(self, conn: Any, key: int, points: float) -> None:
        conn.execute(self.t.rubric_items.update().where(self.t.rubric_items.c.id == key).values(points=points))

    def delete_item(self, conn: Any, key: int) -> None:
        conn.execute(self.t.rubric_items.delete().where(self.t.rubric_items.c.id == key))

    def grades_using(self, conn: Any, key: int) -> list[GradeRow]:
        """The grades that apply the rubric item `key`, each with all of its items, locked for update."""
        import sqlalchemy as sa

        gi = self.t.grade_items
        ids = list(conn.execute(sa.select(gi.c.grade_id).where(gi.c.rubric_item_id == key)).scalars())
        return [self._grade_row(conn, grade_id) for grade_id in ids] if ids else []

    def _grade_row(self, conn: Any, grade_id: int) -> GradeRow:
        import sqlalchemy as sa

        g, gi = self.t.grades, self.t.grade_items
        row = conn.execute(sa.select(g).where(g.c.id == grade_id).with_for_update()).one()
        items = tuple(conn.execute(sa.select(gi.c.rubric_item_id).where(gi.c.grade_id == grade_id)).scalars())
        return GradeRow(row.id, row.submission_id, row.question, row.extra, items)

    def retotal(self, conn: Any, grade_id: int, points: float) -> None:
        g = self.t.grades
        conn.execute(g.update().where(g.c.id == grade_id).values(points=points, version=g.c.version + 1))

    # -- grades ---------------------------------------------------------------------------
    def submission_ids(self) -> dict[tuple[str, str], int]:
        """(student, sha256) -> the submission's row, for this assignment."""
        import sqlalchemy as sa

        s = self.book.submissions
        with self.book.engine.connect() as conn:
            rows = conn.execute(sa.select(s.c.id, s.c.student, s.c.sha256).where(s.c.assignment == self.assignment))
            return {(row.student, row.sha256): int(row.id) for row in rows}

    def grades(self, submission_ids: Sequence[int] | None = None) -> dict[int, dict[str, Grade]]:
        """The grades of this assignment's submissions: submission row -> question -> Grade."""
        import sqlalchemy as sa

        g, gi, r, s = self.t.grades, self.t.grade_items, self.t.rubric_items, self.book.submissions
        query = sa.select(g).join(s, s.c.id == g.c.submission_id).where(s.c.assignment == self.assignment)
        if submission_ids is not None:
            query = query.where(g.c.submission_id.in_(list(submission_ids)))
        applied: dict[int, list[AppliedItem]] = {}
        with self.book.engine.connect() as conn:
            rows = list(conn.execute(query))
            items = (
                sa.select(gi.c.grade_id, r.c.item, r.c.text, r.c.points)
                .join(r, r.c.id == gi.c.rubric_item_id)
                .where(r.c.assignment == self.assignment)
                .order_by(r.c.position, r.c.id)
            )
            for row in conn.execute(items):
                applied.setdefault(row.grade_id, []).append(AppliedItem(row.item, row.text, row.points))
        out: dict[int, dict[str, Grade]] = {}
        for row in rows:
            out.setdefault(row.submission_id, {})[row.question] = Grade(
                question=row.question,
                points=row.points,
                items=tuple(applied.get(row.id, [])),
                extra=row.extra,
                comment=row.comment,
                by=row.graded_by,
                at=_iso(row.graded_at),
                version=row.version,
            )
        return out

    def current(self, conn: Any, submission_id: int, question: str) -> Any:
        """The grade's row (locked for update), or None."""
        import sqlalchemy as sa

        g = self.t.grades
        return conn.execute(
            sa.select(g).where(g.c.submission_id == submission_id, g.c.question == question).with_for_update()
        ).first()

    def write(self, conn: Any, old: Any, values: dict[str, Any], item_keys: Sequence[int]) -> int:
        """Insert or replace a grade (its version one more than `old`'s) with its items; its row id."""
        g, gi = self.t.grades, self.t.grade_items
        now = datetime.now(timezone.utc)
        values = {
            **values,
            "graded_at": now,
            "comment": db_text(values["comment"]),
            "graded_by": db_text(values["graded_by"], 200),
        }
        if old is None:
            inserted = conn.execute(g.insert().values(version=1, **values)).inserted_primary_key
            assert inserted is not None
            grade_id = int(inserted[0])
        else:
            grade_id = int(old.id)
            conn.execute(g.update().where(g.c.id == grade_id).values(version=old.version + 1, **values))
            conn.execute(gi.delete().where(gi.c.grade_id == grade_id))
        if item_keys:
            conn.execute(gi.insert(), [{"grade_id": grade_id, "rubric_item_id": k} for k in item_keys])
        return grade_id

    # -- comments -------------------------------------------------------------------------
    def use_comment(self, conn: Any, question: str, text: str) -> None:
        """Count one more use of a comment (kept for reuse the first time)."""
        import sqlalchemy as sa

        c = self.t.comments
        text = db_text(text)
        where = (c.c.assignment == self.assignment, c.c.question == question, c.c.text == text)
        row = conn.execute(sa.select(c.c.id).where(*where).with_for_update()).first()
        if row is None:
            conn.execute(c.insert().values(assignment=self.assignment, question=question, text=text, uses=1))
        else:
            conn.execute(c.update().where(c.c.id == row.id).values(uses=c.c.uses + 1))

    def comments(self, question: str) -> list[tuple[str, int]]:
        """The comments kept for reuse on `question`, most used first: (text, uses)."""
        import sqlalchemy as sa

        c = self.t.comments
        uses = sa.func.sum(c.c.uses)  # two graders keeping the same comment at once: one line
        query = (
            sa.select(c.c.text, uses.label("uses"))
            .where(c.c.assignment == self.assignment, c.c.question == question)
            .group_by(c.c.text)
            .order_by(uses.desc(), sa.func.min(c.c.id))
        )
        with self.book.engine.connect() as conn:
            return [(row.text, int(row.uses)) for row in conn.execute(query)]


def _iso(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")
