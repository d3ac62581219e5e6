"""The DP door, continued: per-partition budgets for time-partitioned datasets (the profile's
partition column, each release's partition) and, per counted view, whether every person has
their own 64-bit hash (so the bounding window may partition by that integer).

All three columns are nullable additions: existing profiles stay unpartitioned, existing
releases have no partition, existing counts are "not known" and keep the slower window.

Revision ID: 0019_dp_more
Revises: 0013_dp_budgets
Create Date: 2026-12-05 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_dp_more"
down_revision: str | None = "0013_dp_budgets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dp_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partition_column", sa.String(length=200), nullable=True))
    with op.batch_alter_table("dp_person_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_hash_unique", sa.Boolean(), nullable=True))
    with op.batch_alter_table("dp_releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partition", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dp_releases", schema=None) as batch_op:
        batch_op.drop_column("partition")
    with op.batch_alter_table("dp_person_rows", schema=None) as batch_op:
        batch_op.drop_column("person_hash_unique")
    with op.batch_alter_table("dp_profiles", schema=None) as batch_op:
        batch_op.drop_column("partition_column")
