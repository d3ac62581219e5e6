"""The DP door's bounded copies: a version's rows at most m per person, written once when a
release must drop rows, so later releases skip the per-person window.

Revision ID: 0020_dp_bounded_copies
Revises: 0015_civic
Create Date: 2026-12-05 14:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0020_dp_bounded_copies"
down_revision: str | None = "0015_civic"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dp_bounded_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("view_sha256", sa.String(length=64), nullable=False),
        sa.Column("person_column", sa.String(length=200), nullable=False),
        sa.Column("partition_column", sa.String(length=200), nullable=False),
        sa.Column("max_rows", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dp_bounded_copies_version_id_dataset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_bounded_copies")),
        sa.UniqueConstraint(
            "version_id",
            "view_sha256",
            "person_column",
            "partition_column",
            "max_rows",
            name="uq_dp_bounded_copies_view",
        ),
    )


def downgrade() -> None:
    op.drop_table("dp_bounded_copies")
