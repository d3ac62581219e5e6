"""REST routes for reading the audit log (writes happen only inside actions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bitgoeul.audit import queries
from bitgoeul.audit.schemas import AuditEventPublic, ChainReportPublic
from bitgoeul.deps import SessionDep, SignedInActor
from bitgoeul.errors import AccessDenied

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditEventPublic])
def list_audit_events(
    session: SessionDep,
    actor: SignedInActor,
    dataset: str | None = None,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEventPublic]:
    events = queries.list_events(
        session, actor=actor, dataset=dataset, action=action, limit=limit, offset=offset
    )
    return [AuditEventPublic.model_validate(event) for event in events]


@router.get("/audit/verify", response_model=ChainReportPublic)
def verify_audit_chain(session: SessionDep, actor: SignedInActor) -> ChainReportPublic:
    if not actor.is_operator:
        raise AccessDenied("Only operators may verify the whole audit chain.")
    report = queries.verify_chain(session)
    return ChainReportPublic(
        ok=report.ok,
        checked=report.checked,
        first_broken_seq=report.first_broken_seq,
        reason=report.reason,
    )
