"""Who may call which account endpoint: every role against every endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import User

ROLES = ["operator", "steward", "member", "citizen", "anonymous"]
USERNAMES = {
    "operator": "operator",
    "steward": "kepco",
    "member": "kepco-analyst",
    "citizen": "citizen",
}
NEW_ORGANIZATION = {"slug": "nia", "name": "National Information Society Agency", "kind": "agency"}
NEW_PASSWORD = "a-long-new-password"


def _new_user(role: str, organization: str | None) -> dict[str, Any]:
    return {
        "username": "new-person",
        "password": NEW_PASSWORD,
        "role": role,
        "organization": organization,
    }


# endpoint name -> (method, path, JSON body, expected status for each role in ROLES order)
MATRIX: dict[str, tuple[str, str, dict[str, Any] | None, list[int]]] = {
    "read me": ("GET", "/api/v1/me", None, [200, 200, 200, 200, 401]),
    "list own tokens": ("GET", "/api/v1/tokens", None, [200, 200, 200, 200, 401]),
    "create a token": ("POST", "/api/v1/tokens", {"name": "t"}, [201, 201, 201, 201, 401]),
    "revoke another's token": (
        "DELETE",
        "/api/v1/tokens/{victim_token}",
        None,
        [204, 404, 404, 404, 401],
    ),
    "list organizations": ("GET", "/api/v1/organizations", None, [200, 200, 200, 200, 200]),
    "read an organization": (
        "GET",
        "/api/v1/organizations/kepco",
        None,
        [200, 200, 200, 200, 200],
    ),
    "create an organization": (
        "POST",
        "/api/v1/organizations",
        NEW_ORGANIZATION,
        [201, 403, 403, 403, 401],
    ),
    "create a member of kepco": (
        "POST",
        "/api/v1/users",
        _new_user("member", "kepco"),
        [201, 201, 403, 403, 401],
    ),
    "create a member of chosun": (
        "POST",
        "/api/v1/users",
        _new_user("member", "chosun"),
        [201, 403, 403, 403, 401],
    ),
    "create a steward of kepco": (
        "POST",
        "/api/v1/users",
        _new_user("steward", "kepco"),
        [201, 403, 403, 403, 401],
    ),
    "deactivate a citizen": (
        "POST",
        "/api/v1/users/citizen/deactivate",
        None,
        [200, 403, 403, 403, 401],
    ),
    "create a citizen": (
        "POST",
        "/api/v1/users",
        _new_user("citizen", None),
        [201, 403, 403, 403, 401],
    ),
    "reactivate a citizen": (
        "POST",
        "/api/v1/users/citizen/reactivate",
        None,
        [200, 403, 403, 403, 401],
    ),
    "make the analyst a steward": (
        "PATCH",
        "/api/v1/users/kepco-analyst",
        {"role": "steward", "organization": "kepco"},
        [200, 403, 403, 403, 401],
    ),
    "rename an organization": (
        "PATCH",
        "/api/v1/organizations/kepco",
        {"name": "Korea Electric Power", "kind": "agency"},
        [200, 403, 403, 403, 401],
    ),
}

CASES = [
    pytest.param(endpoint, role, expected[index], id=f"{role} may {endpoint}? {expected[index]}")
    for endpoint, (_, _, _, expected) in MATRIX.items()
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES)
def test_each_role_gets_the_right_answer_from_each_account_endpoint(
    client: TestClient,
    db: Session,
    people: dict[str, User],
    bearer: Any,
    endpoint: str,
    role: str,
    expected: int,
) -> None:
    method, path, body, _ = MATRIX[endpoint]
    if "{victim_token}" in path:
        victim = Actor.for_user(people["other_steward"], via="session")
        token, _ = actions.create_api_token(db, actor=victim, name="victim")
        path = path.format(victim_token=token.id)
    headers = bearer(USERNAMES[role]) if role != "anonymous" else {}

    response = client.request(method, path, json=body, headers=headers)

    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.json()["detail"]


def test_a_steward_creating_a_user_without_naming_an_organization_creates_one_of_their_own(
    client: TestClient, bearer: Any
) -> None:
    response = client.post(
        "/api/v1/users",
        json={"username": "new-analyst", "password": NEW_PASSWORD, "role": "member"},
        headers=bearer("kepco"),
    )

    assert response.status_code == 201
    assert response.json()["organization"] == "kepco"


def test_a_created_user_can_sign_in_and_never_sees_a_password_hash(
    client: TestClient, bearer: Any
) -> None:
    created = client.post(
        "/api/v1/users", json=_new_user("member", "kepco"), headers=bearer("operator")
    )
    token = client.post(
        "/api/v1/auth/token", json={"username": "new-person", "password": NEW_PASSWORD}
    )

    assert "password" not in str(created.json())
    assert created.json()["role"] == "member"
    assert token.status_code == 200


def test_me_shows_the_users_organization_and_role(client: TestClient, bearer: Any) -> None:
    me = client.get("/api/v1/me", headers=bearer("kepco")).json()

    assert me["role"] == "steward"
    assert me["organization"]["slug"] == "kepco"
    assert me["organization"]["name_ko"] == "한국전력공사"
    assert "password_hash" not in me


def test_organizations_are_listed_with_their_public_details(
    client: TestClient, people: dict[str, User]
) -> None:
    listed = client.get("/api/v1/organizations").json()

    assert [organization["slug"] for organization in listed] == ["chosun", "gwangju", "kepco"]
    assert set(listed[0]) == {"slug", "name", "name_ko", "kind", "description", "website"}


def test_an_unknown_organization_is_404_naming_it(client: TestClient) -> None:
    response = client.get("/api/v1/organizations/nowhere")

    assert response.status_code == 404
    assert "'nowhere'" in response.json()["detail"]


def test_creating_an_organization_is_audited(client: TestClient, db: Session, bearer: Any) -> None:
    from sqlalchemy import select

    from bitgoeul.audit.models import AuditEvent

    client.post("/api/v1/organizations", json=NEW_ORGANIZATION, headers=bearer("operator"))

    event = db.scalars(select(AuditEvent).where(AuditEvent.resource_id == "nia")).one()
    assert (event.action, event.actor_name) == ("organization.create", "operator")


def test_a_deactivated_user_is_signed_out_everywhere_at_once(
    client: TestClient, bearer: Any
) -> None:
    citizen = bearer("citizen")

    response = client.post("/api/v1/users/citizen/deactivate", headers=bearer("operator"))

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=citizen).status_code == 401


def test_an_operator_cannot_deactivate_their_own_account(client: TestClient, bearer: Any) -> None:
    response = client.post("/api/v1/users/operator/deactivate", headers=bearer("operator"))

    assert response.status_code == 409
    assert "your own account" in response.json()["detail"]


def test_deactivating_an_unknown_user_is_404(client: TestClient, bearer: Any) -> None:
    response = client.post("/api/v1/users/nobody/deactivate", headers=bearer("operator"))

    assert response.status_code == 404


def test_the_openapi_document_offers_bearer_tokens_and_lists_the_account_endpoints(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()

    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path in ("/api/v1/auth/token", "/api/v1/me", "/api/v1/tokens", "/api/v1/users"):
        assert path in document["paths"]
    token_answer = document["components"]["schemas"]["ApiTokenPublic"]["properties"]
    assert not [name for name in token_answer if "hash" in name]
