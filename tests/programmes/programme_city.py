"""People for the programmes' tests: the catalog's cast plus two startups with a founder each.

Import the fixtures by name into a test module (``from tests.programmes.programme_city import
people``); ``people.headers(who)`` carries a bearer token for every role in ``ROLES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, _org, _user, issue_tokens

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role
from bitgoeul.programmes import actions
from bitgoeul.programmes.models import SupportApplication
from bitgoeul.programmes.schemas import ApplicationCreate, ApplicationReview

# Who acts in the authorization tests: every role, and a founder of another startup.
ROLES = [
    "anonymous",
    "citizen",
    "member",
    "steward_of_publisher",
    "founder",
    "other_founder",
    "operator",
]


@dataclass
class People:
    cast: Cast
    startup: Organization
    other_startup: Organization

    @property
    def actors(self) -> dict[str, Actor]:
        return self.cast.actors

    def headers(self, who: str) -> dict[str, str]:
        return self.cast.headers(who)


@pytest.fixture
def people(db: Session, cast: Cast) -> People:
    startup = _org(db, "vision-lab", "Vision Lab Inc.", "비전랩", OrganizationKind.company)
    other = _org(db, "grid-ai", "Grid AI Co.", "그리드AI", OrganizationKind.company)
    users = {
        "founder": _user(db, "founder", Role.member, startup),
        "other_founder": _user(db, "other-founder", Role.member, other),
    }
    tokens = issue_tokens(db, users)
    db.commit()
    for who, user in users.items():
        cast.actors[who] = Actor.for_user(user, via="token")
        cast.tokens[who] = tokens[who]
    return People(cast=cast, startup=startup, other_startup=other)


def application(
    db: Session,
    people: People,
    *,
    who: str = "founder",
    cpu: int = 100,
    gpu: int = 10,
    employees: int = 12,
) -> SupportApplication:
    return actions.apply_for_support(
        db,
        actor=people.actors[who],
        data=ApplicationCreate(
            summary="Crop disease detection from drone images of Gwangju's farms.",
            employees=employees,
            cpu_hours=Decimal(cpu),
            gpu_hours=Decimal(gpu),
            data_access_help=True,
        ),
    )


def approve(db: Session, people: People, application_id: int) -> SupportApplication:
    return actions.review_application(
        db,
        actor=people.actors["operator"],
        application_id=application_id,
        review=ApplicationReview(decision="approve", note="Welcome to the programme."),
    )
