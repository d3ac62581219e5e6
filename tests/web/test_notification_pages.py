"""Notifications as a person meets them: said in their language, linking to pages (never to
the API), and marked read when opened."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_city import City, open_job_project, sign_in

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.governance import actions as governance
from bitgoeul.governance import notifications
from bitgoeul.governance import queries as governance_queries
from bitgoeul.governance.models import Notification
from bitgoeul.messages import msg

_OPEN_LINK = re.compile(r'href="(/notifications/\d+)"')


def _links(html: str) -> list[str]:
    return _OPEN_LINK.findall(html)


def _main(html: str) -> str:
    """The page's own content, without the site's header and footer."""
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_an_approval_links_to_the_project_page_and_opening_it_marks_it_read(
    client: TestClient, app: FastAPI, city: City
) -> None:
    project = open_job_project(app.state.sessionmaker, cpu_hours=0)
    sign_in(client, "researcher")
    listing = client.get("/notifications").text
    assert "/api/" not in _main(listing)
    (opened,) = _links(listing)
    assert 'class="count-badge"' in listing

    response = client.get(opened, follow_redirects=False)
    assert response.status_code == 303
    assert re.fullmatch(rf"/projects/{project}#agreement-\d+", response.headers["location"])
    assert client.get(response.headers["location"]).status_code == 200
    assert 'class="count-badge"' not in client.get("/notifications").text


def test_the_steward_is_sent_to_the_request_queue(
    client: TestClient, app: FastAPI, city: City
) -> None:
    open_job_project(app.state.sessionmaker, cpu_hours=0)
    sign_in(client, "cnuh")
    (opened,) = _links(client.get("/notifications").text)
    response = client.get(opened, follow_redirects=False)
    assert re.fullmatch(r"/requests#request-\d+", response.headers["location"])
    assert client.get(response.headers["location"]).status_code == 200


def test_notifications_are_said_in_the_readers_language(
    client: TestClient, app: FastAPI, city: City
) -> None:
    open_job_project(app.state.sessionmaker, cpu_hours=0)
    sign_in(client, "researcher")
    korean = client.get("/notifications?lang=ko").text
    assert "승인되었습니다" in korean
    assert "was approved" not in korean
    assert "was approved" in client.get("/notifications?lang=en").text
    api = client.get("/api/v1/notifications", headers={"accept-language": "ko"}).json()
    assert "승인되었습니다" in api[0]["text"]
    assert not api[0]["link"].startswith("/api/")


def test_another_persons_notification_is_not_found(
    client: TestClient, app: FastAPI, city: City
) -> None:
    open_job_project(app.state.sessionmaker, cpu_hours=0)
    with app.state.sessionmaker() as session:
        theirs = session.scalars(select(Notification.id)).first()
    sign_in(client, "kepco")
    response = client.get(f"/notifications/{theirs}", headers={"accept": "text/html"})
    assert response.status_code == 404
    with app.state.sessionmaker() as session:
        assert session.get(Notification, theirs).read_at is None  # type: ignore[union-attr]


def test_opening_needs_a_signed_in_reader(client: TestClient, city: City) -> None:
    response = client.get("/notifications/1", headers={"accept": "text/html"})
    assert response.status_code == 401


def test_a_revocation_nests_no_english_into_korean(app: FastAPI, city: City) -> None:
    project = open_job_project(app.state.sessionmaker, cpu_hours=0)
    with app.state.sessionmaker() as session:
        cnuh = Actor.for_user(account_queries.get_user(session, "cnuh"), via="cli")  # type: ignore[arg-type]
        (agreement,) = governance_queries.list_agreements(session, actor=cnuh, project_id=project)
        governance.revoke_agreement(
            session, actor=cnuh, agreement_id=agreement.id, reason="consent withdrawn"
        )
        researcher = Actor.for_user(
            account_queries.get_user(session, "researcher"),  # type: ignore[arg-type]
            via="cli",
        )
        latest = notifications.list_notifications(session, actor=researcher, lang="ko")[0]
    assert latest.text.startswith("'patient-visits'에 대한 협약")
    assert latest.text.endswith("consent withdrawn")  # what the steward wrote stays as written


def test_a_notification_may_not_link_to_the_api(app: FastAPI, city: City) -> None:
    with app.state.sessionmaker() as session, pytest.raises(ValueError, match="not to the API"):
        notifications.notify(
            session, {1}, kind="x", text=msg("Job {job} failed.", job=1), link="/api/v1/jobs/1"
        )
