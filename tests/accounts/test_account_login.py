from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.accounts.models import ApiToken, LoginFailure, User
from bitgoeul.audit.models import AuditEvent
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import NotAuthenticated, RateLimited

TOKEN_URL = "/api/v1/auth/token"


def _login(client: TestClient, username: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post(TOKEN_URL, json={"username": username, "password": password})
    return response.status_code, response.json()


def _fail_until_throttled(client: TestClient, settings: Settings, username: str) -> None:
    for _ in range(settings.login_failure_limit):
        assert _login(client, username, "wrong-password")[0] == 401


def _age_failures(db: Session, by: timedelta) -> None:
    for failure in db.scalars(select(LoginFailure)):
        failure.at -= by
    db.commit()


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


def test_a_throttled_account_is_refused_even_with_the_right_password(
    client: TestClient, settings: Settings, people: dict[str, User], password: str
) -> None:
    _fail_until_throttled(client, settings, "kepco")

    response = client.post(TOKEN_URL, json={"username": "kepco", "password": password})

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.json()["detail"]
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= settings.login_failure_window_seconds


def test_throttled_attempts_are_audited_as_denied(
    client: TestClient, db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    _fail_until_throttled(client, settings, "kepco")
    _login(client, "kepco", password)

    last = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.outcome, last.detail["reason"]) == ("login", "denied", "throttled")


def test_sign_in_works_again_once_the_failures_leave_the_window(
    client: TestClient, db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    _fail_until_throttled(client, settings, "kepco")
    assert _login(client, "kepco", password)[0] == 429

    _age_failures(db, timedelta(seconds=settings.login_failure_window_seconds + 1))

    assert _login(client, "kepco", password)[0] == 200


def test_retry_after_says_when_the_oldest_counted_failure_expires(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    for _ in range(settings.login_failure_limit):
        with pytest.raises(NotAuthenticated):
            actions.authenticate(db, settings=settings, username="kepco", password="nope-nope")
    _age_failures(db, timedelta(seconds=settings.login_failure_window_seconds - 60))

    with pytest.raises(RateLimited) as caught:
        actions.authenticate(db, settings=settings, username="kepco", password=password)

    assert 55 <= caught.value.retry_after <= 60


def test_one_address_failing_for_many_usernames_is_throttled(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    for index in range(settings.login_failure_limit):
        with pytest.raises(NotAuthenticated):
            actions.authenticate(
                db, settings=settings, username=f"guess-{index}", password="x", client="10.0.0.9"
            )

    with pytest.raises(RateLimited):
        actions.authenticate(
            db, settings=settings, username="citizen", password=password, client="10.0.0.9"
        )
    # The same user from another address is not held back by that address's failures.
    assert actions.authenticate(
        db, settings=settings, username="citizen", password=password, client="10.0.0.10"
    )


def test_a_successful_sign_in_forgets_the_users_earlier_failures(
    client: TestClient, settings: Settings, people: dict[str, User], password: str
) -> None:
    for _ in range(settings.login_failure_limit - 1):
        _login(client, "kepco", "wrong-password")
    assert _login(client, "kepco", password)[0] == 200

    assert _login(client, "kepco", "wrong-password")[0] == 401
    assert _login(client, "kepco", password)[0] == 200


def test_a_deactivated_account_cannot_sign_in(
    client: TestClient, db: Session, people: dict[str, User], password: str
) -> None:
    actions.deactivate_user(db, actor=None, username="citizen")

    status, body = _login(client, "citizen", password)

    assert status == 401
    assert "deactivated" in str(body["detail"])
