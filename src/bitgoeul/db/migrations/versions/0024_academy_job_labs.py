"""Academy labs as compute jobs: a lab's kind (``task`` or ``job``), a job lab's grading rule
(dataset, aggregate, column, tolerance), the job a lab result came from, and the trainees' lab
jobs (``academy_lab_jobs``).

Existing labs are task labs, exactly what they were.

Revision ID: 0024_academy_job_labs
Revises: 0023_donor_copies
Create Date: 2026-12-05 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0024_academy_job_labs"
down_revision: str | None = "0023_donor_copies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("academy_labs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("task", "job", name="academy_lab_kind", native_enum=False, length=20),
                nullable=False,
                server_default="task",
            )
        )
        batch_op.alter_column("task_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("dataset_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "aggregate",
                sa.Enum(
                    "row_count",
                    "sum",
                    "mean",
                    "min",
                    "max",
                    "distinct_count",
                    name="academy_lab_aggregate",
                    native_enum=False,
                    length=20,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("column", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("tolerance", sa.Double(), nullable=False, server_default="0"))
        batch_op.create_foreign_key(
            "fk_academy_labs_dataset_id_datasets",
            "datasets",
            ["dataset_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    with op.batch_alter_table("academy_lab_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_academy_lab_results_job_id_jobs", "jobs", ["job_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "academy_lab_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "passed",
                "failed",
                name="academy_lab_job_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("answer", sa.Double(), nullable=True),
        sa.Column("expected", sa.Double(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("graded_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["enrolment_id"], ["academy_enrolments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lab_id"], ["academy_labs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id"),
    )
    op.create_index(
        "ix_academy_lab_jobs_enrolment_lab",
        "academy_lab_jobs",
        ["enrolment_id", "lab_id"],
        unique=False,
    )


def downgrade() -> None:
    # A job lab has no testbed task: it cannot survive the older schema.
    op.execute("DELETE FROM academy_labs WHERE kind = 'job'")
    op.drop_index("ix_academy_lab_jobs_enrolment_lab", table_name="academy_lab_jobs")
    op.drop_table("academy_lab_jobs")
    with op.batch_alter_table("academy_lab_results", schema=None) as batch_op:
        batch_op.drop_constraint("fk_academy_lab_results_job_id_jobs", type_="foreignkey")
        batch_op.drop_column("job_id")
    with op.batch_alter_table("academy_labs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_academy_labs_dataset_id_datasets", type_="foreignkey")
        batch_op.drop_column("tolerance")
        batch_op.drop_column("column")
        batch_op.drop_column("aggregate")
        batch_op.drop_column("dataset_id")
        batch_op.alter_column("task_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("kind")
