"""Open data through the gateway: the SQL researchers write every day, over HTTP and actions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.query.conftest import Ask, City

from bitgoeul.audit.models import AuditEvent
from bitgoeul.engine.locked import Limits, QueryTimedOut


def test_group_by_over_an_open_dataset_answers_anonymous_users(api: TestClient, city: City) -> None:
    response = api.post(
        "/api/v1/query",
        json={
            "sql": "SELECT district, count(*) AS n, sum(kwh) AS total FROM "
            '"household-electricity" GROUP BY district ORDER BY district'
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["district", "n", "total"]
    assert [row[0] for row in body["rows"]] == ["Buk", "Nam", "Seo"]
    assert [row[1] for row in body["rows"]] == [20, 20, 20]
    assert body["row_count"] == 3
    assert body["truncated"] is False
    assert body["suppressed_groups"] == 0
    assert body["datasets"] == [{"slug": "household-electricity", "version": 2}]


def test_a_join_of_two_datasets_matches_rows_by_key(ask: Ask) -> None:
    result = ask(
        "SELECT e.district, max(d.population) AS population, count(*) AS readings "
        'FROM "household-electricity" e JOIN "district-population" d USING (district) '
        "GROUP BY e.district ORDER BY population DESC"
    )
    assert result.rows == [["Buk", 430000, 20], ["Seo", 290000, 20], ["Nam", 210000, 20]]


def test_window_functions_and_ctes_run(ask: Ask) -> None:
    result = ask(
        'WITH monthly AS (SELECT district, month, sum(kwh) AS kwh FROM "household-electricity" '
        "GROUP BY ALL) SELECT district, month, kwh, "
        "rank() OVER (PARTITION BY month ORDER BY kwh DESC) AS place FROM monthly "
        "ORDER BY month, place"
    )
    assert result.columns == ["district", "month", "kwh", "place"]
    assert [row[3] for row in result.rows] == [1, 2, 3, 1, 2, 3]


def test_a_pinned_version_reads_that_version(ask: Ask) -> None:
    pinned = ask('SELECT count(*) FROM "household-electricity@1"')
    latest = ask('SELECT count(*) FROM "household-electricity"')
    assert pinned.rows == [[10]]
    assert latest.rows == [[60]]
    assert pinned.datasets == [{"slug": "household-electricity", "version": 1}]


def test_a_missing_version_is_a_404_naming_it(api: TestClient, city: City) -> None:
    response = api.post("/api/v1/query", json={"sql": 'SELECT 1 FROM "household-electricity@9"'})
    assert response.status_code == 404
    assert "version 9" in response.json()["detail"]


def test_rows_beyond_the_limit_are_cut_and_reported(ask: Ask) -> None:
    result = ask('SELECT * FROM "household-electricity"', limit=5)
    assert result.row_count == 5
    assert result.truncated is True


def test_a_query_is_audited_with_its_sql_hash_datasets_and_row_count(ask: Ask, db: Session) -> None:
    sql = 'SELECT district FROM "district-population"'
    ask(sql)
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert event.action == "query.run"
    assert event.outcome == "ok"
    assert len(event.resource_id) == 64
    assert event.detail["rows"] == 3
    assert event.detail["datasets"] == [{"slug": "district-population", "version": 1}]
    assert event.detail["decisions"][0]["allowed"] is True


def test_restricted_data_without_an_agreement_is_refused_and_audited(
    api: TestClient, city: City, db: Session
) -> None:
    response = api.post(
        "/api/v1/query",
        json={"sql": 'SELECT count(*) FROM "clinic-visits"'},
        headers=city.cast.headers("member"),
    )
    assert response.status_code == 403
    assert "clinic-visits" in response.json()["detail"]
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert event.action == "query.refused"
    assert event.outcome == "denied"


def test_a_csv_export_of_open_data_downloads_every_row(api: TestClient, city: City) -> None:
    response = api.post(
        "/api/v1/query/export?format=csv",
        json={"sql": 'SELECT district, population FROM "district-population" ORDER BY 1'},
    )
    assert response.status_code == 200, response.text
    assert response.text.splitlines()[0] == "district,population"
    assert len(response.text.splitlines()) == 4


def test_a_parquet_export_is_a_parquet_file(api: TestClient, city: City) -> None:
    response = api.post(
        "/api/v1/query/export?format=parquet",
        json={"sql": 'SELECT * FROM "district-population"'},
    )
    assert response.status_code == 200
    assert response.content[:4] == b"PAR1"


def test_an_export_of_restricted_data_without_an_agreement_is_refused(
    api: TestClient, city: City
) -> None:
    response = api.post(
        "/api/v1/query/export?format=csv",
        json={"sql": 'SELECT * FROM "clinic-visits"'},
        headers=city.cast.headers("member"),
    )
    assert response.status_code == 403


def test_a_query_running_past_the_time_limit_is_stopped_with_a_clear_error(ask: Ask) -> None:
    slow = (
        'SELECT count(*) FROM "household-electricity" a, "household-electricity" b, '
        '"household-electricity" c, "household-electricity" d, "household-electricity" e '
        "WHERE a.kwh + b.kwh + c.kwh + d.kwh + e.kwh > 0"
    )
    with pytest.raises(QueryTimedOut) as stopped:
        ask(slow, limits=Limits(timeout_s=0.05))
    assert stopped.value.status_code == 408
    assert "0.05 s" in stopped.value.message
