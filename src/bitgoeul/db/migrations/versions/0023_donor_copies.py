"""Donated-data pools: the door's filtered copies (a version's rows of the donors one consent
coverage keeps, per consent epoch), so uses after the first read no donor join.

Revision ID: 0023_donor_copies
Revises: 0022_dp_delta
Create Date: 2026-12-05 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0023_donor_copies"
down_revision: str | None = "0022_dp_delta"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "donor_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("filter_sha256", sa.String(length=64), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_donor_copies_version_id_dataset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donor_copies")),
    )
    op.create_index(
        "ix_donor_copies_lookup",
        "donor_copies",
        ["version_id", "filter_sha256", "epoch"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_donor_copies_lookup", table_name="donor_copies")
    op.drop_table("donor_copies")
