"""Questions a person grades: rubric items, grades (with the items they applied), reusable comments.

Nothing of the earlier tables changes: a manual question's answer is kept in the verdict's
result_json; its grade, given later, in these tables (grader.policy.gradestore).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_manual"
down_revision = "0003_fingerprints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rubric_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("item", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("assignment", "question", "item", name="uq_rubric_item"),
    )
    op.create_table(
        "manual_grades",
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
    op.create_table(
        "manual_grade_items",
        sa.Column("grade_id", sa.Integer, sa.ForeignKey("manual_grades.id"), primary_key=True),
        sa.Column("rubric_item_id", sa.Integer, sa.ForeignKey("rubric_items.id"), primary_key=True),
    )
    op.create_index("ix_manual_grade_items_rubric_item_id", "manual_grade_items", ["rubric_item_id"])
    op.create_table(
        "manual_comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("manual_comments")
    op.drop_index("ix_manual_grade_items_rubric_item_id", table_name="manual_grade_items")
    op.drop_table("manual_grade_items")
    op.drop_table("manual_grades")
    op.drop_table("rubric_items")
