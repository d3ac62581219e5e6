"""Tables of My Data: residents' donations of their own records, consents, receipts, campaigns.

* ``MyDataSource``: a kind of record a resident can donate (their household's meter readings
  held by KEPCO, their hospital visits, their telecom mobility summary): the agency dataset
  that holds it, the column that names the person there, the items (columns) a resident may
  donate, and the *pool* dataset donations feed.  ``consent_epoch`` counts every consent
  change on the pool: the decision point reads it at every use, so a withdrawal a moment ago
  already excludes the donor (``mydata.coverage``).
* ``MyDataIdentity``: the person's verified identity at a source (in the demo: the household,
  patient or subscriber key the agency knows them by), the way Korea's MyData links a person's
  records through a verified identity.  Only the platform reads it; a resident never types it.
* ``Donation``: what one resident donated from one source: the items kept, the rows dropped,
  the donated rows' stored Parquet (``object_key``), deleted after retention.
* ``Consent``: the current state of one consent on a donation: purposes (the projects' DPV
  purposes), optional projects, the access tier, the period and the retention.  Its history is
  ``ConsentEvent`` (append-only: given, renewed, withdrawn, expired, each with the text shown
  at the time); each event gets a signed ``Receipt`` (ISO/IEC TS 27560, DPV JSON-LD).
* ``Campaign``: a donation campaign an operator runs (target, purpose, explanation in Korean
  and English).
* ``ProjectUse``: the projects already seen using a source's pool, so donors are told once when
  a new project starts using their data.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.db.base import Base, str_enum, utcnow

DONOR_COLUMN = "donor"


class MyDataAudit(AuditAction):
    """My Data: sources, identities, donations, consent events and their receipts, campaigns,
    and the door through which a resident reads their own records at an agency."""

    source_created = "mydata.source_created"
    identity_verified = "mydata.identity_verified"
    donated = "mydata.donated"
    donation_deleted = "mydata.donation_deleted"
    consent_given = "mydata.consent_given"
    consent_renewed = "mydata.consent_renewed"
    consent_withdrawn = "mydata.consent_withdrawn"
    consent_expired = "mydata.consent_expired"
    campaign_created = "mydata.campaign_created"
    dataset_mydata_transmit_decision = "dataset.mydata_transmit_decision"


class Tier(StrEnum):
    """How a project may use donated rows, narrowest first (each tier allows those before it)."""

    aggregates = "aggregates"  # aggregate queries and DP statistics only
    jobs = "jobs"  # also rows read inside a job's sandbox, outputs reviewed
    rows = "rows"  # also pseudonymised rows (preview, row-level queries)


class ConsentStatus(StrEnum):
    active = "active"
    withdrawn = "withdrawn"
    expired = "expired"


class EventKind(StrEnum):
    given = "given"
    renewed = "renewed"
    withdrawn = "withdrawn"
    expired = "expired"


class DonationStatus(StrEnum):
    active = "active"
    deleted = "deleted"  # raw rows deleted after retention; the record stays


class MyDataSource(Base):
    __tablename__ = "mydata_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_ko: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_ko: Mapped[str] = mapped_column(Text, default="")
    # The agency dataset holding residents' records (None: only uploaded files feed the pool).
    agency_dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT")
    )
    identity_column: Mapped[str] = mapped_column(String(200), default="")
    items: Mapped[list[str]] = mapped_column(default=list)
    # The Table Schema fields of the items (for uploads checked by the same ingest).
    item_fields: Mapped[list[Any]] = mapped_column(default=list)
    pool_dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), unique=True
    )
    consent_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MyDataIdentity(Base):
    __tablename__ = "mydata_identities"
    __table_args__ = (UniqueConstraint("user_id", "source_id", name="uq_mydata_identities_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("mydata_sources.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    verified_by: Mapped[str] = mapped_column(String(100), default="")
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)


class Donation(Base):
    __tablename__ = "mydata_donations"
    __table_args__ = (
        Index("ix_mydata_donations_source_status", "source_id", "status"),
        Index("ix_mydata_donations_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("mydata_sources.id", ondelete="RESTRICT"))
    # The pseudonymous key of the donor in the pool (per source): rows carry it, never the user.
    donor_key: Mapped[str] = mapped_column(String(64), index=True)
    origin: Mapped[str] = mapped_column(String(20))  # "source" or "upload"
    items: Mapped[list[str]] = mapped_column(default=list)
    dropped_rows: Mapped[int] = mapped_column(default=0)
    row_count: Mapped[int] = mapped_column(default=0)
    object_key: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[DonationStatus] = mapped_column(
        str_enum(DonationStatus, "mydata_donation_status", length=20), default=DonationStatus.active
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class Consent(Base):
    __tablename__ = "mydata_consents"
    __table_args__ = (Index("ix_mydata_consents_donation_status", "donation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("mydata_donations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purposes: Mapped[list[str]] = mapped_column(default=list)  # governance Purpose values
    projects: Mapped[list[Any]] = mapped_column(default=list)  # project ids; [] = any project
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, "mydata_tier", length=20))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    retention_days: Mapped[int] = mapped_column(default=0)
    status: Mapped[ConsentStatus] = mapped_column(
        str_enum(ConsentStatus, "mydata_consent_status", length=20), default=ConsentStatus.active
    )
    ended_at: Mapped[datetime | None]
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("mydata_campaigns.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentEvent(Base):
    """Append-only: nothing updates or deletes a row of this table."""

    __tablename__ = "mydata_consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(
        ForeignKey("mydata_consents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, "mydata_event_kind", length=20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The notice the person was shown, in both languages, word for word.
    text_en: Mapped[str] = mapped_column(Text, default="")
    text_ko: Mapped[str] = mapped_column(Text, default="")
    epoch: Mapped[int] = mapped_column(default=0)  # the pool's consent epoch after this event


@event.listens_for(Session, "before_flush")
def _consent_events_are_append_only(session: Session, *_: object) -> None:
    """A consent event, once written, is never changed nor deleted through the ORM: the
    history a receipt was signed over stays as it was (a cascade from a deleted account is
    the database's, not this)."""
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, ConsentEvent) and (
            row in session.deleted or session.is_modified(row, include_collections=False)
        ):
            raise ValueError(f"consent event {row.id} is append-only: record a new event instead")


class Receipt(Base):
    __tablename__ = "mydata_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(
        ForeignKey("mydata_consents.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("mydata_consent_events.id", ondelete="CASCADE"), unique=True
    )
    document: Mapped[dict[str, Any]] = mapped_column(default=dict)  # signed JSON-LD, with proof
    sha256: Mapped[str] = mapped_column(String(64))
    audit_hash: Mapped[str] = mapped_column(String(64), default="")  # the anchoring audit entry
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    __tablename__ = "mydata_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("mydata_sources.id", ondelete="RESTRICT"))
    purpose: Mapped[str] = mapped_column(String(40))
    target_donors: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    title_ko: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[str] = mapped_column(Text)
    explanation_ko: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectUse(Base):
    __tablename__ = "mydata_project_uses"
    __table_args__ = (
        UniqueConstraint("source_id", "project_id", name="uq_mydata_project_uses_project"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("mydata_sources.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    first_used_at: Mapped[datetime] = mapped_column(default=utcnow)
