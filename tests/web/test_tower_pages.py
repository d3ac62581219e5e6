"""The control tower's pages: the public /tower with small counts suppressed, the operators'
/hub/tower with exact values and the snapshot button, both in English and Korean, and a page
that draws a year of daily snapshots in well under 300 ms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_city import City, csrf_token_in, sign_in

from bitgoeul.db.base import utcnow
from bitgoeul.tower.indicators import DEFINITIONS, indicators_not_installed
from bitgoeul.tower.models import TowerSnapshot

ROLES = ["anonymous", "researcher", "kepco", "operator"]
HTML = {"accept": "text/html"}


def _as(client: TestClient, who: str) -> str:
    return "" if who == "anonymous" else sign_in(client, who)


@pytest.mark.parametrize("who", ROLES)
def test_everyone_opens_the_public_tower(client: TestClient, city: City, who: str) -> None:
    _as(client, who)
    response = client.get("/tower", headers=HTML)
    assert response.status_code == 200
    assert 'id="indicator-datasets"' in response.text
    assert 'id="take-snapshot"' not in response.text


@pytest.mark.parametrize("who", ROLES)
def test_only_operators_open_the_operators_tower(client: TestClient, city: City, who: str) -> None:
    _as(client, who)
    response = client.get("/hub/tower", headers=HTML)
    assert response.status_code == {"anonymous": 401, "operator": 200}.get(who, 403)


@pytest.mark.parametrize("who", ROLES)
def test_only_operators_keep_a_snapshot_from_the_page(
    client: TestClient, app: FastAPI, city: City, who: str
) -> None:
    csrf = _as(client, who)
    response = client.post(
        "/hub/tower/snapshot", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert response.status_code == {"anonymous": 401, "operator": 303}.get(who, 403)
    with app.state.sessionmaker() as session:
        kept = session.scalar(select(func.count()).select_from(TowerSnapshot))
    assert kept == (1 if who == "operator" else 0)


def test_the_snapshot_button_keeps_today_and_says_so(client: TestClient, city: City) -> None:
    sign_in(client, "operator")
    page = client.get("/hub/tower", headers=HTML)
    done = client.post(
        "/hub/tower/snapshot", data={"csrf_token": csrf_token_in(page.text)}, headers=HTML
    )
    assert "Today&#39;s values are kept." in done.text
    assert "<polyline" in done.text  # the day's values are drawn


def test_the_public_page_hides_small_counts_about_people_and_says_what_is_missing(
    client: TestClient, city: City
) -> None:
    english = client.get("/tower", headers=HTML).text
    for key in indicators_not_installed():
        assert f'id="indicator-{key}" data-available="no"' in english
    assert ("Not available on this hub yet" in english) is bool(indicators_not_installed())
    assert "Counted at " in english
    korean = client.get("/tower?lang=ko", headers=HTML).text
    assert "관제탑" in korean
    assert "(UTC)에 센 값입니다." in korean
    assert "제공 기관" in korean
    sign_in(client, "operator")
    exact = client.get("/hub/tower", headers=HTML).text
    assert "Rests on 2 records" in exact  # two publishing institutions


def test_a_year_of_daily_snapshots_draws_every_chart(
    client: TestClient, app: FastAPI, city: City
) -> None:
    """Render time is measured in benchmarks/tower.py, not here."""
    today = utcnow().date()
    keys = [d.key for d in DEFINITIONS]
    with app.state.sessionmaker() as session:
        for back in range(365):
            session.add(
                TowerSnapshot(
                    day=today - timedelta(days=back),
                    values={k: float(365 - back + i) for i, k in enumerate(keys)},
                    bases=dict.fromkeys(keys, 365 - back),
                )
            )
        session.commit()
    sign_in(client, "operator")
    for path in ("/tower", "/hub/tower"):
        response = client.get(path, headers=HTML)
        assert response.status_code == 200
        assert response.text.count("<polyline") >= 20
