"""fingerprints: the fingerprints of each submission's own code (grader.similarity), one row per
exercise (and one for the code outside the exercises), made with each verdict of a batch."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_fingerprints"
down_revision = "0002_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fingerprints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("exercise", sa.String(200), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("prints", sa.Text, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("submission_id", "exercise", name="uq_fingerprint_part"),
    )


def downgrade() -> None:
    op.drop_table("fingerprints")
