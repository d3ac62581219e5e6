"""Projects, their members, access requests, agreements and platform notifications.

A project member asks for a dataset (``AccessRequest``); a steward of the publisher approves it
with conditions, which makes an ``Agreement`` that expires by itself or is revoked.  The
decision point reads the active agreement through ``governance.queries.decision_context``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bitgoeul.audit.models import AuditAction
from bitgoeul.datasets.models import Dataset
from bitgoeul.db.base import Base, str_enum, utcnow


class GovernanceAudit(AuditAction):
    """Projects, access requests and agreements; a steward's change decided at the door
    (``dataset.<DataAction>``); a stored file that failed its check."""

    project_create = "project.create"
    project_created = "project.created"
    project_add_member = "project.add_member"
    project_member_added = "project.member_added"
    access_request_create = "access_request.create"
    access_request_created = "access_request.created"
    access_request_approve = "access_request.approve"
    access_request_reject = "access_request.reject"
    access_request_approved = "access_request.approved"
    access_request_rejected = "access_request.rejected"
    access_request_withdraw = "access_request.withdraw"
    access_request_withdrawn = "access_request.withdrawn"
    agreement_revoke = "agreement.revoke"
    agreement_revoked = "agreement.revoked"
    dataset_create_dataset = "dataset.create_dataset"
    dataset_edit_metadata = "dataset.edit_metadata"
    dataset_publish_version = "dataset.publish_version"
    dataset_integrity_failed = "dataset.integrity_failed"
    donor_copies_deleted = "dataset.donor_copies_deleted"


class Purpose(StrEnum):
    """Why a project uses data; each maps to a W3C DPV purpose (see ``odrl.DPV_PURPOSES``)."""

    academic_research = "academic-research"
    public_service_improvement = "public-service-improvement"
    commercial_product_development = "commercial-product-development"
    ai_model_training = "ai-model-training"
    health_research = "health-research"
    service_evaluation = "service-evaluation"


class ProjectRole(StrEnum):
    lead = "lead"
    member = "member"


class RequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[Purpose] = mapped_column(str_enum(Purpose, "project_purpose", length=40))
    justification: Mapped[str] = mapped_column(Text)
    lead_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", order_by="ProjectMember.id"
    )


class ProjectMember(Base):
    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_project_members_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[ProjectRole] = mapped_column(str_enum(ProjectRole, "project_role", length=40))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship(back_populates="members")


class ProjectChoice(Base):
    """The project a user last chose to work for, so dataset pages decide in its context.

    One row per user; a choice of a project the user has since left is ignored when read.
    """

    __tablename__ = "project_choices"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessRequest(Base):
    __tablename__ = "access_requests"
    __table_args__ = (Index("ix_access_requests_dataset_status", "dataset_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_columns: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    requested_days: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "request_status", length=40)
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship()
    dataset: Mapped[Dataset] = relationship()


class Agreement(Base):
    __tablename__ = "agreements"
    __table_args__ = (Index("ix_agreements_project_dataset", "project_id", "dataset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="RESTRICT"), unique=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    columns: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    row_filter: Mapped[str | None] = mapped_column(Text, default=None)
    grants_identifiers: Mapped[bool] = mapped_column(default=False)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    project: Mapped[Project] = relationship()
    dataset: Mapped[Dataset] = relationship()


class Notification(Base):
    """A message shown to one user on the platform (request answered, agreement revoked...)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # The English ``msg`` template and its values, so the text is said in the reader's
    # language (``governance.notifications``); empty for rows written before they were kept.
    template: Mapped[str] = mapped_column(Text, default="")
    template_values: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class DonorCopy(Base):
    """A donated-data pool version's rows of the donors a consent coverage keeps (every column,
    nothing else applied), written by the door at the first use under that coverage after a
    consent change, so later uses read it without the donor join (``Door.source``).  Keyed by
    the version, the pool's consent epoch, the tier and the coverage (``filter_sha256``: the
    SHA-256 of the donor condition).  Secure data like its version: kept in the object store
    under ``object_key`` and checked against ``sha256`` before every read; deleted (audited)
    by the first copy written ``donor_copies.SUPERSEDED_GRACE`` after a newer epoch's copy of
    the version, by the retention sweep, and with the version's file."""

    __tablename__ = "donor_copies"
    __table_args__ = (Index("ix_donor_copies_lookup", "version_id", "filter_sha256", "epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    epoch: Mapped[int]
    tier: Mapped[str] = mapped_column(String(32))
    filter_sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
