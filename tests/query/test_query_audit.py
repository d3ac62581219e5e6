"""Every gateway decision is an audit entry under the publisher, so stewards see each use."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.query.conftest import City

SQL = 'SELECT district, count(*) AS n FROM "household-electricity" GROUP BY district'


def _entries(api: TestClient, city: City, who: str) -> list[dict[str, object]]:
    response = api.get(
        "/api/v1/audit",
        params={"dataset": "household-electricity", "action": "dataset.query_decision"},
        headers=city.cast.headers(who),
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, object]] = response.json()
    return entries


def test_the_publishers_steward_sees_a_researchers_query_on_their_data(
    api: TestClient, city: City
) -> None:
    ran = api.post("/api/v1/query", json={"sql": SQL}, headers=city.cast.headers("member"))
    assert ran.status_code == 200, ran.text
    entries = _entries(api, city, "steward_of_publisher")
    assert [(e["actor_name"], e["outcome"]) for e in entries] == [("researcher", "ok")]
    assert entries[0]["detail"]["door_outcome"] == "ok"  # type: ignore[index]


def test_another_agencys_steward_does_not_see_it(api: TestClient, city: City) -> None:
    api.post("/api/v1/query", json={"sql": SQL}, headers=city.cast.headers("member"))
    assert _entries(api, city, "steward_of_other_org") == []


def test_a_refused_query_is_a_denied_entry_for_the_publisher(api: TestClient, city: City) -> None:
    refused = api.post(
        "/api/v1/query",
        json={"sql": 'SELECT * FROM "income-survey"'},
        headers=city.cast.headers("member"),
    )
    assert 400 <= refused.status_code < 500
    response = api.get(
        "/api/v1/audit",
        params={"action": "dataset.query_decision"},
        headers=city.cast.headers("steward_of_publisher"),
    )
    outcomes = {(e["resource_id"], e["outcome"]) for e in response.json()}
    assert ("income-survey", "denied") in outcomes
