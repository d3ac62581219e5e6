"""The tower's API and /metrics, role by role: who reads exact or suppressed indicators, who
takes snapshots (one row per day, audited), and who scrapes the hub's health."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.programmes.programme_city import ROLES, People
from tests.tower.tower_city import fill

from bitgoeul.audit.models import AuditEvent
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.tower import actions, indicators
from bitgoeul.tower.metrics import may_scrape
from bitgoeul.tower.models import TowerSnapshot


@pytest.mark.parametrize("who", ROLES)
def test_everyone_reads_the_indicators_and_only_operators_exactly(
    api: TestClient, db: Session, people: People, who: str
) -> None:
    fill(db, people)
    response = api.get("/api/v1/tower/indicators", headers=people.headers(who))
    assert response.status_code == 200
    body = response.json()
    by_key = {i["key"]: i for i in body["indicators"]}
    exact = who == "operator"
    assert body["exact"] is exact
    assert by_key["trainees"]["value"] == (2 if exact else None)
    assert by_key["trainees"]["suppressed"] is (not exact)
    assert by_key["trainees"]["basis"] == (2 if exact else None)
    assert by_key["datasets"]["value"] == 3
    assert by_key["startups_supported"]["target"] == 1000
    assert {r["slug"] for r in body["institutions"]} == {"kepco", "kpx"}


def test_the_public_counts_are_kept_a_minute_and_operators_count_now(
    api: TestClient, db: Session, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    def datasets(who: str) -> float:
        response = api.get("/api/v1/tower/indicators", headers=people.headers(who))
        return {i["key"]: i["value"] for i in response.json()["indicators"]}["datasets"]

    assert datasets("anonymous") == 0
    fill(db, people)
    assert datasets("operator") == 3  # counted now
    assert datasets("anonymous") == 0  # what the public read a moment ago
    later = time.monotonic() + indicators.PUBLIC_MAX_AGE_S + 1
    monkeypatch.setattr(indicators.time, "monotonic", lambda: later)
    assert datasets("anonymous") == 3


def test_a_snapshot_refreshes_the_public_counts(
    api: TestClient, db: Session, people: People
) -> None:
    api.get("/api/v1/tower/indicators")
    fill(db, people)
    api.post("/api/v1/tower/snapshots", headers=people.headers("operator"))
    body = api.get("/api/v1/tower/indicators").json()
    assert {i["key"]: i["value"] for i in body["indicators"]}["datasets"] == 3


@pytest.mark.parametrize("who", ROLES)
def test_only_operators_take_a_snapshot(
    api: TestClient, db: Session, people: People, who: str
) -> None:
    response = api.post("/api/v1/tower/snapshots", headers=people.headers(who))
    expected = {"anonymous": 401, "operator": 201}.get(who, 403)
    assert response.status_code == expected, response.text
    rows = db.scalar(select(func.count()).select_from(TowerSnapshot))
    assert rows == (1 if who == "operator" else 0)


def test_a_snapshot_is_kept_once_per_day_and_every_take_is_audited(
    api: TestClient, db: Session, people: People
) -> None:
    first = api.post("/api/v1/tower/snapshots", headers=people.headers("operator"))
    fill(db, people)
    second = api.post("/api/v1/tower/snapshots", headers=people.headers("operator"))
    assert first.json()["created"] is True
    assert second.json()["created"] is False
    assert first.json()["values"]["datasets"] == 0
    assert second.json()["values"]["datasets"] == 3  # the day's row is refreshed
    assert db.scalar(select(func.count()).select_from(TowerSnapshot)) == 1
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "tower.snapshot_taken"))
    assert [e.detail["created"] for e in events] == [True, False]


def test_the_scheduler_takes_the_days_snapshot_only_when_it_is_missing(
    db: Session, people: People
) -> None:
    assert actions.snapshot_if_missing(db) is not None
    assert actions.snapshot_if_missing(db) is None
    assert db.scalar(select(func.count()).select_from(TowerSnapshot)) == 1


def test_the_public_history_suppresses_past_values_about_a_few_people(
    api: TestClient, db: Session, people: People
) -> None:
    fill(db, people)
    today = utcnow().date()
    for back in (2, 1, 0):
        actions.take_snapshot(db, actor=None, day=today - timedelta(days=back))
    public = api.get("/api/v1/tower/history?days=30").json()
    exact = api.get("/api/v1/tower/history?days=30", headers=people.headers("operator")).json()
    assert [d["day"] for d in public] == [str(today - timedelta(days=b)) for b in (2, 1, 0)]
    assert {d["values"]["trainees"] for d in public} == {None}
    assert {d["values"]["trainees"] for d in exact} == {2}
    assert {d["values"]["datasets"] for d in public} == {3}
    assert api.get("/api/v1/tower/history?days=0").status_code == 422


@pytest.mark.parametrize("who", ROLES)
def test_only_operators_and_scrapers_on_the_allowed_networks_read_metrics(
    api: TestClient, people: People, who: str
) -> None:
    response = api.get("/metrics", headers=people.headers(who))
    expected = {"anonymous": 401, "operator": 200}.get(who, 403)
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        assert "bitgoeul_database_up 1.0" in text
        assert 'bitgoeul_jobs{status="queued"}' in text
        assert "bitgoeul_http_requests_total" in text
        assert "bitgoeul_tower_snapshot_age_seconds -1.0" in text


def test_http_requests_are_counted_by_route_template_not_by_path(
    api: TestClient, people: People
) -> None:
    for slug in ("a", "b", "c"):
        api.get(f"/api/v1/datasets/{slug}")
    text = api.get("/metrics", headers=people.headers("operator")).text
    assert 'route="/api/v1/datasets/{slug}",status="404"} 3.0' in text
    assert "/api/v1/datasets/a" not in text


def test_the_default_metrics_networks_are_loopback_only(tmp_path: object) -> None:
    settings = Settings()
    assert may_scrape(False, "127.0.0.1", settings)
    assert may_scrape(False, "::1", settings)
    assert not may_scrape(False, "10.0.0.7", settings)
    assert not may_scrape(False, "testclient", settings)
    assert may_scrape(True, "10.0.0.7", settings)
    wider = Settings(metrics_networks="10.0.0.0/8, 192.168.1.5")  # type: ignore[arg-type]
    assert may_scrape(False, "10.0.0.7", wider)
    assert may_scrape(False, "192.168.1.5", wider)


def test_a_bad_metrics_network_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="BITGOEUL_METRICS_NETWORKS: 'nope'"):
        Settings(metrics_networks="nope")  # type: ignore[arg-type]
