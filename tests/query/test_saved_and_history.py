"""Each user's query history and saved queries: their own, complete, and nobody else's."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.query.conftest import City

SQL = 'SELECT district, count(*) AS n FROM "household-electricity" GROUP BY district'


def _post(api: TestClient, city: City, who: str, path: str, body: dict[str, Any]) -> Any:
    return api.post(f"/api/v1{path}", json=body, headers=city.cast.headers(who))


def _history(api: TestClient, city: City, who: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/v1/query/history", params=params, headers=city.cast.headers(who))
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()
    return runs


def test_history_lists_runs_newest_first_with_outcome_rows_and_datasets(
    api: TestClient, city: City
) -> None:
    assert _post(api, city, "member", "/query", {"sql": SQL}).status_code == 200
    refused = _post(api, city, "member", "/query", {"sql": 'SELECT * FROM "income-survey"'})
    assert refused.status_code == 403
    failed = _post(api, city, "member", "/query", {"sql": "SELECT nope FROM nowhere_at_all"})
    assert 400 <= failed.status_code < 500
    exported = api.post(
        "/api/v1/query/export",
        params={"format": "csv"},
        json={"sql": SQL},
        headers=city.cast.headers("member"),
    )
    assert exported.status_code == 200

    runs = _history(api, city, "member")
    assert [(r["kind"], r["status"]) for r in runs] == [
        ("export", "ok"),
        ("query", "failed"),
        ("query", "refused"),
        ("query", "ok"),
    ]
    first = runs[-1]
    assert first["sql"] == SQL
    assert first["datasets"] == ["household-electricity"]
    assert first["rows_returned"] == 3
    assert first["suppressed_groups"] == 0
    assert first["error"] is None
    assert "income-survey" in runs[-2]["error"]
    assert runs[-2]["rows_returned"] is None


def test_history_is_private_and_pages(api: TestClient, city: City) -> None:
    for _ in range(3):
        _post(api, city, "member", "/query", {"sql": SQL})
    assert _history(api, city, "steward_of_publisher") == []
    assert len(_history(api, city, "member", limit=2)) == 2
    assert len(_history(api, city, "member", limit=2, offset=2)) == 1


def test_anonymous_queries_leave_no_history_and_history_needs_sign_in(
    api: TestClient, city: City
) -> None:
    assert _post(api, city, "anonymous", "/query", {"sql": SQL}).status_code == 200
    assert api.get("/api/v1/query/history").status_code == 401
    assert api.get("/api/v1/saved-queries").status_code == 401


def test_save_list_update_and_delete_a_query(api: TestClient, city: City) -> None:
    created = _post(api, city, "member", "/saved-queries", {"name": "By district", "sql": SQL})
    assert created.status_code == 201, created.text
    saved = created.json()
    assert (saved["name"], saved["sql"], saved["project"]) == ("By district", SQL, None)

    headers = city.cast.headers("member")
    listed = api.get("/api/v1/saved-queries", headers=headers).json()
    assert [q["id"] for q in listed] == [saved["id"]]

    changed = api.patch(
        f"/api/v1/saved-queries/{saved['id']}",
        json={"name": "Households by district"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Households by district"
    assert changed.json()["sql"] == SQL

    gone = api.delete(f"/api/v1/saved-queries/{saved['id']}", headers=headers)
    assert gone.status_code == 204
    assert api.get("/api/v1/saved-queries", headers=headers).json() == []


def test_a_duplicate_name_is_a_conflict_and_keeps_the_first(api: TestClient, city: City) -> None:
    assert (
        _post(api, city, "member", "/saved-queries", {"name": "q", "sql": SQL}).status_code == 201
    )
    again = _post(api, city, "member", "/saved-queries", {"name": "q", "sql": SQL + " ORDER BY n"})
    assert again.status_code == 409
    assert "already have a saved query" in again.json()["detail"]
    listed = api.get("/api/v1/saved-queries", headers=city.cast.headers("member")).json()
    assert [q["sql"] for q in listed] == [SQL]


def test_only_a_select_can_be_saved(api: TestClient, city: City) -> None:
    bad = _post(api, city, "member", "/saved-queries", {"name": "x", "sql": "DROP TABLE users"})
    assert bad.status_code == 422
    assert api.get("/api/v1/saved-queries", headers=city.cast.headers("member")).json() == []


def test_another_users_saved_query_is_invisible(api: TestClient, city: City) -> None:
    saved = _post(api, city, "member", "/saved-queries", {"name": "mine", "sql": SQL}).json()
    other = city.cast.headers("steward_of_publisher")
    assert api.get(f"/api/v1/saved-queries/{saved['id']}", headers=other).status_code == 404
    assert api.delete(f"/api/v1/saved-queries/{saved['id']}", headers=other).status_code == 404
    patched = api.patch(
        f"/api/v1/saved-queries/{saved['id']}", json={"sql": SQL + " ORDER BY n"}, headers=other
    )
    assert patched.status_code == 404
    mine = api.get(f"/api/v1/saved-queries/{saved['id']}", headers=city.cast.headers("member"))
    assert mine.json()["sql"] == SQL


def test_a_saved_query_may_only_name_a_project_of_the_user(api: TestClient, city: City) -> None:
    project = _post(
        api,
        city,
        "steward_of_publisher",
        "/projects",
        {"title": "Grid study", "purpose": "academic-research", "justification": "Load"},
    ).json()
    refused = _post(
        api, city, "member", "/saved-queries", {"name": "p", "sql": SQL, "project": project["id"]}
    )
    assert refused.status_code == 403
    assert "not a member" in refused.json()["detail"]
    own = _post(
        api,
        city,
        "steward_of_publisher",
        "/saved-queries",
        {"name": "p", "sql": SQL, "project": project["id"]},
    )
    assert own.status_code == 201
    assert own.json()["project"] == project["id"]
