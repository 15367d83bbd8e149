"""The gradebook's tables as the code reads and writes them today (SQLAlchemy Core).

The database itself is brought to this shape by the Alembic migrations in
`grader/batch/migrations/versions/` (`grader.batch.migrate.upgrade`), never by `create_all`:
each migration spells out its own tables, so that a gradebook written by any earlier release can
be upgraded in place. A change to the tables here goes with a new migration there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tables:
    """The gradebook's tables, bound to one MetaData."""

    meta: Any
    submissions: Any
    verdicts: Any
    checks: Any
    fingerprints: Any = None


def tables() -> Tables:
    import sqlalchemy as sa

    meta = sa.MetaData()
    submissions = sa.Table(
        "submissions",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("student", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False, default=""),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("assignment", "student", "sha256", name="uq_submission"),
    )
    verdicts = sa.Table(
        "verdicts",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, default=""),
        sa.Column("device", sa.String(40), nullable=False, default=""),
        sa.Column("isolation", sa.Text, nullable=False, default=""),
        sa.Column("grader_version", sa.String(40), nullable=False, default=""),
        sa.Column("execution_time", sa.Float, nullable=False, default=0.0),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.UniqueConstraint("submission_id", name="uq_verdict_submission"),
    )
    checks = sa.Table(
        "checks",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("verdict_id", sa.Integer, sa.ForeignKey("verdicts.id"), nullable=False, index=True),
        sa.Column("exercise", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False, default=""),
    )
    fingerprints = sa.Table(
        "fingerprints",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("exercise", sa.String(200), nullable=False),  # "" for the code outside the exercises
        sa.Column("method", sa.String(40), nullable=False),  # grader.similarity.winnow.METHOD
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("prints", sa.Text, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("submission_id", "exercise", name="uq_fingerprint_part"),
    )
    return Tables(meta, submissions, verdicts, checks, fingerprints=fingerprints)


@dataclass(frozen=True)
class DeskTables:
    """What graders add to the verdicts (revision 0002_desk): adjustments, a version per student's
    adjustments (for optimistic concurrency), and the history of every change and regrade."""

    adjustments: Any
    grade_versions: Any
    history: Any


def desk_tables(meta: Any) -> DeskTables:
    import sqlalchemy as sa

    adjustments = sa.Table(
        "adjustments",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("student", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("assignment", "student", "kind", "name", name="uq_adjustment"),
    )
    grade_versions = sa.Table(
        "grade_versions",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("student", sa.String(300), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("assignment", "student", name="uq_grade_version"),
    )
    history = sa.Table(
        "history",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("student", sa.String(300), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Index("ix_history_student", "assignment", "student"),
    )
    return DeskTables(adjustments, grade_versions, history)


@dataclass(frozen=True)
class ManualTables:
    """Grades of questions a person grades (revision 0004_manual): the rubric items as they stand,
    the grades with the items they applied, and the comments kept for reuse."""

    rubric_items: Any
    grades: Any
    grade_items: Any
    comments: Any


MANUAL_TABLES = ("rubric_items", "manual_grades", "manual_grade_items", "manual_comments")


def manual_tables(meta: Any) -> ManualTables:
    """The manual tables bound to `meta` (which holds `submissions`); defined once per MetaData."""
    import sqlalchemy as sa

    if all(name in meta.tables for name in MANUAL_TABLES):
        return ManualTables(*(meta.tables[name] for name in MANUAL_TABLES))
    rubric_items = sa.Table(
        "rubric_items",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("item", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("assignment", "question", "item", name="uq_rubric_item"),
    )
    grades = sa.Table(
        "manual_grades",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("extra", sa.Float, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("graded_by", sa.String(200), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("submission_id", "question", name="uq_manual_grade"),
    )
    grade_items = sa.Table(
        "manual_grade_items",
        meta,
        sa.Column("grade_id", sa.Integer, sa.ForeignKey("manual_grades.id"), primary_key=True),
        sa.Column("rubric_item_id", sa.Integer, sa.ForeignKey("rubric_items.id"), primary_key=True, index=True),
    )
    comments = sa.Table(
        "manual_comments",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
    )
    return ManualTables(rubric_items, grades, grade_items, comments)
