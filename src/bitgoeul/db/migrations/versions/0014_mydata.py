"""My Data: sources, verified identities, donations, consents with their append-only events
and signed receipts, campaigns, and the projects seen using each pool.

Revision ID: 0014_mydata
Revises: 0019_dp_more
Create Date: 2026-12-05 13:07:02.063034
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bitgoeul.db.base

revision: str = "0014_mydata"
down_revision: str | None = "0019_dp_more"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mydata_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_ko", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_ko", sa.Text(), nullable=False),
        sa.Column("agency_dataset_id", sa.Integer(), nullable=True),
        sa.Column("identity_column", sa.String(length=200), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("item_fields", sa.JSON(), nullable=False),
        sa.Column("pool_dataset_id", sa.Integer(), nullable=False),
        sa.Column("consent_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_dataset_id"],
            ["datasets.id"],
            name=op.f("fk_mydata_sources_agency_dataset_id_datasets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pool_dataset_id"],
            ["datasets.id"],
            name=op.f("fk_mydata_sources_pool_dataset_id_datasets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_sources")),
        sa.UniqueConstraint("pool_dataset_id", name=op.f("uq_mydata_sources_pool_dataset_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_mydata_sources_slug")),
    )
    op.create_table(
        "mydata_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("target_donors", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_ko", sa.String(length=300), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("explanation_ko", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_mydata_campaigns_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mydata_sources.id"],
            name=op.f("fk_mydata_campaigns_source_id_mydata_sources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_campaigns")),
        sa.UniqueConstraint("slug", name=op.f("uq_mydata_campaigns_slug")),
    )
    op.create_table(
        "mydata_donations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("donor_key", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("dropped_rows", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active", "deleted", name="mydata_donation_status", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mydata_sources.id"],
            name=op.f("fk_mydata_donations_source_id_mydata_sources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mydata_donations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_donations")),
    )
    with op.batch_alter_table("mydata_donations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mydata_donations_donor_key"), ["donor_key"], unique=False
        )
        batch_op.create_index(
            "ix_mydata_donations_source_status", ["source_id", "status"], unique=False
        )
        batch_op.create_index("ix_mydata_donations_user", ["user_id"], unique=False)

    op.create_table(
        "mydata_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("verified_by", sa.String(length=100), nullable=False),
        sa.Column("verified_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mydata_sources.id"],
            name=op.f("fk_mydata_identities_source_id_mydata_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mydata_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_identities")),
        sa.UniqueConstraint("user_id", "source_id", name="uq_mydata_identities_user"),
    )
    with op.batch_alter_table("mydata_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mydata_identities_user_id"), ["user_id"], unique=False)

    op.create_table(
        "mydata_project_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("first_used_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_mydata_project_uses_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["mydata_sources.id"],
            name=op.f("fk_mydata_project_uses_source_id_mydata_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_project_uses")),
        sa.UniqueConstraint("source_id", "project_id", name="uq_mydata_project_uses_project"),
    )
    op.create_table(
        "mydata_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("projects", sa.JSON(), nullable=False),
        sa.Column(
            "tier",
            sa.Enum("aggregates", "jobs", "rows", name="mydata_tier", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("starts_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "withdrawn",
                "expired",
                name="mydata_consent_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("ended_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["mydata_campaigns.id"],
            name=op.f("fk_mydata_consents_campaign_id_mydata_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["donation_id"],
            ["mydata_donations.id"],
            name=op.f("fk_mydata_consents_donation_id_mydata_donations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mydata_consents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_consents")),
    )
    with op.batch_alter_table("mydata_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mydata_consents_donation_status", ["donation_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mydata_consents_user_id"), ["user_id"], unique=False)

    op.create_table(
        "mydata_consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "given",
                "renewed",
                "withdrawn",
                "expired",
                name="mydata_event_kind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_ko", sa.Text(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_mydata_consent_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["mydata_consents.id"],
            name=op.f("fk_mydata_consent_events_consent_id_mydata_consents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_consent_events")),
    )
    with op.batch_alter_table("mydata_consent_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mydata_consent_events_consent_id"), ["consent_id"], unique=False
        )

    op.create_table(
        "mydata_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("audit_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", bitgoeul.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["mydata_consents.id"],
            name=op.f("fk_mydata_receipts_consent_id_mydata_consents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["mydata_consent_events.id"],
            name=op.f("fk_mydata_receipts_event_id_mydata_consent_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mydata_receipts")),
        sa.UniqueConstraint("event_id", name=op.f("uq_mydata_receipts_event_id")),
    )
    with op.batch_alter_table("mydata_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mydata_receipts_consent_id"), ["consent_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mydata_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mydata_receipts_consent_id"))

    op.drop_table("mydata_receipts")
    with op.batch_alter_table("mydata_consent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mydata_consent_events_consent_id"))

    op.drop_table("mydata_consent_events")
    with op.batch_alter_table("mydata_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mydata_consents_user_id"))
        batch_op.drop_index("ix_mydata_consents_donation_status")

    op.drop_table("mydata_consents")
    op.drop_table("mydata_project_uses")
    with op.batch_alter_table("mydata_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mydata_identities_user_id"))

    op.drop_table("mydata_identities")
    with op.batch_alter_table("mydata_donations", schema=None) as batch_op:
        batch_op.drop_index("ix_mydata_donations_user")
        batch_op.drop_index("ix_mydata_donations_source_status")
        batch_op.drop_index(batch_op.f("ix_mydata_donations_donor_key"))

    op.drop_table("mydata_donations")
    op.drop_table("mydata_campaigns")
    op.drop_table("mydata_sources")
