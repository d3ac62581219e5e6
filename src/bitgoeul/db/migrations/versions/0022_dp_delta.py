"""The DP door's keys released with a threshold: the steward's threshold keys and δ per
release on each profile, a δ cap with its spending and reservations on each budget, and the δ
each release cost.

Existing profiles get no threshold keys, existing budgets a δ cap of 0 (releases that spend δ
are refused until a steward sets one), existing releases cost δ 0: exactly what they did.

Revision ID: 0022_dp_delta
Revises: 0021_linkage_review
Create Date: 2026-12-05 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_dp_delta"
down_revision: str | None = "0021_linkage_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUDGET_COLUMNS = ("delta_cap", "delta_spent", "delta_reserved")


def upgrade() -> None:
    with op.batch_alter_table("dp_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("threshold_keys", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("delta", sa.Double(), nullable=True))
    with op.batch_alter_table("dp_budgets", schema=None) as batch_op:
        for name in _BUDGET_COLUMNS:
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )
    with op.batch_alter_table("dp_releases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delta_cost", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("dp_releases", schema=None) as batch_op:
        batch_op.drop_column("delta_cost")
    with op.batch_alter_table("dp_budgets", schema=None) as batch_op:
        for name in reversed(_BUDGET_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("dp_profiles", schema=None) as batch_op:
        batch_op.drop_column("delta")
        batch_op.drop_column("threshold_keys")
