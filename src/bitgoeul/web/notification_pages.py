"""Notifications: what happened to a person's requests, agreements, jobs and submissions.

Each is shown in the reader's language and links through ``/notifications/{id}``, which marks
it read and goes on to the page where it is handled."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bitgoeul.accounts.deps import CsrfChecked, SessionDep, SignedInActor
from bitgoeul.governance import actions as governance_actions
from bitgoeul.governance import notifications as notification_queries
from bitgoeul.web.i18n import request_language
from bitgoeul.web.views import page, redirect_to, safe_next

router = APIRouter(include_in_schema=False)


# Notifications ---------------------------------------------------------------------------


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return page(
        request,
        "notifications.html",
        notifications=notification_queries.list_notifications(
            session, actor=actor, lang=request_language(request)
        ),
    )


@router.get("/notifications/{notification_id}")
def open_notification(session: SessionDep, actor: SignedInActor, notification_id: int) -> Response:
    """Opening a notification marks it read and goes to its page."""
    link = governance_actions.open_notification(
        session, actor=actor, notification_id=notification_id
    )
    return redirect_to(safe_next(link))


@router.post("/notifications/read")
def read_notifications(session: SessionDep, actor: CsrfChecked) -> Response:
    governance_actions.mark_all_read(session, actor=actor)
    return redirect_to("/notifications")
