"""Bad input gets a 4xx that names the field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.accounts.models import User
from bitgoeul.config import Settings
from bitgoeul.errors import ValidationFailed

LONG = "x" * 300


def _locations(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "laptop", "expires_in_days": "soon"}, ["body", "expires_in_days"]),
        ({"name": "laptop", "expires_in_days": 0}, ["body", "expires_in_days"]),
        ({"name": "laptop", "expires_in_days": 4000}, ["body", "expires_in_days"]),
        ({}, ["body", "name"]),
        ({"name": "   "}, ["body", "name"]),
        ({"name": 12}, ["body", "name"]),
        ({"name": "x" * 101}, ["body", "name"]),
        ({"name": "laptop", "expires": 3}, ["body", "expires"]),
    ],
    ids=[
        "days not a number",
        "zero days",
        "too many days",
        "name missing",
        "blank name",
        "name not text",
        "name too long",
        "unknown field",
    ],
)
def test_bad_token_requests_are_422_naming_the_field(
    client: TestClient, bearer: Any, body: dict[str, Any], where: list[str]
) -> None:
    response = client.post("/api/v1/tokens", json=body, headers=bearer("citizen"))

    assert response.status_code == 422
    assert where in _locations(response)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"username": "kepco"}, ["body", "password"]),
        ({"password": "x"}, ["body", "username"]),
        ({"username": 5, "password": "x"}, ["body", "username"]),
        ({"username": LONG, "password": "x"}, ["body", "username"]),
        ({"username": "kepco", "password": "x" * 2000}, ["body", "password"]),
        ([], ["body"]),
    ],
    ids=[
        "no password",
        "no username",
        "username not text",
        "long username",
        "huge password",
        "not an object",
    ],
)
def test_bad_sign_in_requests_are_422_naming_the_field(
    client: TestClient, people: dict[str, User], body: Any, where: list[str]
) -> None:
    response = client.post("/api/v1/auth/token", json=body)

    assert response.status_code == 422
    assert where in _locations(response)


def test_a_sign_in_body_that_is_not_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/token", content=b"username=x", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize("token_id", ["abc", "0", "-3", "1.5"])
def test_a_token_id_that_is_not_a_positive_number_is_422(
    client: TestClient, bearer: Any, token_id: str
) -> None:
    response = client.delete(f"/api/v1/tokens/{token_id}", headers=bearer("citizen"))

    assert response.status_code == 422
    assert ["path", "token_id"] in _locations(response)


def test_listing_tokens_of_a_malformed_username_is_422(client: TestClient, bearer: Any) -> None:
    response = client.get(
        "/api/v1/tokens", params={"username": "Not Valid!"}, headers=bearer("operator")
    )

    assert response.status_code == 422
    assert ["query", "username"] in _locations(response)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"username": "Bad Name"}, ["body", "username"]),
        ({"username": "a"}, ["body", "username"]),
        ({"username": "a" * 65}, ["body", "username"]),
        ({"role": "king"}, ["body", "role"]),
        ({"email": "not-an-address"}, ["body", "email"]),
        ({"display_name": LONG}, ["body", "display_name"]),
        ({"organization": "nowhere"}, ["body", "organization"]),
        ({"password": "short"}, ["password"]),
        ({"role": "steward", "organization": None}, ["organization"]),
        ({"role": "citizen", "organization": "kepco"}, ["organization"]),
        ({"is_active": False}, ["body", "is_active"]),
    ],
    ids=[
        "uppercase and space",
        "one character",
        "65 characters",
        "unknown role",
        "bad email",
        "long display name",
        "unknown organization",
        "short password",
        "steward without organization",
        "citizen in an organization",
        "unknown field",
    ],
)
def test_bad_user_requests_are_422_naming_the_field(
    client: TestClient, bearer: Any, change: dict[str, Any], where: list[str]
) -> None:
    body = {
        "username": "new-person",
        "password": "a-long-new-password",
        "role": "member",
        "organization": "kepco",
        **change,
    }

    response = client.post("/api/v1/users", json=body, headers=bearer("operator"))

    assert response.status_code == 422, response.text
    assert where in _locations(response)


def test_a_taken_username_is_409(client: TestClient, bearer: Any) -> None:
    body = {"username": "citizen", "password": "a-long-new-password", "role": "citizen"}

    response = client.post("/api/v1/users", json=body, headers=bearer("operator"))

    assert response.status_code == 409
    assert "'citizen' is taken" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"slug": "Bad_Slug"}, ["body", "slug"]),
        ({"slug": "-edge-"}, ["body", "slug"]),
        ({"kind": "club"}, ["body", "kind"]),
        ({"name": LONG}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"website": LONG + LONG}, ["body", "website"]),
    ],
    ids=[
        "uppercase slug",
        "slug with edge hyphens",
        "unknown kind",
        "long name",
        "no name",
        "long website",
    ],
)
def test_bad_organization_requests_are_422_naming_the_field(
    client: TestClient, bearer: Any, change: dict[str, Any], where: list[str]
) -> None:
    body = {"slug": "nia", "name": "NIA", "kind": "agency", **change}

    response = client.post("/api/v1/organizations", json=body, headers=bearer("operator"))

    assert response.status_code == 422, response.text
    assert where in _locations(response)


def test_a_taken_organization_slug_is_409(client: TestClient, bearer: Any) -> None:
    body = {"slug": "kepco", "name": "Another KEPCO", "kind": "company"}

    response = client.post("/api/v1/organizations", json=body, headers=bearer("operator"))

    assert response.status_code == 409
    assert "'kepco'" in response.json()["detail"]


def test_actions_called_directly_name_every_bad_field(db: Session, settings: Settings) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.create_user(
            db, settings=settings, username="Bad Name", password="x", role="king", email="nope"
        )

    assert [problem["loc"] for problem in caught.value.detail] == [
        ["username"],
        ["password"],
        ["role"],
        ["email"],
    ]
    assert "Bad Name" in caught.value.message


def test_creating_an_organization_directly_checks_slug_and_kind(db: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.create_organization(db, slug="X", name="", kind="club")

    assert [problem["loc"] for problem in caught.value.detail] == [["slug"], ["name"], ["kind"]]
