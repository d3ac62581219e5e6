from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.accounts.models import ApiToken, User
from bitgoeul.audit.models import AuditEvent
from bitgoeul.db.base import utcnow

TOKEN_URL = "/api/v1/auth/token"


def _login(client: TestClient, username: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post(TOKEN_URL, json={"username": username, "password": password})
    return response.status_code, response.json()


def test_api_login_returns_a_bearer_token_that_works(
    client: TestClient, people: dict[str, User], password: str
) -> None:
    status, body = _login(client, "kepco", password)

    assert status == 200
    assert body["token_type"] == "bearer"
    assert str(body["access_token"]).startswith("bgt_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "kepco"
    assert me.json()["signed_in_via"] == "token"


def test_api_login_records_a_named_token_that_expires_in_thirty_days(
    client: TestClient, db: Session, people: dict[str, User], password: str
) -> None:
    _login(client, "citizen", password)

    token = db.scalars(select(ApiToken)).one()
    assert token.name.startswith("api login ")
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)


def test_unknown_user_and_wrong_password_get_the_same_answer(
    client: TestClient, people: dict[str, User]
) -> None:
    wrong_password = _login(client, "kepco", "not-the-password")
    unknown_user = _login(client, "nobody-here", "not-the-password")

    assert wrong_password == unknown_user
    assert wrong_password[0] == 401
    assert wrong_password[1]["detail"] == "The username or password is wrong."


def test_usernames_are_matched_without_regard_to_case_or_spaces(
    client: TestClient, people: dict[str, User], password: str
) -> None:
    assert _login(client, "  KEPCO ", password)[0] == 200


def test_every_sign_in_is_audited_with_its_outcome(
    client: TestClient, db: Session, people: dict[str, User], password: str
) -> None:
    _login(client, "kepco", "wrong-password")
    _login(client, "ghost", "wrong-password")
    _login(client, "kepco", password)

    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "login").order_by(AuditEvent.seq)
    ).all()
    assert [(e.actor_name, e.outcome, e.detail.get("reason")) for e in events] == [
        ("kepco", "denied", "wrong password"),
        ("ghost", "denied", "unknown user"),
        ("kepco", "ok", None),
    ]
    assert events[2].actor_id == people["steward"].id
    assert events[2].detail["client"] == "testclient"


def test_a_deactivated_account_cannot_sign_in(
    client: TestClient, db: Session, people: dict[str, User], password: str
) -> None:
    actions.deactivate_user(db, actor=None, username="citizen")

    status, body = _login(client, "citizen", password)

    assert status == 401
    assert "deactivated" in str(body["detail"])
