"""Fixtures for governance tests; the cast itself is built in ``governance_city``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from governance_city import City, build_city, request_body
from sqlalchemy.orm import Session


@pytest.fixture
def city(db: Session) -> City:
    return build_city(db)


@pytest.fixture
def pending_request(api: TestClient, city: City) -> int:
    """A pending request of the project for the restricted dataset, all columns, 90 days."""
    response = api.post(
        "/api/v1/access-requests", json=request_body(city), headers=city.headers("project_member")
    )
    assert response.status_code == 201, response.text
    request_id: int = response.json()["id"]
    return request_id


@pytest.fixture
def api(client: TestClient) -> TestClient:
    return client
