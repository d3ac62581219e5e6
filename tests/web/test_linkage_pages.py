"""The linkage pages walk a project from proposal to report, in English and Korean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.linkage.linkage_city import LinkCity, build_city, project_body

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.models import User
from bitgoeul.config import Settings
from bitgoeul.deps import SESSION_COOKIE


def sign_in(client: TestClient, db: Session, settings: Settings, city: LinkCity, who: str) -> str:
    user = db.get(User, city.actors[who].user_id)
    assert user is not None
    cookie, csrf_token = account_actions.start_web_session(db, settings=settings, user=user)
    client.cookies.set(SESSION_COOKIE, cookie)
    return csrf_token


def test_a_linkage_from_the_pages(
    client: TestClient, db: Session, settings: Settings, app: Any, tmp_path: Path
) -> None:
    city = build_city(db, settings, app, tmp_path)
    created = client.post(
        "/api/v1/linkage/projects", json=project_body("exact"), headers=city.headers("researcher")
    )
    project_id = created.json()["id"]

    sign_in(client, db, settings, city, "researcher")
    listed = client.get("/linkage")
    assert "Older residents" in listed.text
    assert "Awaiting approval by: cnuh, kepco" in listed.text
    assert "/api/" not in listed.text.split("<main", 1)[1]

    for steward in ("kepco_steward", "hospital_steward"):
        token = sign_in(client, db, settings, city, steward)
        shown = client.get(f"/linkage/projects/{project_id}")
        assert "Approve for my organization" in shown.text
        approved = client.post(
            f"/linkage/projects/{project_id}/approve",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert approved.status_code == 303
        assert (
            "Approve for my organization" not in client.get(f"/linkage/projects/{project_id}").text
        )

    token = sign_in(client, db, settings, city, "custodian")
    assert "Run the linkage" in client.get(f"/linkage/projects/{project_id}").text
    ran = client.post(
        f"/linkage/projects/{project_id}/runs", data={"csrf_token": token}, follow_redirects=False
    )
    assert ran.status_code == 303
    report = client.get(ran.headers["location"], headers={"Accept-Language": "ko"})
    assert "결합률 보고서" in report.text
    assert "kepco-customers" in report.text
    assert "성공" in report.text


def test_a_page_write_without_its_csrf_token_is_refused(
    client: TestClient, db: Session, settings: Settings, app: Any, tmp_path: Path
) -> None:
    city = build_city(db, settings, app, tmp_path)
    project_id = client.post(
        "/api/v1/linkage/projects", json=project_body(), headers=city.headers("researcher")
    ).json()["id"]
    sign_in(client, db, settings, city, "kepco_steward")
    response = client.post(f"/linkage/projects/{project_id}/approve", follow_redirects=False)
    assert response.status_code == 403
