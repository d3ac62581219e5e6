"""The catalog's cast: two agencies with a steward each, a researcher, a citizen, an operator.

Users are made with the ORM directly and sign in with API tokens stored the way accounts stores
them (SHA-256 of the token), so HTTP tests go through the real bearer-token path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.deps import SESSION_COOKIE
from bitgoeul.accounts.models import ApiToken, Organization, OrganizationKind, Role, User
from bitgoeul.catalog import actions
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings

WHO = ["anonymous", "citizen", "member", "steward_of_other_org", "steward_of_publisher", "operator"]


@dataclass
class Cast:
    actors: dict[str, Actor]
    tokens: dict[str, str]
    kepco: Organization
    kpx: Organization

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _org(db: Session, slug: str, name: str, name_ko: str, kind: OrganizationKind) -> Organization:
    org = Organization(slug=slug, name=name, name_ko=name_ko, kind=kind)
    db.add(org)
    db.flush()
    return org


def _user(db: Session, username: str, role: Role, org: Organization | None) -> User:
    user = User(
        username=username,
        password_hash="not-a-real-hash",
        role=role,
        organization_id=org.id if org else None,
    )
    db.add(user)
    db.flush()
    return user


def issue_tokens(db: Session, users: dict[str, User]) -> dict[str, str]:
    """A known bearer token per user (stored hashed, as the accounts code stores them)."""
    tokens: dict[str, str] = {}
    for who, user in users.items():
        token = f"bgt_test_{who}_{'x' * 20}"
        db.add(
            ApiToken(
                user_id=user.id,
                name="tests",
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                prefix=token[:12],
            )
        )
        tokens[who] = token
    return tokens


@pytest.fixture
def cast(db: Session) -> Cast:
    kepco = _org(
        db, "kepco", "Korea Electric Power Corporation", "한국전력공사", OrganizationKind.agency
    )
    kpx = _org(db, "kpx", "Korea Power Exchange", "한국전력거래소", OrganizationKind.agency)
    lab = _org(db, "gist-lab", "GIST AI Lab", "지스트 AI 연구실", OrganizationKind.research)
    hub = _org(db, "gwangju", "Gwangju Metropolitan City", "광주광역시", OrganizationKind.operator)
    users = {
        "citizen": _user(db, "minji", Role.citizen, None),
        "member": _user(db, "researcher", Role.member, lab),
        "steward_of_other_org": _user(db, "kpx-steward", Role.steward, kpx),
        "steward_of_publisher": _user(db, "kepco-steward", Role.steward, kepco),
        "operator": _user(db, "hub-operator", Role.operator, hub),
    }
    tokens = issue_tokens(db, users)
    db.commit()
    actors = {who: Actor.for_user(user, via="token") for who, user in users.items()}
    actors["anonymous"] = ANONYMOUS
    return Cast(actors=actors, tokens=tokens, kepco=kepco, kpx=kpx)


MakeDataset = Callable[..., Dataset]


@pytest.fixture
def make_dataset(db: Session, cast: Cast) -> MakeDataset:
    """Create a dataset through the real action, as the publisher's steward (or ``by``)."""

    def make(by: str = "steward_of_publisher", **fields: Any) -> Dataset:
        values: dict[str, Any] = {
            "title": "Hourly household electricity use",
            "sector": Sector.energy,
            "access_level": AccessLevel.open,
        }
        values.update(fields)
        return actions.create_dataset(db, actor=cast.actors[by], data=DatasetCreate(**values))

    return make


@pytest.fixture
def api(client: TestClient) -> TestClient:
    return client


Browser = Callable[[str], str]


@pytest.fixture
def browser(api: TestClient, db: Session, settings: Settings, cast: Cast) -> Browser:
    """Give ``api`` the browser session of a cast member, as the sign-in page would; returns
    the session's CSRF token."""

    def sign_in(who: str) -> str:
        user = db.get(User, cast.actors[who].user_id)
        assert user is not None
        cookie, csrf_token = account_actions.start_web_session(db, settings=settings, user=user)
        api.cookies.set(SESSION_COOKIE, cookie)
        return csrf_token

    return sign_in
