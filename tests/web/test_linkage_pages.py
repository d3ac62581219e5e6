"""The linkage pages walk a project from proposal to report, in English and Korean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.linkage.linkage_city import LinkCity, build_city, project_body

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.deps import SESSION_COOKIE
from bitgoeul.accounts.models import User
from bitgoeul.config import Settings


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


def test_the_custodian_labels_the_clerical_sample_on_its_page(
    client: TestClient, db: Session, settings: Settings, app: Any, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from bitgoeul.linkage.models import LinkageReviewPair

    city = build_city(db, settings, app, tmp_path)
    project_id = client.post(
        "/api/v1/linkage/projects", json=project_body("bloom"), headers=city.headers("researcher")
    ).json()["id"]
    for steward in ("kepco_steward", "hospital_steward"):
        client.post(f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(steward))
    run_id = client.post(
        f"/api/v1/linkage/projects/{project_id}/runs", headers=city.headers("custodian")
    ).json()["id"]

    sign_in(client, db, settings, city, "researcher")
    assert "Review the clerical sample" not in client.get(f"/linkage/runs/{run_id}").text
    assert client.get(f"/linkage/runs/{run_id}/review").status_code == 403

    token = sign_in(client, db, settings, city, "custodian")
    run_page = client.get(f"/linkage/runs/{run_id}")
    assert "Review the clerical sample" in run_page.text
    assert "not estimated until the clerical sample is reviewed" in run_page.text
    pairs = db.scalars(select(LinkageReviewPair).where(LinkageReviewPair.run_id == run_id)).all()
    page = client.get(f"/linkage/runs/{run_id}/review")
    assert page.status_code == 200
    assert f'name="pair-{pairs[0].id}"' in page.text
    assert "kepco-customers (anchor)" in page.text
    korean = client.get(f"/linkage/runs/{run_id}/review", headers={"Accept-Language": "ko"})
    assert "같은 사람" in korean.text
    assert "(기준)" in korean.text
    form = {"csrf_token": token} | {
        f"pair-{p.id}": "same" if (p.left_row, p.right_row) in city.truth else "different"
        for p in pairs
    }
    saved = client.post(f"/linkage/runs/{run_id}/review", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert "Estimated from" in client.get(f"/linkage/runs/{run_id}").text
    wrong = client.post(
        f"/linkage/runs/{run_id}/review",
        data={"csrf_token": token, f"pair-{pairs[0].id}": "maybe"},
        follow_redirects=False,
    )
    assert wrong.status_code in (400, 422)


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


def test_who_sees_and_uses_the_linkage_pages(
    client: TestClient, db: Session, settings: Settings, app: Any, tmp_path: Path
) -> None:
    """Roles x actions on the pages: reading the list, a project and a run; approving; running.
    A page hidden from someone is 404; a button shown to no one else is refused with 403."""
    city = build_city(db, settings, app, tmp_path)
    body = project_body("bloom")
    project_id = client.post(
        "/api/v1/linkage/projects", json=body, headers=city.headers("researcher")
    ).json()["id"]
    spare_id = client.post(
        "/api/v1/linkage/projects", json=body, headers=city.headers("researcher")
    ).json()["id"]
    for steward in ("kepco_steward", "hospital_steward"):
        client.post(f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(steward))
    run_id = client.post(
        f"/api/v1/linkage/projects/{project_id}/runs", headers=city.headers("custodian")
    ).json()["id"]
    involved = {"researcher", "kepco_steward", "hospital_steward", "custodian", "operator"}
    seen: dict[tuple[str, str], int] = {}
    for who in ("citizen", "outsider", *sorted(involved)):
        token = sign_in(client, db, settings, city, who)
        listed = client.get("/linkage")
        seen[(who, "list")] = listed.status_code
        seen[(who, "lists the project")] = int(f"/linkage/projects/{project_id}" in listed.text)
        seen[(who, "project")] = client.get(f"/linkage/projects/{project_id}").status_code
        seen[(who, "run")] = client.get(f"/linkage/runs/{run_id}").status_code
        seen[(who, "approve")] = client.post(
            f"/linkage/projects/{spare_id}/approve",
            data={"csrf_token": token},
            follow_redirects=False,
        ).status_code
        if seen[(who, "approve")] == 303:  # approved once per organization: a fresh one
            spare_id = client.post(
                "/api/v1/linkage/projects", json=body, headers=city.headers("researcher")
            ).json()["id"]
        seen[(who, "run it")] = client.post(
            f"/linkage/projects/{project_id}/runs",
            data={"csrf_token": token},
            follow_redirects=False,
        ).status_code
    expected: dict[tuple[str, str], int] = {}
    for who in ("citizen", "outsider", *sorted(involved)):
        inside = who in involved
        expected[(who, "list")] = 200
        expected[(who, "lists the project")] = int(inside)
        expected[(who, "project")] = 200 if inside else 404
        expected[(who, "run")] = 200 if inside else 404
        expected[(who, "approve")] = (
            303 if who in ("kepco_steward", "hospital_steward") else 403 if inside else 404
        )
        expected[(who, "run it")] = (
            303 if who in ("custodian", "operator") else 403 if inside else 404
        )
    assert seen == expected
    client.cookies.clear()
    for path in ("/linkage", f"/linkage/projects/{project_id}", f"/linkage/runs/{run_id}"):
        assert client.get(path, follow_redirects=False).status_code == 401, path
