"""The audit trail as a page ("uses of my data"): operators see the whole log, stewards every
use of their organization's data, everyone else their own actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bitgoeul.accounts.models import Role
from bitgoeul.audit import queries as audit_queries
from bitgoeul.deps import SessionDep, SignedInActor
from bitgoeul.web.views import page

router = APIRouter(include_in_schema=False)

AUDIT_PAGE_SIZE = 50


# The audit trail -------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    dataset: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    """Operators: the whole log.  Stewards: every use of their organization's data, and
    their own actions.  Everyone else: their own actions."""
    events = audit_queries.list_events(
        session,
        actor=actor,
        dataset=dataset.strip() or None,
        action=action.strip() or None,
        limit=AUDIT_PAGE_SIZE + 1,
        offset=(page_number - 1) * AUDIT_PAGE_SIZE,
    )
    return page(
        request,
        "audit.html",
        events=events[:AUDIT_PAGE_SIZE],
        has_more=len(events) > AUDIT_PAGE_SIZE,
        page_number=page_number,
        chosen={"dataset": dataset.strip(), "action": action.strip()},
        scope=(
            "all"
            if actor.is_operator
            else ("organization" if actor.role == Role.steward else "own")
        ),
    )
