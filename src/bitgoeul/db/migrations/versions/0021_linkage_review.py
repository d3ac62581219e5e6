"""Linkage's clerical review sample: the sampled pairs of a run (rows, score, the reviewer's
label) and, on the run, the strata they were drawn from.

A new table and one column added in place (existing runs get an empty list: they have no
sample).

Revision ID: 0021_linkage_review
Revises: 0016_tower_programmes
Create Date: 2026-12-05 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0021_linkage_review"
down_revision: str | None = "0016_tower_programmes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "linkage_review_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=False),
        sa.Column("left_row", sa.Integer(), nullable=False),
        sa.Column("right_row", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("match", sa.Boolean(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_linkage_review_pairs_reviewed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["linkage_runs.id"],
            name=op.f("fk_linkage_review_pairs_run_id_linkage_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_review_pairs")),
    )
    with op.batch_alter_table("linkage_review_pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_linkage_review_pairs_run_id"), ["run_id"], unique=False
        )
    # Plain ADD COLUMN, never a table rebuild.
    with op.batch_alter_table("linkage_runs", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("review_strata", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("linkage_runs", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("review_strata")
    with op.batch_alter_table("linkage_review_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkage_review_pairs_run_id"))
    op.drop_table("linkage_review_pairs")
