"""Job workers: the processes that run jobs (``bitgoeul worker``), and which one runs each job.

A worker writes its heartbeat while it lives; the jobs of a worker that stopped are ended by
the others.  Jobs already in the table have no worker.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:14:29.528475
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_workers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("executor", sa.String(length=40), nullable=False),
        sa.Column("started_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_workers")),
    )
    # A plain ADD COLUMN, never batch mode's table rebuild: on SQLite, dropping the rebuilt
    # jobs table would cascade to the releases, ledger entries and submissions of every job.
    with op.batch_alter_table("jobs", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("worker_id", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_worker_id"), ["worker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_worker_id"))
        batch_op.drop_column("worker_id")
    op.drop_table("job_workers")
