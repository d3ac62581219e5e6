"""Notifications keep their message template and values, so each is shown in the reader's
language.  Notifications already stored have neither and are shown as they were written.

Revision ID: 0011_notification_templates
Revises: 0009_project_choices
Create Date: 2026-12-05 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_notification_templates"
down_revision: str | None = "0009_project_choices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("template", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("template_values", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("template_values")
        batch_op.drop_column("template")
