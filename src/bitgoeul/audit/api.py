"""REST routes for reading the audit log (writes happen only inside actions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from bitgoeul.audit import queries
from bitgoeul.audit.schemas import AuditEventPublic, ChainReportPublic
from bitgoeul.deps import SessionDep, SignedInActor
from bitgoeul.errors import AccessDenied
from bitgoeul.messages import msg

router = APIRouter(tags=["audit"])


def _utc(moment: datetime | None) -> datetime | None:
    """A moment without a zone is taken as UTC, the log's own."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("/audit", response_model=list[AuditEventPublic])
def list_audit_events(
    session: SessionDep,
    actor: SignedInActor,
    dataset: str | None = None,
    action: str | None = None,
    actor_name: Annotated[
        str | None, Query(alias="actor", max_length=64, description="Who acted (username).")
    ] = None,
    since: Annotated[datetime | None, Query(description="Entries at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Entries before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEventPublic]:
    """The entries you may read, newest first, filtered like the audit page."""
    events = queries.list_events(
        session,
        actor=actor,
        dataset=dataset,
        action=action,
        actor_name=actor_name,
        since=_utc(since),
        until=_utc(until),
        limit=limit,
        offset=offset,
    )
    return [AuditEventPublic.model_validate(event) for event in events]


@router.get("/audit/verify", response_model=ChainReportPublic)
def verify_audit_chain(session: SessionDep, actor: SignedInActor) -> ChainReportPublic:
    if not actor.is_operator:
        raise AccessDenied(msg("Only operators may verify the whole audit chain."))
    report = queries.verify_chain(session)
    return ChainReportPublic(
        ok=report.ok,
        checked=report.checked,
        first_broken_seq=report.first_broken_seq,
        reason=report.reason,
    )
