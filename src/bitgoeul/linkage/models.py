"""Linkage projects, the publishers' approvals of them, and their runs.

A ``LinkageProject`` names the source datasets (each at a pinned version, with the columns that
identify a person and the attributes the linked dataset may carry), the method, the key
custodian (the organization whose secret keys and encodings are made under) and the research
project that will use the result. Every publisher of a source approves it through one of its
stewards (``LinkageApproval``); the decision point reads those approvals. A ``LinkageRun``
records one run: its counts, its match-rate report and the linked dataset it published.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bitgoeul.audit.models import AuditAction
from bitgoeul.db.base import Base, str_enum, utcnow


class LinkageAudit(AuditAction):
    """Linkage projects, approvals and runs; the linkage door."""

    linkage_project_created = "linkage.project_created"
    linkage_project_approve = "linkage.project_approve"
    linkage_project_approved = "linkage.project_approved"
    linkage_run_failed = "linkage.run_failed"
    linkage_run_finished = "linkage.run_finished"
    linkage_intermediates_deleted = "linkage.intermediates_deleted"
    linkage_review_labelled = "linkage.review_labelled"
    dataset_linkage_decision = "dataset.linkage_decision"


class LinkageMethod(StrEnum):
    exact = "exact"  # combination keys: HMAC-SHA256 under the custodian's secret
    bloom = "bloom"  # Bloom-filter encodings (CLK), Dice, one-to-one
    probabilistic = "probabilistic"  # Fellegi–Sunter on Splink, inside the hub, one-to-one


class RunStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class LinkageProject(Base):
    __tablename__ = "linkage_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[LinkageMethod] = mapped_column(
        str_enum(LinkageMethod, "linkage_method", length=40)
    )
    custodian_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    # The research project that will use the linked dataset (its members ask for access).
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    # [{"dataset": slug, "version": n, "fields": {"name": column, ...}, "attributes": [...]}]
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Exact: [[definition name, [field, ...]], ...]; the threshold is Bloom's Dice or the
    # probabilistic method's match probability.
    key_definitions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    threshold: Mapped[float] = mapped_column(default=0.7)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    approvals: Mapped[list[LinkageApproval]] = relationship(
        back_populates="linkage_project", order_by="LinkageApproval.id"
    )


class LinkageApproval(Base):
    __tablename__ = "linkage_approvals"
    __table_args__ = (
        UniqueConstraint(
            "linkage_project_id", "organization_id", name="uq_linkage_approvals_publisher"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    linkage_project_id: Mapped[int] = mapped_column(
        ForeignKey("linkage_projects.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)

    linkage_project: Mapped[LinkageProject] = relationship(back_populates="approvals")


class LinkageRun(Base):
    __tablename__ = "linkage_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    linkage_project_id: Mapped[int] = mapped_column(
        ForeignKey("linkage_projects.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "linkage_run_status", length=40))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The linked dataset the run published (None until it succeeds).
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    # The match-rate report: per source and method, small counts suppressed.
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    # The clerical review sample's strata: [{"source": 1, "name", "kind", "population"}].
    # Kept apart from the report: the populations are counts the report would suppress.
    review_strata: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class LinkageReviewPair(Base):
    """One pair of the clerical review sample: rows only (the reviewer reads the records
    through the door), its score, and the reviewer's label once given."""

    __tablename__ = "linkage_review_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("linkage_runs.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[int]  # the linked source's index in the project (the anchor is 0)
    stratum: Mapped[str] = mapped_column(String(100))
    left_row: Mapped[int]  # the anchor's row, from 0
    right_row: Mapped[int]  # the source's row, from 0
    score: Mapped[float | None]
    match: Mapped[bool | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
