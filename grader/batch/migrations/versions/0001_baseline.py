"""The gradebook as releases before Alembic wrote it: submissions, verdicts, checks.

A gradebook made by such a release already has these tables and no alembic_version: it is
stamped at this revision (grader.batch.migrate) and upgraded from here, every verdict kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("student", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("assignment", "student", "sha256", name="uq_submission"),
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("device", sa.String(40), nullable=False),
        sa.Column("isolation", sa.Text, nullable=False),
        sa.Column("grader_version", sa.String(40), nullable=False),
        sa.Column("execution_time", sa.Float, nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.UniqueConstraint("submission_id", name="uq_verdict_submission"),
    )
    op.create_table(
        "checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("verdict_id", sa.Integer, sa.ForeignKey("verdicts.id"), nullable=False),
        sa.Column("exercise", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_checks_verdict_id", "checks", ["verdict_id"])


def downgrade() -> None:
    op.drop_index("ix_checks_verdict_id", table_name="checks")
    op.drop_table("checks")
    op.drop_table("verdicts")
    op.drop_table("submissions")
