from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions, queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import ApiToken, User
from bitgoeul.audit.models import AuditEvent
from bitgoeul.db.base import utcnow

TOKENS = "/api/v1/tokens"


def _create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(TOKENS, json={"name": "notebook", **body}, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_new_token_is_shown_once_and_then_listed_without_its_secret(
    client: TestClient, bearer: Any
) -> None:
    headers = bearer("kepco")

    created = _create(client, headers, name="nightly sync")
    listed = client.get(TOKENS, headers=headers).json()

    assert created["token"].startswith("bgt_")
    assert created["prefix"] == created["token"][:12]
    mine = next(token for token in listed if token["id"] == created["id"])
    assert mine["name"] == "nightly sync"
    assert mine["prefix"] == created["prefix"]
    assert "token" not in mine
    assert all("hash" not in key for token in listed for key in token)
    assert client.get("/api/v1/me", headers=_auth(created["token"])).status_code == 200


def test_the_database_keeps_only_the_hash_of_a_token(db: Session, people: dict[str, User]) -> None:
    actor = Actor.for_user(people["member"], via="session")

    token, plaintext = actions.create_api_token(db, actor=actor, name="script")

    stored = db.get(ApiToken, token.id)
    assert stored is not None
    assert stored.token_hash == queries.secret_digest(plaintext)
    assert plaintext not in (stored.token_hash, stored.prefix, stored.name)


def test_a_revoked_token_stops_working_at_once(client: TestClient, bearer: Any) -> None:
    headers = bearer("kepco-analyst")
    created = _create(client, headers)
    assert client.get("/api/v1/me", headers=_auth(created["token"])).status_code == 200

    revoked = client.delete(f"{TOKENS}/{created['id']}", headers=headers)
    after = client.get("/api/v1/me", headers=_auth(created["token"]))

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]
    listed = client.get(TOKENS, headers=headers).json()
    assert next(t for t in listed if t["id"] == created["id"])["revoked_at"] is not None


def test_a_token_can_revoke_itself(client: TestClient, bearer: Any) -> None:
    created = _create(client, bearer("citizen"))

    response = client.delete(f"{TOKENS}/{created['id']}", headers=_auth(created["token"]))

    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=_auth(created["token"])).status_code == 401


def test_revoking_a_token_twice_is_harmless(client: TestClient, bearer: Any) -> None:
    headers = bearer("citizen")
    created = _create(client, headers)

    first = client.delete(f"{TOKENS}/{created['id']}", headers=headers)
    second = client.delete(f"{TOKENS}/{created['id']}", headers=headers)

    assert (first.status_code, second.status_code) == (204, 204)


def test_an_expired_token_is_refused_with_a_clear_message(
    client: TestClient, db: Session, bearer: Any
) -> None:
    created = _create(client, bearer("kepco"), expires_in_days=1)
    token = db.get(ApiToken, created["id"])
    assert token is not None
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()

    response = client.get("/api/v1/me", headers=_auth(created["token"]))

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_with_days_to_live_expires_that_many_days_from_now(
    client: TestClient, bearer: Any
) -> None:
    from datetime import datetime

    created = _create(client, bearer("kepco"), expires_in_days=7)

    expires_at = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=6, hours=23) < expires_at - utcnow() <= timedelta(days=7)


def test_an_unknown_token_is_refused(client: TestClient, people: dict[str, User]) -> None:
    for token in ("bgt_made-up", "not-even-ours", "bgt_" + "x" * 500):
        response = client.get("/api/v1/me", headers=_auth(token))
        assert response.status_code == 401
        assert "not recognised" in response.json()["detail"]


def test_the_token_of_a_deactivated_account_is_refused(
    client: TestClient, db: Session, bearer: Any
) -> None:
    headers = bearer("kepco-analyst")
    actions.deactivate_user(db, actor=None, username="kepco-analyst")

    response = client.get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


def test_using_a_token_records_when_it_was_last_used(
    client: TestClient, db: Session, bearer: Any
) -> None:
    headers = bearer("kepco")
    created = _create(client, headers)
    assert created["last_used_at"] is None

    client.get("/api/v1/me", headers=_auth(created["token"]))

    token = db.get(ApiToken, created["id"])
    assert token is not None
    db.refresh(token)
    assert token.last_used_at is not None
    assert utcnow() - token.last_used_at < timedelta(minutes=1)


def test_nobody_but_an_operator_can_revoke_someone_elses_token(
    client: TestClient, bearer: Any
) -> None:
    victim = _create(client, bearer("citizen"))

    by_steward = client.delete(f"{TOKENS}/{victim['id']}", headers=bearer("kepco"))
    still_works = client.get("/api/v1/me", headers=_auth(victim["token"]))
    by_operator = client.delete(f"{TOKENS}/{victim['id']}", headers=bearer("operator"))
    stopped = client.get("/api/v1/me", headers=_auth(victim["token"]))

    assert by_steward.status_code == 404
    assert still_works.status_code == 200
    assert by_operator.status_code == 204
    assert stopped.status_code == 401


def test_revoking_a_token_that_does_not_exist_says_so(client: TestClient, bearer: Any) -> None:
    response = client.delete(f"{TOKENS}/999999", headers=bearer("kepco"))

    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


def test_only_operators_may_list_another_users_tokens(client: TestClient, bearer: Any) -> None:
    _create(client, bearer("citizen"), name="citizen's phone")

    by_operator = client.get(TOKENS, params={"username": "citizen"}, headers=bearer("operator"))
    by_steward = client.get(TOKENS, params={"username": "citizen"}, headers=bearer("kepco"))

    assert "citizen's phone" in [token["name"] for token in by_operator.json()]
    assert by_steward.status_code == 403


def test_creating_and_revoking_tokens_is_audited(
    client: TestClient, db: Session, bearer: Any
) -> None:
    headers = bearer("kepco")
    created = _create(client, headers, name="audited")
    client.delete(f"{TOKENS}/{created['id']}", headers=headers)

    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action.like("token.%")).order_by(AuditEvent.seq)
    ).all()
    assert [(e.action, e.actor_name, e.resource_id) for e in events][-2:] == [
        ("token.create", "kepco", str(created["id"])),
        ("token.revoke", "kepco", str(created["id"])),
    ]
    assert created["token"] not in str([e.detail for e in events])
