"""``/me``: what the hub holds about the signed-in person, said plainly.

What the hub holds about a person is their account, their sign-ins and tokens, the audit log's
record of what they did and what was done to their account, their projects and notifications,
and for a citizen what they donated (My Data: donations and the consents in force, managed on
``/my-data``).  The page says so, and says what it does not know: whether published datasets
hold records about them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.deps import SessionDep, SignedInActor
from bitgoeul.accounts.models import Role
from bitgoeul.governance import notifications
from bitgoeul.governance import queries as governance_queries
from bitgoeul.mydata import queries as mydata_queries
from bitgoeul.mydata.models import ConsentStatus, DonationStatus
from bitgoeul.web.views import page

router = APIRouter(include_in_schema=False)


@router.get("/me", response_class=HTMLResponse)
def me(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    record = account_queries.person_record(session, actor=actor)
    projects = (
        governance_queries.list_projects(session, actor=actor)
        if actor.role != Role.citizen and not actor.is_operator
        else []
    )
    my_data: dict[str, int] | None = None
    if actor.role == Role.citizen:
        donations = mydata_queries.my_donations(session, actor=actor)
        my_data = {
            "donations": sum(d.status == DonationStatus.active for d in donations),
            "consents": sum(
                c.status == ConsentStatus.active for d in donations for c in d.consents
            ),
        }
    return page(
        request,
        "me.html",
        record=record,
        projects=projects,
        my_data=my_data,
        notifications=notifications.total_count(session, user_id=record.user.id),
        no_store=True,
    )
