"""The project each user chose to work for on dataset pages (remembered across visits).

No user has chosen yet: the table starts empty.

Revision ID: 0009_project_choices
Revises: 0008
Create Date: 2026-12-05 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0009_project_choices"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_choices",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_choices_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_project_choices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_project_choices")),
    )
    with op.batch_alter_table("project_choices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_choices_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("project_choices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_choices_project_id"))
    op.drop_table("project_choices")
