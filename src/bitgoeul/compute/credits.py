"""Compute credits: the operator grants CPU-hours and GPU-hours to organizations; jobs reserve
their worst case before they are queued and are refunded what they did not use.

Every change locks the organization's ``CreditAccount`` row first (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite serialises writers with a no-op write that takes its database lock), checks,
then writes the new balance and a ledger entry in the same transaction.  Two concurrent
reservations therefore see each other's debit, and a balance can never go below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization
from bitgoeul.accounts.queries import get_organization
from bitgoeul.audit.actions import record_event
from bitgoeul.compute.models import ComputeAudit, CreditAccount, CreditEntry, CreditKind
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, NotFound, ValidationFailed
from bitgoeul.messages import joined, msg

PRECISION = Decimal("0.000001")
MAX_GRANT_HOURS = Decimal(1_000_000)


class InsufficientCredits(AccessDenied):
    """A job would cost more than the organization has left (403, saying how much is left)."""


@dataclass(frozen=True)
class Cost:
    cpu_hours: Decimal
    gpu_hours: Decimal


def hours(value: float | Decimal) -> Decimal:
    return Decimal(value).quantize(PRECISION, rounding=ROUND_UP)


def worst_case(*, cpus: int, gpus: int, time_limit_s: int) -> Cost:
    """What a job may cost at most: every resource it asked for, for its whole time limit."""
    return Cost(
        hours(Decimal(cpus * time_limit_s) / 3600), hours(Decimal(gpus * time_limit_s) / 3600)
    )


def actual(*, cpu_seconds: float, gpus: int, wall_seconds: float) -> Cost:
    """What a job costs: the CPU time its cgroup used (measured by the kernel, at most its
    cores x run time, since the cgroup's quota holds it to its cores) and its GPUs x run
    time."""
    cpu = Decimal(str(max(0.0, cpu_seconds)))
    seconds = Decimal(str(max(0.0, wall_seconds)))
    return Cost(hours(cpu / 3600), hours(gpus * seconds / 3600))


def _locked_account(session: Session, organization_id: int) -> CreditAccount:
    """The organization's account, created when missing, locked for this transaction."""
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock now, so the read below is not overtaken by another writer.
        session.execute(
            update(CreditAccount)
            .where(CreditAccount.organization_id == organization_id)
            .values(updated_at=CreditAccount.updated_at)
        )
    account = session.scalars(
        select(CreditAccount)
        .where(CreditAccount.organization_id == organization_id)
        .with_for_update()
    ).one_or_none()
    if account is None:  # the first grant: the new row is this transaction's own until commit
        account = CreditAccount(
            organization_id=organization_id, cpu_hours=Decimal(0), gpu_hours=Decimal(0)
        )
        session.add(account)
        session.flush()
    return account


def _move(
    session: Session,
    account: CreditAccount,
    kind: CreditKind,
    amount: Decimal,
    *,
    reason: str,
    note: str = "",
    job_id: int | None = None,
    actor_id: int | None = None,
) -> None:
    if amount == 0:
        return
    if kind == CreditKind.cpu:
        account.cpu_hours = hours(account.cpu_hours + amount)
        after = account.cpu_hours
    else:
        account.gpu_hours = hours(account.gpu_hours + amount)
        after = account.gpu_hours
    account.updated_at = utcnow()
    session.add(
        CreditEntry(
            organization_id=account.organization_id,
            kind=kind,
            hours=amount,
            balance_after=after,
            reason=reason,
            note=note,
            job_id=job_id,
            actor_id=actor_id,
        )
    )


def grant(
    session: Session,
    *,
    actor: Actor,
    organization_slug: str,
    cpu_hours: Decimal = Decimal(0),
    gpu_hours: Decimal = Decimal(0),
    note: str = "",
) -> CreditAccount:
    """An operator adds (or, with a negative amount, withdraws unused) credits; commits."""
    if not actor.is_operator:
        raise AccessDenied(
            msg(
                "Only the hub's operators grant compute credits; ask them for credits for "
                "your organization."
            )
        )
    organization = get_organization(session, organization_slug)
    if organization is None:
        raise NotFound(
            msg(
                "There is no organization '{organization}'; choose one from the list.",
                organization=organization_slug,
            )
        )
    if cpu_hours == 0 and gpu_hours == 0:
        raise ValidationFailed(msg("Grant some CPU-hours or GPU-hours (both are zero)."))
    if abs(cpu_hours) > MAX_GRANT_HOURS or abs(gpu_hours) > MAX_GRANT_HOURS:
        raise ValidationFailed(
            msg("One grant may move at most {hours} hours.", hours=MAX_GRANT_HOURS)
        )
    account = _locked_account(session, organization.id)
    for kind, amount, balance in (
        (CreditKind.cpu, cpu_hours, account.cpu_hours),
        (CreditKind.gpu, gpu_hours, account.gpu_hours),
    ):
        if balance + amount < 0:
            session.rollback()
            raise ValidationFailed(
                msg(
                    "{organization} has {balance} {kind}-hours left; a withdrawal of {amount} "
                    "would take the balance below zero.",
                    organization=organization_slug,
                    balance=balance,
                    kind=kind.value.upper(),
                    amount=-amount,
                )
            )
        _move(
            session,
            account,
            kind,
            hours(amount),
            reason="grant",
            note=note,
            actor_id=actor.user_id,
        )
    record_event(
        session,
        action=ComputeAudit.credits_grant,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="organization",
        resource_id=organization_slug,
        organization_id=organization.id,
        detail={"cpu_hours": str(cpu_hours), "gpu_hours": str(gpu_hours), "note": note},
    )
    session.commit()
    return account


def reserve(
    session: Session, *, organization_id: int, cost: Cost, job_id: int, organization_name: str
) -> None:
    """Debit a job's worst case, or refuse it; the caller commits with the job."""
    account = _locked_account(session, organization_id)
    short = []
    if cost.cpu_hours > account.cpu_hours:
        short.append(
            msg(
                "{hours} CPU-hours (it has {balance})",
                hours=cost.cpu_hours,
                balance=account.cpu_hours,
            )
        )
    if cost.gpu_hours > account.gpu_hours:
        short.append(
            msg(
                "{hours} GPU-hours (it has {balance})",
                hours=cost.gpu_hours,
                balance=account.gpu_hours,
            )
        )
    if short:
        raise InsufficientCredits(
            msg(
                "{organization} does not have the credits for this job: it may use up to "
                "{needed}. Ask for fewer resources or a shorter time limit, or ask the hub "
                "operator for credits.",
                organization=organization_name,
                needed=joined(short, " + "),
            )
        )
    _move(
        session, account, CreditKind.cpu, -cost.cpu_hours, reason="job_reservation", job_id=job_id
    )
    _move(
        session, account, CreditKind.gpu, -cost.gpu_hours, reason="job_reservation", job_id=job_id
    )


def settle(
    session: Session, *, organization_id: int, reserved: Cost, used: Cost, job_id: int
) -> None:
    """Give back what a finished job reserved but did not use; the caller commits."""
    account = _locked_account(session, organization_id)
    _move(
        session,
        account,
        CreditKind.cpu,
        max(Decimal(0), reserved.cpu_hours - used.cpu_hours),
        reason="job_refund",
        job_id=job_id,
    )
    _move(
        session,
        account,
        CreditKind.gpu,
        max(Decimal(0), reserved.gpu_hours - used.gpu_hours),
        reason="job_refund",
        job_id=job_id,
    )


def balance(session: Session, organization_id: int) -> CreditAccount:
    account = session.get(CreditAccount, organization_id)
    return account or CreditAccount(
        organization_id=organization_id, cpu_hours=Decimal(0), gpu_hours=Decimal(0)
    )


def history(session: Session, organization_id: int, *, limit: int = 100) -> list[CreditEntry]:
    query = (
        select(CreditEntry)
        .where(CreditEntry.organization_id == organization_id)
        .order_by(CreditEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def organization_for(session: Session, *, actor: Actor, slug: str | None) -> Organization:
    """Whose credits the actor may see: their own organization's, or (operators only) the one
    named by ``slug``."""
    if not slug:
        if actor.organization_id is None:
            raise NotFound(
                msg(
                    "You belong to no organization, so there are no credits to show; ask the "
                    "hub's operators to add your account to your organization."
                )
            )
        own = session.get(Organization, actor.organization_id)
        assert own is not None  # noqa: S101 - a user's organization exists
        return own
    found = get_organization(session, slug)
    if found is None:
        raise NotFound(
            msg(
                "There is no organization '{organization}'; choose one from the list.",
                organization=slug,
            )
        )
    if found.id != actor.organization_id and not actor.is_operator:
        raise AccessDenied(
            msg(
                "Only operators see another organization's credits; your own are on the "
                "credits page."
            )
        )
    return found
