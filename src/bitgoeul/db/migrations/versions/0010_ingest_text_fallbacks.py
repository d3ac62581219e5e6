"""Ingest runs that wait for the steward's choice: the columns that fell back to text, and the
staged file's facts.

Two nullable JSON columns; existing runs have neither.  The status column is a plain string
(no database enum), so the new statuses ``awaiting_choice`` and ``discarded`` need no change.

Revision ID: 0010_ingest_text_fallbacks
Revises: 0012_linkage
Create Date: 2026-12-05 08:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_ingest_text_fallbacks"
down_revision: str | None = "0012_linkage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("text_fallbacks", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("staged", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.drop_column("staged")
        batch_op.drop_column("text_fallbacks")
