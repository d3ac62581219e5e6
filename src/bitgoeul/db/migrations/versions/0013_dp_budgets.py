"""The differential-privacy door: steward-approved profiles, ε budgets per scope, releases.

Budgets are kept in micro-ε (integers) so that spent + reserved <= cap is exact.

Revision ID: 0013_dp_budgets
Revises: 0010_ingest_text_fallbacks
Create Date: 2026-12-05 08:05:20.333686
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0013_dp_budgets"
down_revision: str | None = "0010_ingest_text_fallbacks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dp_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=60), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("cap_micro", sa.BigInteger(), nullable=False),
        sa.Column("spent_micro", sa.BigInteger(), nullable=False),
        sa.Column("reserved_micro", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dp_budgets_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_dp_budgets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_budgets")),
        sa.UniqueConstraint("dataset_id", "scope", name="uq_dp_budgets_scope"),
    )
    with op.batch_alter_table("dp_budgets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dp_budgets_project_id"), ["project_id"], unique=False)

    op.create_table(
        "dp_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("person_column", sa.String(length=200), nullable=False),
        sa.Column("max_rows_per_person", sa.Integer(), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dp_profiles_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_dp_profiles_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_profiles")),
        sa.UniqueConstraint("dataset_id", name=op.f("uq_dp_profiles_dataset_id")),
    )
    op.create_table(
        "dp_person_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("person_column", sa.String(length=200), nullable=False),
        sa.Column("view_sha256", sa.String(length=64), nullable=False),
        sa.Column("max_rows", sa.BigInteger(), nullable=False),
        sa.Column("counted_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dp_person_rows_version_id_dataset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_person_rows")),
        sa.UniqueConstraint(
            "version_id", "person_column", "view_sha256", name="uq_dp_person_rows_view"
        ),
    )
    op.create_table(
        "dp_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("measurement_sha256", sa.String(length=64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("reserved", "spent", name="dp_release_status", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("cost_micro", sa.BigInteger(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("spent_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_dp_releases_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dp_releases_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_dp_releases_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dp_releases_version_id_dataset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_releases")),
        sa.UniqueConstraint("request_sha256", name=op.f("uq_dp_releases_request_sha256")),
    )
    with op.batch_alter_table("dp_releases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dp_releases_dataset_created", ["dataset_id", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("dp_person_rows")
    with op.batch_alter_table("dp_releases", schema=None) as batch_op:
        batch_op.drop_index("ix_dp_releases_dataset_created")

    op.drop_table("dp_releases")
    op.drop_table("dp_profiles")
    with op.batch_alter_table("dp_budgets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dp_budgets_project_id"))

    op.drop_table("dp_budgets")
