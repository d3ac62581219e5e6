"""Jobs, the compute credits that pay for them, and the ledger of every credit movement.

A ``Job`` is a project member's code bundle run next to the data the decision point allowed,
with the resources asked for.  Credits are kept per organization as two balances (CPU-hours
and GPU-hours) on ``CreditAccount``; every change is a ``CreditEntry`` (a grant by an operator,
a reservation when a job is accepted, a refund of what it did not use), so the balance is the
sum of the ledger and the history explains it.  A job reserves its worst case (resources x time
limit) before it is queued, under a lock on the account row, so concurrent submissions can never
take a balance below zero.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.db.base import Base, str_enum, utcnow

HOURS = Numeric(14, 6)


class ComputeAudit(AuditAction):
    """Jobs, their release review and credits; the jobs' door (``dataset.job_decision``)."""

    job_refused = "job.refused"
    job_submitted = "job.submitted"
    job_cancel = "job.cancel"
    job_release_requested = "job.release_requested"
    job_release_reviewed = "job.release_reviewed"
    job_started = "job.started"
    job_finished = "job.finished"
    credits_grant = "credits.grant"
    job_log_read = "job.log_read"
    job_output_read = "job.output_read"
    dataset_job_decision = "dataset.job_decision"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    timed_out = "timed_out"


FINISHED = frozenset(
    {JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled, JobStatus.timed_out}
)


class ReleaseStatus(StrEnum):
    """What may leave: ``open`` outputs need no review; the others follow the airlock."""

    not_required = "not_required"  # only open or registered data: outputs downloadable
    held = "held"  # restricted or secure data: nothing leaves until a review
    in_review = "in_review"  # the requester asked for release; stewards are reviewing
    returned = "returned"  # a steward returned it with comments; the requester may resubmit
    released = "released"  # every involved steward approved
    rejected = "rejected"  # a steward rejected it; nothing will leave


class CreditKind(StrEnum):
    cpu = "cpu"
    gpu = "gpu"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_priority", "status", "priority"),
        Index("ix_jobs_project", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, "job_status", length=20))
    priority: Mapped[int] = mapped_column(default=0)
    executor: Mapped[str] = mapped_column(String(40))
    environment: Mapped[str] = mapped_column(String(80))
    entrypoint: Mapped[str] = mapped_column(String(500))
    arguments: Mapped[list[str]] = mapped_column(JSON, default=list)
    cpus: Mapped[int]
    memory_mb: Mapped[int]
    gpus: Mapped[int] = mapped_column(default=0)
    time_limit_s: Mapped[int]
    code_sha256: Mapped[str] = mapped_column(String(64))
    # [{"slug", "version", "access_level", "publisher_id", "agreement_id"}], as decided
    datasets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reserved_cpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    reserved_gpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    used_cpu_hours: Mapped[Decimal | None] = mapped_column(HOURS, default=None)
    used_gpu_hours: Mapped[Decimal | None] = mapped_column(HOURS, default=None)
    cpu_seconds: Mapped[float | None] = mapped_column(default=None)
    exit_code: Mapped[int | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # [{"path", "bytes", "sha256"}] of everything the job wrote, log included
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    release_status: Mapped[ReleaseStatus] = mapped_column(
        str_enum(ReleaseStatus, "job_release_status", length=20)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The worker running it (``bitgoeul worker``, a ``JobWorker`` id; no foreign key, so that
    # SQLite adds and drops the column in place); a job whose worker stopped is ended.
    worker_id: Mapped[str | None] = mapped_column(String(100), default=None, index=True)


class JobWorker(Base):
    """A process that runs jobs.  It writes ``heartbeat_at`` while it lives; the jobs of one
    that stopped writing it are ended by the others."""

    __tablename__ = "job_workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    executor: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditAccount(Base):
    """An organization's remaining compute credits (the sum of its ledger entries)."""

    __tablename__ = "credit_accounts"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    cpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    gpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditEntry(Base):
    """One movement of credits: a grant, a job's reservation, or its refund."""

    __tablename__ = "credit_entries"
    __table_args__ = (Index("ix_credit_entries_org_created", "organization_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind, "credit_kind", length=20))
    hours: Mapped[Decimal] = mapped_column(HOURS)  # positive: credit; negative: debit
    balance_after: Mapped[Decimal] = mapped_column(HOURS)
    reason: Mapped[str] = mapped_column(String(40))  # grant, job_reservation, job_refund
    note: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewVerdict(StrEnum):
    approve = "approve"
    reject = "reject"
    return_ = "return"


class OutputRelease(Base):
    """The requester's ask to release a held job's outputs, with context for each file.

    One per round: a release returned with comments may be asked for again (a new round).
    """

    __tablename__ = "output_releases"
    __table_args__ = (Index("ix_output_releases_job", "job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(default=1)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file_context: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReleaseDecision(Base):
    """A steward's verdict on a release round, for one involved publisher."""

    __tablename__ = "release_decisions"
    __table_args__ = (Index("ix_release_decisions_release", "release_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("output_releases.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verdict: Mapped[ReviewVerdict] = mapped_column(
        str_enum(ReviewVerdict, "review_verdict", length=20)
    )
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
