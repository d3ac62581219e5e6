"""The control tower's daily snapshots; startup support applications and the academy
(courses, cohorts, labs, enrolments, lab results).

Revision ID: 0016_tower_programmes
Revises: 0020_dp_bounded_copies
Create Date: 2026-12-05 13:03:42.955523
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0016_tower_programmes"
down_revision: str | None = "0020_dp_bounded_copies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tower_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("bases", sa.JSON(), nullable=False),
        sa.Column("taken_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tower_snapshots")),
        sa.UniqueConstraint("day", name=op.f("uq_tower_snapshots_day")),
    )
    op.create_table(
        "academy_courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_ko", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_ko", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_academy_courses_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_courses")),
        sa.UniqueConstraint("slug", name=op.f("uq_academy_courses_slug")),
    )
    op.create_table(
        "programme_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("cpu_hours", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("gpu_hours", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("data_access_help", sa.Boolean(), nullable=False),
        sa.Column("testbed_sponsorship", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "approved",
                "rejected",
                "withdrawn",
                name="programme_application_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("granted_cpu_hours", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("granted_gpu_hours", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["users.id"],
            name=op.f("fk_programme_applications_applicant_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_programme_applications_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_programme_applications_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_applications")),
    )
    with op.batch_alter_table("programme_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_programme_applications_org_status", ["organization_id", "status"], unique=False
        )

    op.create_table(
        "academy_cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academy_courses.id"],
            name=op.f("fk_academy_cohorts_course_id_academy_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_cohorts")),
        sa.UniqueConstraint("course_id", "name", name="uq_academy_cohorts_name"),
    )
    with op.batch_alter_table("academy_cohorts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_cohorts_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "academy_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "enrolled",
                "completed",
                "withdrawn",
                name="academy_enrolment_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("enrolled_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["academy_cohorts.id"],
            name=op.f("fk_academy_enrolments_cohort_id_academy_cohorts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_academy_enrolments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_enrolments")),
        sa.UniqueConstraint("cohort_id", "user_id", name="uq_academy_enrolments_user"),
    )
    with op.batch_alter_table("academy_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_enrolments_cohort_id"), ["cohort_id"], unique=False
        )
        batch_op.create_index(
            "ix_academy_enrolments_user_status", ["user_id", "status"], unique=False
        )

    op.create_table(
        "academy_labs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_ko", sa.String(length=300), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("pass_mark", sa.Double(), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academy_courses.id"],
            name=op.f("fk_academy_labs_course_id_academy_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["testbed_tasks.id"],
            name=op.f("fk_academy_labs_task_id_testbed_tasks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_labs")),
        sa.UniqueConstraint("course_id", "slug", name="uq_academy_labs_slug"),
    )
    with op.batch_alter_table("academy_labs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_academy_labs_course_id"), ["course_id"], unique=False)

    op.create_table(
        "academy_lab_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("graded_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["academy_enrolments.id"],
            name=op.f("fk_academy_lab_results_enrolment_id_academy_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["academy_labs.id"],
            name=op.f("fk_academy_lab_results_lab_id_academy_labs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["testbed_submissions.id"],
            name=op.f("fk_academy_lab_results_submission_id_testbed_submissions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_lab_results")),
        sa.UniqueConstraint("enrolment_id", "lab_id", name="uq_academy_lab_results"),
    )
    with op.batch_alter_table("academy_lab_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_lab_results_enrolment_id"), ["enrolment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("academy_lab_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_lab_results_enrolment_id"))

    op.drop_table("academy_lab_results")
    with op.batch_alter_table("academy_labs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_labs_course_id"))

    op.drop_table("academy_labs")
    with op.batch_alter_table("academy_enrolments", schema=None) as batch_op:
        batch_op.drop_index("ix_academy_enrolments_user_status")
        batch_op.drop_index(batch_op.f("ix_academy_enrolments_cohort_id"))

    op.drop_table("academy_enrolments")
    with op.batch_alter_table("academy_cohorts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_cohorts_course_id"))

    op.drop_table("academy_cohorts")
    with op.batch_alter_table("programme_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_programme_applications_org_status")

    op.drop_table("programme_applications")
    op.drop_table("academy_courses")
    op.drop_table("tower_snapshots")
