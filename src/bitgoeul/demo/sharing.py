"""The demo city's data sharing: one project with an approved agreement and a pending request.

So that a visitor sees governance at work without setting it up: the demo startup's
researcher runs the "elderly living alone" wellbeing check (the service Gwangju runs with
KEPCO's smart-meter data), KEPCO's steward has approved its request for the hourly meter data
(meter and customer numbers pseudonymised for the project), and a request for the hospital's
secure diagnoses waits in the hospital steward's queue.  Made through the same actions a
person would use, so the approval and the request are in the audit log and the notifications.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.governance import actions
from bitgoeul.governance.models import Project, Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions, ProjectCreate

PROJECT_TITLE = "Wellbeing check for older residents living alone"
RESEARCHER = "researcher"
APPROVED_DATASET = "kepco-household-electricity-hourly"
APPROVED_BY = "kepco"
PENDING_DATASET = "cnuh-visits-diagnoses"


def has_demo_project(session: Session) -> bool:
    found = session.scalar(select(Project.id).where(Project.title == PROJECT_TITLE))
    return found is not None


def demo_actor(session: Session, username: str) -> Actor:
    """A demo account as the actor the build acts as."""
    user = account_queries.get_user(session, username)
    if user is None:  # the accounts are made first; a missing one is a bug in the demo
        raise LookupError(f"the demo account {username!r} is missing")
    return Actor.for_user(user, via="cli")


def ensure_demo_sharing(session: Session) -> None:
    """Create the demo project, its approved agreement and its pending request, once."""
    if has_demo_project(session):
        return
    researcher = demo_actor(session, RESEARCHER)
    project = actions.create_project(
        session,
        actor=researcher,
        data=ProjectCreate(
            title=PROJECT_TITLE,
            purpose=Purpose.public_service_improvement,
            justification=(
                "Detect older residents living alone whose hourly electricity use goes flat, "
                "so that district welfare officers can call or visit them (Gwangju's "
                "'안부 확인' service with KEPCO's smart-meter data)."
            ),
            starts_on=date(2026, 1, 1),
            ends_on=date(2027, 12, 31),
        ),
    )
    meters = actions.request_access(
        session,
        actor=researcher,
        data=AccessRequestCreate(
            project=project.id,
            dataset=APPROVED_DATASET,
            days=365,
            note="Hourly profiles per meter; identifiers may stay pseudonymised.",
        ),
    )
    actions.approve_request(
        session,
        actor=demo_actor(session, APPROVED_BY),
        request_id=meters.id,
        conditions=ApprovalConditions(expires_in_days=365),
    )
    actions.request_access(
        session,
        actor=researcher,
        data=AccessRequestCreate(
            project=project.id,
            dataset=PENDING_DATASET,
            days=180,
            note="Counts of chronic diagnoses by district and age band only.",
        ),
    )
