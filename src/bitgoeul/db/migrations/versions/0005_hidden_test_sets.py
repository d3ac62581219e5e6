"""Datasets can be a testbed's hidden test set (holdout).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 20:34:36.791686
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bitgoeul.catalog import search_index

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite batch mode rebuilds the table, which would
    # drop the triggers that keep the catalog's full-text index (catalog/search_index.py).
    op.add_column(
        "datasets", sa.Column("holdout", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    # Dropping a column rebuilds the table on SQLite: take the full-text index down and build
    # it again around the rebuild.
    search_index.drop(op)
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("holdout")
    search_index.create(op)
