"""Who may do what with linkage: a matrix of roles x actions over the linkage API.

Roles: nobody signed in; a citizen; a member of another project (the outsider); the researcher
who proposed the project; the stewards of the two publishers (KEPCO, the hospital); the key
custodian's steward (KISA); an operator. A project and its runs are hidden (404) from those
not involved; only a publisher's steward approves, only the custodian or an operator runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from linkage_city import LinkCity, project_body

ROLES = [
    "anonymous",
    "citizen",
    "outsider",
    "researcher",
    "kepco_steward",
    "hospital_steward",
    "custodian",
    "operator",
]
SIGNED_IN = [r for r in ROLES if r != "anonymous"]
INVOLVED = ["researcher", "kepco_steward", "hospital_steward", "custodian", "operator"]


def _expected(allowed: dict[str, int], *, hidden_from: list[str]) -> dict[str, int]:
    out = {"anonymous": 401}
    for who in SIGNED_IN:
        out[who] = allowed.get(who, 404 if who in hidden_from else 403)
    return out


def _propose(api: TestClient, city: LinkCity) -> int:
    response = api.post(
        "/api/v1/linkage/projects", json=project_body(), headers=city.headers("researcher")
    )
    assert response.status_code == 201, response.text
    project_id: int = response.json()["id"]
    return project_id


def _statuses(api: TestClient, city: LinkCity, call: Any) -> dict[str, int]:
    return {who: call(who).status_code for who in ROLES}


def test_proposing(api: TestClient, city: LinkCity) -> None:
    seen = _statuses(
        api,
        city,
        lambda who: api.post(
            "/api/v1/linkage/projects", json=project_body(), headers=city.headers(who)
        ),
    )
    assert seen == {"anonymous": 401, **dict.fromkeys(SIGNED_IN, 201)}


def test_reading_a_project(api: TestClient, city: LinkCity) -> None:
    project_id = _propose(api, city)
    seen = _statuses(
        api,
        city,
        lambda who: api.get(f"/api/v1/linkage/projects/{project_id}", headers=city.headers(who)),
    )
    assert seen == _expected(dict.fromkeys(INVOLVED, 200), hidden_from=["citizen", "outsider"])


def test_approving(api: TestClient, city: LinkCity) -> None:
    seen = {}
    for who in ROLES:
        project_id = _propose(api, city)  # a new one each time: an approval happens once
        response = api.post(
            f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(who)
        )
        seen[who] = response.status_code
    assert seen == _expected(
        {"kepco_steward": 200, "hospital_steward": 200}, hidden_from=["citizen", "outsider"]
    )


@pytest.fixture
def approved(api: TestClient, city: LinkCity) -> int:
    project_id = _propose(api, city)
    for steward in ("kepco_steward", "hospital_steward"):
        response = api.post(
            f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(steward)
        )
        assert response.status_code == 200
    return project_id


def test_running_and_reading_a_run(api: TestClient, city: LinkCity, approved: int) -> None:
    seen = _statuses(
        api,
        city,
        lambda who: api.post(
            f"/api/v1/linkage/projects/{approved}/runs", headers=city.headers(who)
        ),
    )
    assert seen == _expected(
        {"custodian": 201, "operator": 201}, hidden_from=["citizen", "outsider"]
    )
    run_id = api.get("/api/v1/linkage/runs/1", headers=city.headers("operator")).json()["id"]
    seen = _statuses(
        api, city, lambda who: api.get(f"/api/v1/linkage/runs/{run_id}", headers=city.headers(who))
    )
    assert seen == _expected(dict.fromkeys(INVOLVED, 200), hidden_from=["citizen", "outsider"])


def test_a_missing_project_or_run_is_not_found_for_everyone_signed_in(
    api: TestClient, city: LinkCity
) -> None:
    for who in SIGNED_IN:
        headers = city.headers(who)
        assert api.get("/api/v1/linkage/projects/999", headers=headers).status_code == 404
        assert api.post("/api/v1/linkage/projects/999/approve", headers=headers).status_code == 404
        assert api.post("/api/v1/linkage/projects/999/runs", headers=headers).status_code == 404
        assert api.get("/api/v1/linkage/runs/999", headers=headers).status_code == 404
