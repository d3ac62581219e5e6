"""Reads for the operators' home page (``/hub``): the hub's state, each part pointing at the
page where it is handled.

Only reads.  :func:`hub_state` is for operators and answers "what needs me now": pending
access requests, output reviews, running and queued jobs, failed uploads, credit balances,
the ε spent from each secure dataset's DP budget and whether the audit chain holds.  Checking
the chain reads the whole log (``audit.queries.verify_chain``), so the page's cost grows with
the log; a hub with millions of entries will want the result kept.

:func:`history` reads the daily snapshots the tower keeps (``tower.actions.take_snapshot``)
for the charts and the API; :func:`public_history` blanks, day by day, the values about people
that rested on too few records, as ``tower.indicators.suppressed`` does for today's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization
from bitgoeul.audit.queries import ChainReport, verify_chain
from bitgoeul.catalog.models import Dataset, IngestRun, IngestStatus
from bitgoeul.compute.models import CreditAccount, Job, JobStatus, ReleaseStatus
from bitgoeul.db.base import utcnow
from bitgoeul.dp.queries import epsilon_spent_per_dataset
from bitgoeul.errors import AccessDenied, NotAuthenticated
from bitgoeul.governance.models import AccessRequest, Project, RequestStatus
from bitgoeul.messages import msg
from bitgoeul.tower import indicators
from bitgoeul.tower.models import TowerSnapshot

SHOWN = 10
FAILED_INGESTS_DAYS = 30


@dataclass(frozen=True)
class PendingRequest:
    id: int
    project_id: int
    project: str
    dataset: str
    days: int
    created_at: datetime


@dataclass(frozen=True)
class ActiveJob:
    id: int
    name: str
    project: str
    status: JobStatus
    since: datetime


@dataclass(frozen=True)
class ReviewWaiting:
    job_id: int
    name: str
    project: str


@dataclass(frozen=True)
class FailedIngest:
    run_id: int
    dataset: str
    filename: str
    at: datetime


@dataclass(frozen=True)
class CreditBalance:
    organization: str
    name: str
    name_ko: str
    cpu_hours: Decimal
    gpu_hours: Decimal


@dataclass(frozen=True)
class PrivacySpent:
    """One secure dataset's ε: its overall DP budgets (all projects together; a
    time-partitioned dataset's partitions added up) and what is spent."""

    dataset: str
    cap: float
    spent: float


@dataclass(frozen=True)
class HubState:
    """What needs an operator: each list holds the first ``SHOWN``; the counts are whole."""

    pending_requests: list[PendingRequest]
    pending_requests_total: int
    reviews: list[ReviewWaiting]
    reviews_total: int
    running_jobs: int
    queued_jobs: int
    active_jobs: list[ActiveJob]
    failed_ingests: list[FailedIngest]
    failed_ingests_total: int
    credits: list[CreditBalance]
    chain: ChainReport
    checked_at: datetime
    privacy_spent: list[PrivacySpent]


def require_operator(actor: Actor) -> None:
    """The tower is the operators': others are told so (anonymous visitors: sign in)."""
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in as an operator to see the hub's state."))
    if not actor.is_operator:
        raise AccessDenied(msg("The hub's state is for operators."))


def _count(session: Session, statement: Select[Any]) -> int:
    return int(session.scalar(statement) or 0)


def hub_state(session: Session, *, actor: Actor) -> HubState:
    """The hub's state now, for an operator."""
    require_operator(actor)
    now = utcnow()
    pending = (
        select(AccessRequest, Project.title, Dataset.slug)
        .join(Project, Project.id == AccessRequest.project_id)
        .join(Dataset, Dataset.id == AccessRequest.dataset_id)
        .where(AccessRequest.status == RequestStatus.pending)
    )
    requests = [
        PendingRequest(r.id, r.project_id, title, slug, r.requested_days, r.created_at)
        for r, title, slug in session.execute(
            pending.order_by(AccessRequest.created_at).limit(SHOWN)
        )
    ]
    in_review = (
        select(Job.id, Job.name, Project.title)
        .join(Project, Project.id == Job.project_id)
        .where(Job.release_status == ReleaseStatus.in_review)
    )
    reviews = [
        ReviewWaiting(job_id, name, title)
        for job_id, name, title in session.execute(in_review.order_by(Job.id).limit(SHOWN))
    ]
    active = (
        select(Job, Project.title)
        .join(Project, Project.id == Job.project_id)
        .where(Job.status.in_([JobStatus.running, JobStatus.queued]))
        .order_by(Job.status.desc(), Job.id)  # running first
        .limit(SHOWN)
    )
    jobs = [
        ActiveJob(job.id, job.name, title, job.status, job.started_at or job.created_at)
        for job, title in session.execute(active)
    ]
    by_status = dict(
        session.execute(
            select(Job.status, func.count())
            .where(Job.status.in_([JobStatus.running, JobStatus.queued]))
            .group_by(Job.status)
        ).all()
    )
    since = now - timedelta(days=FAILED_INGESTS_DAYS)
    failed = (
        select(IngestRun, Dataset.slug)
        .join(Dataset, Dataset.id == IngestRun.dataset_id)
        .where(IngestRun.status == IngestStatus.failed, IngestRun.started_at >= since)
    )
    ingests = [
        FailedIngest(run.id, slug, run.source_filename, run.finished_at or run.started_at)
        for run, slug in session.execute(failed.order_by(IngestRun.id.desc()).limit(SHOWN))
    ]
    balances = [
        CreditBalance(org.slug, org.name, org.name_ko, account.cpu_hours, account.gpu_hours)
        for account, org in session.execute(
            select(CreditAccount, Organization)
            .join(Organization, Organization.id == CreditAccount.organization_id)
            .order_by(Organization.slug)
        )
    ]
    return HubState(
        pending_requests=requests,
        pending_requests_total=_count(
            session, select(func.count()).select_from(pending.subquery())
        ),
        reviews=reviews,
        reviews_total=_count(session, select(func.count()).select_from(in_review.subquery())),
        running_jobs=int(by_status.get(JobStatus.running, 0)),
        queued_jobs=int(by_status.get(JobStatus.queued, 0)),
        active_jobs=jobs,
        failed_ingests=ingests,
        failed_ingests_total=_count(session, select(func.count()).select_from(failed.subquery())),
        credits=balances,
        chain=verify_chain(session),
        checked_at=now,
        privacy_spent=[
            PrivacySpent(d.dataset, d.cap, d.spent) for d in epsilon_spent_per_dataset(session)
        ],
    )


@dataclass(frozen=True)
class DayValues:
    """One day's snapshot: each indicator's value (None: not available or nothing measured, or
    suppressed in the public history)."""

    day: date
    values: dict[str, float | None]
    bases: dict[str, int]


def history(session: Session, *, days: int = 365, until: date | None = None) -> list[DayValues]:
    """The snapshots of the last ``days`` days up to ``until`` (today), oldest first."""
    last = until or utcnow().date()
    first = last - timedelta(days=days - 1)
    rows = session.execute(
        select(TowerSnapshot.day, TowerSnapshot.values, TowerSnapshot.bases)
        .where(TowerSnapshot.day >= first, TowerSnapshot.day <= last)
        .order_by(TowerSnapshot.day)
    )
    return [DayValues(day, dict(values or {}), dict(bases or {})) for day, values, bases in rows]


def public_history(rows: list[DayValues]) -> list[DayValues]:
    """``rows`` as anyone may see them: small values about people blanked, bases dropped."""
    about_people = {d.key for d in indicators.DEFINITIONS if d.about_people}
    is_small = indicators.is_small
    return [
        DayValues(
            row.day,
            {
                key: None
                if key in about_people and is_small(value, int(row.bases.get(key, 0)))
                else value
                for key, value in row.values.items()
            },
            {},
        )
        for row in rows
    ]
