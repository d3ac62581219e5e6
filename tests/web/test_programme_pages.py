"""The programmes' pages: a startup applies through the form (a refused form keeps what was
typed), an operator approves it and the credits arrive; the academy's pages in both
languages; who may open and post what."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_city import PASSWORD, City, csrf_token_in, sign_in

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.compute import queries as compute_queries
from bitgoeul.config import Settings

HTML = {"accept": "text/html"}
SUMMARY = "Crop disease detection from drone images of Gwangju's farms."


@pytest.fixture
def startup(app: FastAPI, settings: Settings, city: City) -> int:
    with app.state.sessionmaker() as session:
        org = account_actions.create_organization(
            session, slug="vision-lab", name="Vision Lab", kind=OrganizationKind.company
        )
        account_actions.create_user(
            session,
            username="founder",
            password=PASSWORD,
            role=Role.member,
            organization_id=org.id,
            settings=settings,
        )
        return org.id


@pytest.mark.parametrize("who", ["anonymous", "researcher", "founder", "operator"])
def test_the_programmes_page_is_for_signed_in_people_and_the_form_for_startups(
    client: TestClient, startup: int, who: str
) -> None:
    if who != "anonymous":
        sign_in(client, who)
    response = client.get("/programmes", headers=HTML)
    assert response.status_code == (401 if who == "anonymous" else 200)
    if who != "anonymous":
        assert ('id="submit-application"' in response.text) is (who == "founder")


def test_a_startup_applies_and_an_operator_approves_through_the_pages(
    client: TestClient, app: FastAPI, startup: int
) -> None:
    sign_in(client, "founder")
    form = client.get("/programmes", headers=HTML)
    csrf = csrf_token_in(form.text)
    short = client.post(
        "/programmes/applications",
        data={"csrf_token": csrf, "summary": "GPUs", "employees": "7", "gpu_hours": "abc"},
        headers=HTML,
    )
    assert short.status_code == 422
    assert "summary" in short.text
    assert "gpu_hours" in short.text
    assert ">GPUs</textarea>" in short.text  # what was typed is kept
    sent = client.post(
        "/programmes/applications",
        data={"csrf_token": csrf, "summary": SUMMARY, "employees": "7", "gpu_hours": "12"},
        headers=HTML,
    )
    assert sent.status_code == 200
    assert 'id="application-status">Submitted' in sent.text
    application = sent.url.path.rsplit("/", 1)[1]
    client.cookies.clear()
    sign_in(client, "operator")
    page = client.get(f"/programmes/applications/{application}", headers=HTML)
    reviewed = client.post(
        f"/programmes/applications/{application}/review",
        data={
            "csrf_token": csrf_token_in(page.text),
            "decision": "approve",
            "gpu_hours": "10",
            "cpu_hours": "",
        },
        headers=HTML,
    )
    assert 'id="application-status">Approved' in reviewed.text
    with app.state.sessionmaker() as session:
        assert compute_queries.balance(session, startup).gpu_hours == 10
    korean = client.get(f"/programmes/applications/{application}?lang=ko", headers=HTML)
    assert "승인됨" in korean.text


def test_a_rejection_without_a_note_is_refused_on_the_page(
    client: TestClient, startup: int
) -> None:
    sign_in(client, "founder")
    csrf = csrf_token_in(client.get("/programmes", headers=HTML).text)
    sent = client.post(
        "/programmes/applications",
        data={"csrf_token": csrf, "summary": SUMMARY, "cpu_hours": "5"},
        headers=HTML,
    )
    application = sent.url.path.rsplit("/", 1)[1]
    client.cookies.clear()
    sign_in(client, "operator")
    page = client.get(f"/programmes/applications/{application}", headers=HTML)
    refused = client.post(
        f"/programmes/applications/{application}/review",
        data={"csrf_token": csrf_token_in(page.text), "decision": "reject", "note": ""},
        headers=HTML,
    )
    assert refused.status_code == 422
    assert "say why" in refused.text


@pytest.mark.parametrize("who", ["anonymous", "researcher", "operator"])
def test_the_academy_is_open_to_everyone(client: TestClient, city: City, who: str) -> None:
    if who != "anonymous":
        sign_in(client, who)
    assert client.get("/academy", headers=HTML).status_code == 200
    assert "아카데미" in client.get("/academy?lang=ko", headers=HTML).text
    assert client.get("/academy/courses/nope", headers=HTML).status_code == 404


@pytest.fixture
def job_lab_course(app: FastAPI, city: City) -> int:
    """A course whose lab is a compute job on the (made open) meter data; the researcher is
    enrolled.  The enrolment's id."""
    from datetime import timedelta

    from sqlalchemy import select

    from bitgoeul.accounts.actor import Actor
    from bitgoeul.accounts.models import User
    from bitgoeul.catalog.models import AccessLevel, Dataset
    from bitgoeul.db.base import utcnow
    from bitgoeul.programmes import actions as programme_actions
    from bitgoeul.programmes.schemas import CohortCreate, CourseCreate, LabCreate

    with app.state.sessionmaker() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.slug == "household-electricity"))
        dataset.one().access_level = AccessLevel.open
        session.commit()
        users = {u.username: u for u in session.scalars(select(User))}
        operator = Actor.for_user(users["operator"], via="cli")
        programme_actions.create_course(
            session, actor=operator, data=CourseCreate(slug="meters", title="Meters hands-on")
        )
        today = utcnow().date()
        cohort = programme_actions.add_cohort(
            session,
            actor=operator,
            course_slug="meters",
            data=CohortCreate(
                name="Winter",
                starts_on=today,
                ends_on=today + timedelta(days=9),
                capacity=5,
            ),
        )
        programme_actions.add_lab(
            session,
            actor=operator,
            course_slug="meters",
            data=LabCreate.model_validate(
                {
                    "slug": "count-meters",
                    "title": "Count the readings",
                    "title_ko": "검침 건수 세기",
                    "kind": "job",
                    "dataset": "household-electricity",
                    "aggregate": "row_count",
                }
            ),
        )
        enrolment = programme_actions.enrol(
            session, actor=Actor.for_user(users["researcher"], via="cli"), cohort_id=cohort.id
        )
        return enrolment.id


def test_a_job_lab_shows_its_rule_and_takes_a_job_number_in_both_languages(
    client: TestClient, job_lab_course: int
) -> None:
    sign_in(client, "researcher")
    page = client.get("/academy/courses/meters", headers=HTML)
    assert page.status_code == 200
    assert "answer: the number of rows" in page.text
    assert 'id="attach-count-meters"' in page.text
    korean = client.get("/academy/courses/meters?lang=ko", headers=HTML)
    assert "답: 행의 수" in korean.text
    csrf = csrf_token_in(page.text)
    action = f"/academy/enrolments/{job_lab_course}/labs/count-meters/jobs"
    typed = client.post(action, data={"csrf_token": csrf, "job": "abc"}, headers=HTML)
    assert typed.status_code == 422
    assert "Give the number of the job" in typed.text
    missing = client.post(action, data={"csrf_token": csrf, "job": "999"}, headers=HTML)
    assert missing.status_code == 404
    assert "There is no job 999 of yours" in missing.text
    graded = client.post(
        f"/academy/enrolments/{job_lab_course}/labs/count-meters/grade",
        data={"csrf_token": csrf},
        headers=HTML,
    )
    assert graded.status_code == 422
    assert "no finished job for lab" in graded.text
