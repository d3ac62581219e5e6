from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Form
from fastapi.testclient import TestClient
from itsdangerous import Signer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions, queries
from bitgoeul.accounts.deps import SESSION_COOKIE, CsrfChecked, CsrfToken, set_session_cookie
from bitgoeul.accounts.models import User, WebSession
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow

FORM_URL = "/test/form"


@pytest.fixture
def form_page(app: FastAPI) -> str:
    """A page form post guarded by ``CsrfChecked``, as the web pages use it."""

    @app.get(FORM_URL)
    def show(csrf_token: CsrfToken) -> dict[str, Any]:
        return {"csrf_token": csrf_token}

    @app.post(FORM_URL)
    def submit(actor: CsrfChecked, note: Annotated[str, Form()]) -> dict[str, Any]:
        return {"user": actor.username, "note": note}

    return FORM_URL


def test_a_web_session_cookie_signs_the_browser_in(
    client: TestClient, browser: Any, people: dict[str, User]
) -> None:
    browser("kepco")

    me = client.get("/api/v1/me")

    assert me.status_code == 200
    assert (me.json()["username"], me.json()["signed_in_via"]) == ("kepco", "session")


def test_the_database_keeps_only_the_hash_of_the_session_id(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    cookie, csrf_token = actions.start_web_session(db, settings=settings, user=people["member"])
    session_id = cookie.rsplit(".", 1)[0]

    row = db.scalars(select(WebSession)).one()
    assert row.session_hash == queries.secret_digest(session_id)
    assert session_id not in row.session_hash
    assert row.csrf_token == csrf_token
    expected_expiry = utcnow() + timedelta(seconds=settings.session_max_age_seconds)
    assert abs(row.expires_at - expected_expiry) < timedelta(minutes=1)


def _swap_first_signature_char(cookie: str) -> str:
    session_id, signature = cookie.rsplit(".", 1)
    first = "B" if signature[0] == "A" else "A"
    return f"{session_id}.{first}{signature[1:]}"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cookie: _swap_first_signature_char(cookie),
        lambda cookie: "x" + cookie,
        lambda cookie: cookie.rsplit(".", 1)[0],
        lambda cookie: "garbage",
    ],
    ids=["signature changed", "id changed", "signature removed", "garbage"],
)
def test_a_tampered_cookie_signs_no_one_in(
    client: TestClient, db: Session, settings: Settings, people: dict[str, User], tamper: Any
) -> None:
    cookie, _ = actions.start_web_session(db, settings=settings, user=people["operator"])
    client.cookies.set(SESSION_COOKIE, tamper(cookie))

    assert client.get("/api/v1/me").status_code == 401


def test_a_cookie_signed_with_another_secret_signs_no_one_in(
    client: TestClient, db: Session, settings: Settings, people: dict[str, User]
) -> None:
    cookie, _ = actions.start_web_session(db, settings=settings, user=people["operator"])
    session_id = cookie.rsplit(".", 1)[0]
    forged = (
        Signer("another-secret", salt="bitgoeul.web-session", digest_method=hashlib.sha256)
        .sign(session_id)
        .decode()
    )
    client.cookies.set(SESSION_COOKIE, forged)

    assert client.get("/api/v1/me").status_code == 401


def test_an_expired_session_signs_no_one_in(client: TestClient, db: Session, browser: Any) -> None:
    browser("kepco")
    row = db.scalars(select(WebSession)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()

    assert client.get("/api/v1/me").status_code == 401


def test_signing_out_deletes_the_session_so_the_cookie_is_worthless(
    client: TestClient, db: Session, settings: Settings, people: dict[str, User]
) -> None:
    cookie, _ = actions.start_web_session(db, settings=settings, user=people["citizen"])
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/api/v1/me").status_code == 200

    actions.end_web_session(db, cookie=cookie)

    assert db.scalars(select(WebSession)).first() is None
    assert client.get("/api/v1/me").status_code == 401


def test_a_deactivated_users_session_ends(client: TestClient, db: Session, browser: Any) -> None:
    browser("kepco-analyst")
    actions.deactivate_user(db, actor=None, username="kepco-analyst")

    assert client.get("/api/v1/me").status_code == 401


def test_a_page_gets_the_sessions_csrf_token_to_put_in_its_forms(
    client: TestClient, browser: Any, form_page: str
) -> None:
    assert client.get(form_page).json() == {"csrf_token": None}

    csrf_token = browser("kepco")

    assert client.get(form_page).json() == {"csrf_token": csrf_token}


def test_a_form_post_without_the_csrf_token_is_refused(
    client: TestClient, browser: Any, form_page: str
) -> None:
    browser("kepco")

    response = client.post(form_page, data={"note": "hello"})

    assert response.status_code == 403
    assert "CSRF token" in response.json()["detail"]


def test_a_form_post_with_a_wrong_csrf_token_is_refused(
    client: TestClient, browser: Any, form_page: str
) -> None:
    browser("kepco")

    response = client.post(form_page, data={"note": "hello", "csrf_token": "forged-token"})

    assert response.status_code == 403
    assert "does not match" in response.json()["detail"]


def test_a_form_post_with_the_sessions_csrf_token_goes_through(
    client: TestClient, browser: Any, form_page: str
) -> None:
    csrf_token = browser("kepco")

    in_field = client.post(form_page, data={"note": "hello", "csrf_token": csrf_token})
    in_header = client.post(form_page, data={"note": "hi"}, headers={"X-CSRF-Token": csrf_token})

    assert in_field.json() == {"user": "kepco", "note": "hello"}
    assert in_header.json() == {"user": "kepco", "note": "hi"}


def test_another_sessions_csrf_token_does_not_fit(
    client: TestClient, db: Session, settings: Settings, browser: Any, form_page: str
) -> None:
    browser("kepco")
    _, other_token = actions.start_web_session(
        db, settings=settings, user=db.scalars(select(User).filter_by(username="chosun")).one()
    )

    response = client.post(form_page, data={"note": "x", "csrf_token": other_token})

    assert response.status_code == 403


def test_bearer_token_requests_need_no_csrf_token(
    client: TestClient, bearer: Any, form_page: str
) -> None:
    response = client.post(form_page, data={"note": "hello"}, headers=bearer("kepco"))

    assert response.status_code == 200
    assert response.json()["user"] == "kepco"


def test_api_writes_through_a_browser_session_need_the_csrf_header(
    client: TestClient, browser: Any
) -> None:
    csrf_token = browser("citizen")

    refused = client.post("/api/v1/tokens", json={"name": "laptop"})
    allowed = client.post(
        "/api/v1/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf_token}
    )

    assert refused.status_code == 403
    assert allowed.status_code == 201


def test_the_session_cookie_is_http_only_and_same_site(settings: Settings) -> None:
    from fastapi import Response

    response = Response()
    set_session_cookie(response, "value.signature", settings=settings)

    header = response.headers["set-cookie"].lower()
    assert header.startswith(f"{SESSION_COOKIE}=value.signature")
    assert "httponly" in header
    assert "samesite=lax" in header
    assert f"max-age={settings.session_max_age_seconds}" in header
