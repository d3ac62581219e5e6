"""Notifications: what happened to a person's requests, agreements, jobs and submissions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bitgoeul.deps import CsrfChecked, SessionDep, SignedInActor
from bitgoeul.governance import actions, queries
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)


# Notifications ---------------------------------------------------------------------------


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return page(
        request,
        "notifications.html",
        notifications=queries.list_notifications(session, actor=actor),
    )


@router.post("/notifications/read")
def read_notifications(session: SessionDep, actor: CsrfChecked) -> Response:
    actions.mark_notifications_read(session, actor=actor)
    return redirect_to("/notifications")
