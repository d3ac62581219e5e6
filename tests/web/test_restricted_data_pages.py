"""Restricted data on the web: pick a project, request access, preview and download under the
agreement, and see what it changed; hidden test sets kept apart from ordinary datasets."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_city import City, csrf_token_in, sign_in

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.governance.models import ProjectChoice

HTML = {"accept": "text/html"}


@pytest.fixture
def steward(app: FastAPI, city: City) -> Iterator[TestClient]:
    """CNUH's steward, who publishes the restricted patient visits, in a browser of their own."""
    with TestClient(app) as browser:
        sign_in(browser, "cnuh")
        yield browser


def _create_project(client: TestClient, csrf: str, title: str) -> int:
    response = client.post(
        "/projects",
        data={
            "csrf_token": csrf,
            "title": title,
            "purpose": "health-research",
            "justification": "Find elderly patients living alone.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/projects/(\d+)", response.headers["location"])
    assert found
    return int(found.group(1))


def _choose(client: TestClient, csrf: str, project: int) -> None:
    response = client.post(
        "/datasets/patient-visits/project",
        data={"csrf_token": csrf, "project": str(project)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _ask(client: TestClient, csrf: str, project: int) -> None:
    response = client.post(
        f"/projects/{project}/requests",
        data={
            "csrf_token": csrf,
            "dataset": "patient-visits",
            "columns": "patient_id, district, age",
            "days": "30",
            "note": "Ages by district for the wellbeing study.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _approve(steward: TestClient, **conditions: str) -> str:
    queue = steward.get("/requests").text
    found = re.search(r'action="/requests/(\d+)/approve"', queue)
    assert found, "no pending request on the steward's queue"
    response = steward.post(
        f"/requests/{found.group(1)}/approve",
        data={"csrf_token": csrf_token_in(queue), **conditions},
    )
    assert response.status_code == 200, response.text
    return response.text


def _agreed_project(client: TestClient, steward: TestClient) -> int:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, "Elderly wellbeing")
    _ask(client, csrf, project)
    _approve(steward, row_filter="age > 50")
    _choose(client, csrf, project)
    return project


def test_a_researcher_without_a_project_is_told_to_open_one(client: TestClient, city: City) -> None:
    sign_in(client, "researcher")
    page = client.get("/datasets/patient-visits").text
    assert 'id="no-projects"' in page
    assert 'href="/projects#new-project"' in page
    assert "name the project you are working for" not in page


def test_the_project_picker_lists_the_researchers_projects_and_remembers_the_choice(
    app: FastAPI, client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    first = _create_project(client, csrf, "Clinic load")
    second = _create_project(client, csrf, "Elderly wellbeing")
    page = client.get("/datasets/patient-visits").text
    assert 'id="project-choice"' in page
    assert "Clinic load" in page
    assert "Elderly wellbeing" in page
    assert 'id="choose-project-help"' in page  # two projects, none chosen yet
    _choose(client, csrf, second)
    page = client.get("/datasets/patient-visits").text
    assert f'<option value="{second}" selected>' in page
    assert f'<option value="{first}" selected>' not in page
    # Remembered for the user, on another visit too.
    with app.state.sessionmaker() as session:
        choice = session.scalars(select(ProjectChoice)).one()
        assert choice.project_id == second


def test_choosing_someone_elses_project_is_refused(
    app: FastAPI, client: TestClient, city: City
) -> None:
    with TestClient(app) as other:
        other_csrf = sign_in(other, "cnuh")
        theirs = _create_project(other, other_csrf, "Hospital capacity")
    csrf = sign_in(client, "researcher")
    response = client.post(
        "/datasets/patient-visits/project",
        data={"csrf_token": csrf, "project": str(theirs)},
        headers=HTML,
    )
    assert response.status_code == 403
    assert f"not a member of project {theirs}" in response.text


def test_request_access_opens_the_projects_request_form_filled_in(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, "Elderly wellbeing")
    page = client.get("/datasets/patient-visits").text  # the only project: chosen already
    assert 'id="no-agreement"' in page
    link = f'href="/projects/{project}?dataset=patient-visits#new-request"'
    assert link in page
    form = client.get(f"/projects/{project}?dataset=patient-visits").text
    assert '<option value="patient-visits" selected>' in form


def test_a_pending_request_is_shown_instead_of_a_second_request_button(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, "Elderly wellbeing")
    _ask(client, csrf, project)
    page = client.get("/datasets/patient-visits").text
    assert 'id="request-pending"' in page
    assert 'id="request-access"' not in page


def test_under_an_agreement_the_page_previews_and_says_what_was_applied(
    client: TestClient, steward: TestClient
) -> None:
    _agreed_project(client, steward)
    page = client.get("/datasets/patient-visits").text
    assert 'id="agreement-state"' in page
    assert 'id="applied-obligations"' in page
    applied = page[page.index('id="applied-obligations"') :]
    assert "<code>name, diagnosis</code>" in applied  # columns hidden
    assert "<code>age &gt; 50</code>" in applied  # rows filtered
    assert "<code>patient_id</code>" in applied  # pseudonymised
    preview = page[page.index('class="preview"') :]
    assert "Kim Minji" not in page
    assert "P001" not in preview  # pseudonymised
    assert "Dong-gu" in preview
    assert "Nam-gu" in preview
    assert "Seo-gu" not in preview  # age 45: filtered out
    assert 'id="request-access"' not in page


def test_the_page_download_follows_the_agreement_and_is_audited(
    app: FastAPI, client: TestClient, steward: TestClient
) -> None:
    project = _agreed_project(client, steward)
    page = client.get("/datasets/patient-visits").text
    link = re.search(r'id="download-csv" href="([^"]+)"', page)
    assert link, "no CSV download on the page"
    href = link.group(1).replace("&amp;", "&")
    assert href.startswith("/datasets/patient-visits/download?")
    assert f"project={project}" in href
    response = client.get(href)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["district"] for r in rows] == ["Dong-gu", "Nam-gu"]
    assert set(rows[0]) == {"patient_id", "district", "age"}
    assert all(not r["patient_id"].startswith("P0") for r in rows)
    with app.state.sessionmaker() as session:
        entry = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "dataset.download_decision")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert entry is not None
    assert entry.outcome == "ok"
    assert entry.detail["project"] == project


def test_a_page_download_without_an_agreement_is_refused_with_the_reason(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, "Elderly wellbeing")
    response = client.get(
        f"/datasets/patient-visits/download?format=csv&project={project}", headers=HTML
    )
    assert response.status_code == 403
    assert "has no active agreement for this dataset" in response.text


def test_the_page_never_links_to_the_api_for_data(client: TestClient, city: City) -> None:
    sign_in(client, "researcher")
    page = client.get("/datasets/household-electricity").text
    main = page[page.index("<main") : page.index("</main>")]
    assert "/api/" not in main


def test_approving_shows_a_confirmation_and_agreements_name_the_project(
    client: TestClient, steward: TestClient
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, "Elderly wellbeing")
    _ask(client, csrf, project)
    queue = steward.get("/requests").text
    card = queue[queue.index('class="card request"') :]
    assert "Health research" in card  # the project's purpose
    assert "Find elderly patients living alone." in card  # its justification
    assert "Ages by district for the wellbeing study." in card  # the requester's note
    answered = _approve(steward)
    assert 'id="approved-confirmation"' in answered
    assert "Elderly wellbeing" in answered[answered.index('id="approved-confirmation"') :]
    agreements = answered[answered.index('id="agreements"') :]
    assert f'<a href="/projects/{project}">Elderly wellbeing</a>' in agreements


def test_the_korean_dataset_page_explains_the_project_choice(
    client: TestClient, steward: TestClient
) -> None:
    _agreed_project(client, steward)
    page = client.get("/datasets/patient-visits?lang=ko").text
    assert "작업 중인 프로젝트" in page
    assert "가명 처리한 식별자" in page


# Hidden test sets ------------------------------------------------------------------------------


@pytest.fixture
def test_set(app: FastAPI, city: City) -> str:
    with app.state.sessionmaker() as session:
        catalog_actions.create_dataset(
            session,
            actor=city.cnuh_steward,
            data=DatasetCreate(
                slug="diagnosis-test-set",
                title="Diagnosis benchmark test set",
                sector=Sector.healthcare,
                access_level=AccessLevel.registered,
                holdout=True,
            ),
        )
    return "diagnosis-test-set"


def test_hidden_test_sets_are_out_of_the_catalog_unless_asked_for(
    client: TestClient, test_set: str
) -> None:
    assert test_set not in client.get("/").text
    assert 'id="show-test-sets"' in client.get("/").text
    listed = client.get("/?kind=test_set").text
    assert f'href="/datasets/{test_set}"' in listed
    assert "patient-visits" not in listed
    api = client.get("/api/v1/datasets").json()
    assert test_set not in [d["slug"] for d in api["items"]]
    api = client.get("/api/v1/datasets?kind=test_set").json()
    assert [d["slug"] for d in api["items"]] == [test_set]


def test_a_hidden_test_set_is_not_badged_as_downloadable(client: TestClient, test_set: str) -> None:
    sign_in(client, "researcher")
    page = client.get(f"/datasets/{test_set}").text
    assert "Hidden test set" in page
    assert "badge-registered" not in page
    assert "signed-in users may preview and download" not in page
    listed = client.get("/?kind=test_set").text
    assert "badge-test-set" in listed
    assert "badge-registered" not in listed


def test_a_hidden_test_set_cannot_be_requested(client: TestClient, test_set: str) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, "Benchmarks")
    page = client.get(f"/datasets/{test_set}").text
    assert 'id="request-access"' not in page
    form = client.get(f"/projects/{project}").text
    assert f'value="{test_set}"' not in form
    response = client.post(
        "/api/v1/access-requests",
        json={"project": project, "dataset": test_set},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 409
    assert "hidden test set" in response.json()["detail"]


def test_a_steward_is_warned_before_approving_a_request_on_a_test_set(
    app: FastAPI, client: TestClient, steward: TestClient
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, "Benchmarks")
    _ask(client, csrf, project)
    # The dataset became a test set after it was requested.
    with app.state.sessionmaker() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.slug == "patient-visits")).one()
        dataset.holdout = True
        session.commit()
    queue = steward.get("/requests").text
    assert 'class="error test-set-warning"' in queue
    assert 'name="confirm_test_set"' in queue
    request_id = re.search(r'action="/requests/(\d+)/approve"', queue)
    assert request_id
    response = steward.post(
        f"/requests/{request_id.group(1)}/approve", data={"csrf_token": csrf_token_in(queue)}
    )
    assert response.status_code == 422
    assert "hidden test set" in response.text
    assert 'id="approved-confirmation"' not in response.text


def test_the_agreement_page_shows_the_terms_and_the_odrl_policy(
    client: TestClient, steward: TestClient
) -> None:
    project = _agreed_project(client, steward)
    listed = client.get(f"/projects/{project}").text
    found = re.search(r'href="/agreements/(\d+)"', listed)
    assert found, "the project page does not link its agreement"
    assert "/api/" not in listed[listed.index("<main") : listed.index("</main>")]
    agreement = client.get(f"/agreements/{found.group(1)}").text
    assert "Elderly wellbeing" in agreement
    assert "<code>age &gt; 50</code>" in agreement
    assert "&#34;permission&#34;" in agreement  # the ODRL policy, as JSON-LD
    assert 'action="/agreements/' not in agreement  # only stewards revoke
    assert (
        f'action="/agreements/{found.group(1)}/revoke"'
        in steward.get(f"/agreements/{found.group(1)}").text
    )


def test_an_agreement_page_is_not_shown_to_others(
    app: FastAPI, client: TestClient, steward: TestClient
) -> None:
    _agreed_project(client, steward)
    with TestClient(app) as other:
        sign_in(other, "kepco")
        response = other.get("/agreements/1", headers=HTML)
    assert response.status_code == 403
