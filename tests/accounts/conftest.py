"""A small hub for account tests: three organizations and one user of every role.

``people`` maps a role name to its user (``operator``, ``steward`` of KEPCO, ``member`` of
KEPCO, ``citizen``, and ``other_steward`` of Chosun University Hospital); everyone's password
is ``PASSWORD``.  ``bearer`` signs in through the API, ``browser`` through a web session.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.accounts.deps import SESSION_COOKIE
from bitgoeul.accounts.models import Organization, User
from bitgoeul.config import Settings

PASSWORD = "correct-horse-battery"

Bearer = Callable[[str], dict[str, str]]
Browser = Callable[[str], str]


@pytest.fixture
def organizations(db: Session) -> dict[str, Organization]:
    return {
        slug: actions.create_organization(db, slug=slug, name=name, kind=kind, name_ko=name_ko)
        for slug, name, name_ko, kind in [
            ("gwangju", "Gwangju Metropolitan City", "광주광역시", "operator"),
            ("kepco", "Korea Electric Power Corporation", "한국전력공사", "agency"),
            ("chosun", "Chosun University Hospital", "조선대학교병원", "agency"),
        ]
    }


@pytest.fixture
def people(
    db: Session, settings: Settings, organizations: dict[str, Organization]
) -> dict[str, User]:
    def make(username: str, role: str, organization: str | None) -> User:
        return actions.create_user(
            db,
            settings=settings,
            username=username,
            password=PASSWORD,
            role=role,
            organization_id=organizations[organization].id if organization else None,
            display_name=username.title(),
        )

    return {
        "operator": make("operator", "operator", "gwangju"),
        "steward": make("kepco", "steward", "kepco"),
        "member": make("kepco-analyst", "member", "kepco"),
        "citizen": make("citizen", "citizen", None),
        "other_steward": make("chosun", "steward", "chosun"),
    }


@pytest.fixture
def bearer(client: TestClient, people: dict[str, User]) -> Bearer:
    """Sign in through ``POST /api/v1/auth/token``; returns the Authorization header."""

    def sign_in(username: str) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return sign_in


@pytest.fixture
def browser(
    client: TestClient, db: Session, settings: Settings, people: dict[str, User]
) -> Browser:
    """Give ``client`` a signed-in browser session; returns the session's CSRF token."""

    def sign_in(username: str) -> str:
        user = next(user for user in people.values() if user.username == username)
        cookie, csrf_token = actions.start_web_session(db, settings=settings, user=user)
        client.cookies.set(SESSION_COOKIE, cookie)
        return csrf_token

    return sign_in


@pytest.fixture
def password() -> str:
    """The password of every user in ``people``."""
    return PASSWORD
