"""The operators' pages (``/hub``, organizations, users) and the citizen's ``/me``: who may
open and change what, through the real forms, and what each change leaves in the audit log."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_city import PASSWORD, City, csrf_token_in, open_job_project, sign_in

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.compute.schemas import JobSpec, Resources
from bitgoeul.config import Settings
from bitgoeul.errors import ValidationFailed

ROLES = ["anonymous", "citizen", "researcher", "kepco", "operator"]
PAGES = ["/hub", "/hub/organizations", "/hub/organizations/kepco", "/hub/users"]


@pytest.fixture
def hub(app: FastAPI, settings: Settings, city: City) -> City:
    """The small city with a citizen too."""
    with app.state.sessionmaker() as session:
        account_actions.create_user(
            session, username="citizen", password=PASSWORD, role=Role.citizen, settings=settings
        )
    return city


def _as(client: TestClient, who: str) -> str:
    """Sign in as ``who`` (not for anonymous); a CSRF token good for the session's forms."""
    if who == "anonymous":
        return ""
    return sign_in(client, who)


def _events(app: FastAPI, action: str) -> list[AuditEvent]:
    with app.state.sessionmaker() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ROLES)
def test_only_operators_open_the_operator_pages(
    client: TestClient, hub: City, path: str, who: str
) -> None:
    _as(client, who)
    response = client.get(path, headers={"accept": "text/html"})
    expected = {"anonymous": 401, "operator": 200}.get(who, 403)
    assert response.status_code == expected, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")


FORMS = {
    "/hub/organizations": {"slug": "new-lab", "name": "New Lab", "kind": "research"},
    "/hub/organizations/kepco": {"name": "KEPCO (renamed)", "kind": "agency"},
    "/hub/users/researcher": {"role": "steward", "organization": "gist-ai-lab"},
    "/hub/users/researcher/deactivate": {},
    "/hub/users/researcher/reactivate": {},
}


@pytest.mark.parametrize("path", FORMS)
@pytest.mark.parametrize("who", ["anonymous", "citizen", "researcher", "kepco"])
def test_only_operators_change_organizations_and_users(
    client: TestClient, app: FastAPI, hub: City, path: str, who: str
) -> None:
    csrf = _as(client, who)
    response = client.post(
        path,
        data={**FORMS[path], "csrf_token": csrf},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == (401 if who == "anonymous" else 403), response.text[:300]
    with app.state.sessionmaker() as session:
        researcher = account_queries.get_user(session, "researcher")
        assert researcher is not None
        assert researcher.role == Role.member
        assert researcher.is_active
        assert account_queries.get_organization(session, "new-lab") is None
        assert account_queries.get_organization(session, "kepco").name == "KEPCO"  # type: ignore[union-attr]


@pytest.mark.parametrize("path", FORMS)
def test_an_operator_form_without_its_csrf_token_is_refused(
    client: TestClient, hub: City, path: str
) -> None:
    sign_in(client, "operator")
    response = client.post(path, data=FORMS[path], headers={"accept": "text/html"})
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_an_operator_registers_and_edits_an_organization(
    client: TestClient, app: FastAPI, hub: City
) -> None:
    csrf = sign_in(client, "operator")
    listing = client.get("/hub/organizations").text
    assert '<a href="/hub/users?organization=kepco">1</a>' in listing  # its steward
    created = client.post(
        "/hub/organizations",
        data={
            "csrf_token": csrf,
            "slug": "gwangju-startup",
            "name": "Gwangju Startup",
            "name_ko": "광주 스타트업",
            "kind": "company",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    assert created.headers["location"].startswith("/hub/organizations/gwangju-startup")
    edited = client.post(
        "/hub/organizations/gwangju-startup",
        data={"csrf_token": csrf, "name": "Gwangju AI Startup", "kind": "company"},
        follow_redirects=True,
    )
    assert edited.status_code == 200
    assert "Gwangju AI Startup" in edited.text
    assert 'id="saved"' in edited.text
    (update,) = _events(app, "organization.update")
    assert update.actor_name == "operator"
    assert update.detail == {"changed": ["name", "name_ko"]}
    assert [e.resource_id for e in _events(app, "organization.create")][-1] == "gwangju-startup"


def test_a_taken_slug_is_refused_on_the_form_with_what_was_typed(
    client: TestClient, hub: City
) -> None:
    csrf = sign_in(client, "operator")
    refused = client.post(
        "/hub/organizations",
        data={"csrf_token": csrf, "slug": "kepco", "name": "Another KEPCO", "kind": "agency"},
    )
    assert refused.status_code == 409
    assert 'id="form-error"' in refused.text
    assert 'value="Another KEPCO"' in refused.text


def test_an_operator_changes_a_role_and_the_change_is_audited(
    client: TestClient, app: FastAPI, hub: City
) -> None:
    csrf = sign_in(client, "operator")
    changed = client.post(
        "/hub/users/researcher",
        data={"csrf_token": csrf, "role": "steward", "organization": "gist-ai-lab"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    (event,) = _events(app, "user.change")
    assert event.detail == {
        "before": {"role": "member", "organization": "gist-ai-lab"},
        "after": {"role": "steward", "organization": "gist-ai-lab"},
    }
    client.cookies.clear()
    sign_in(client, "researcher")
    assert client.get("/requests", headers={"accept": "text/html"}).status_code == 200


def test_a_steward_without_an_organization_is_refused_naming_why(
    client: TestClient, app: FastAPI, hub: City
) -> None:
    csrf = sign_in(client, "operator")
    refused = client.post(
        "/hub/users/researcher?lang=ko",
        data={"csrf_token": csrf, "role": "steward", "organization": ""},
    )
    assert refused.status_code == 422
    assert "데이터 관리자는 기관에 속해야 합니다" in refused.text
    assert _events(app, "user.change") == []


def test_an_operator_cannot_change_their_own_account(client: TestClient, hub: City) -> None:
    csrf = sign_in(client, "operator")
    refused = client.post("/hub/users/operator/deactivate", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "another operator" in refused.text


def test_a_deactivated_user_is_signed_out_and_a_reactivated_one_signs_in_again(
    client: TestClient, app: FastAPI, hub: City
) -> None:
    researcher = TestClient(app)
    sign_in(researcher, "researcher")
    assert researcher.get("/me").status_code == 200
    csrf = sign_in(client, "operator")
    client.post("/hub/users/researcher/deactivate", data={"csrf_token": csrf})
    assert researcher.get("/me", headers={"accept": "text/html"}).status_code == 401
    listing = client.get("/hub/users?q=research").text
    assert "/hub/users/researcher/reactivate" in listing
    client.post("/hub/users/researcher/reactivate", data={"csrf_token": csrf})
    sign_in(researcher, "researcher")
    assert researcher.get("/me").status_code == 200
    assert len(_events(app, "user.reactivate")) == 1


def _sign_in_going_to(client: TestClient, who: str, next_url: str) -> str:
    """Where signing in as ``who`` from the login form, with ``next`` set to ``next_url``, goes."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": who,
            "password": PASSWORD,
            "next": next_url,
            "csrf_token": csrf_token_in(form.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    return str(response.headers["location"])


def test_an_operator_who_signs_in_lands_on_the_hub_page(client: TestClient, hub: City) -> None:
    assert _sign_in_going_to(client, "operator", "/") == "/hub"
    assert 'id="hub-counts"' in client.get("/hub").text


def test_an_operator_sent_to_sign_in_from_a_page_goes_back_to_it(
    client: TestClient, hub: City
) -> None:
    assert _sign_in_going_to(client, "operator", "/audit") == "/audit"


def test_everyone_else_lands_where_they_signed_in_from(client: TestClient, hub: City) -> None:
    for who in ("researcher", "kepco", "citizen"):
        client.cookies.clear()
        assert _sign_in_going_to(client, who, "/") == "/"


def test_the_hub_page_shows_what_waits_and_links_to_where_it_is_handled(
    client: TestClient, app: FastAPI, hub: City
) -> None:
    open_job_project(app.state.sessionmaker, cpu_hours=3)  # a request approved, credits granted
    researcher = TestClient(app)
    csrf = sign_in(researcher, "researcher")
    project = researcher.get("/projects").text
    assert "Clinic load forecasting" in project
    sign_in(client, "operator")
    page = client.get("/hub")
    assert page.status_code == 200
    html = page.text
    assert 'href="/requests"' in html
    assert 'href="/reviews"' in html
    assert 'href="/jobs"' in html
    assert 'href="/credits?organization=gist-ai-lab"' in html
    assert "The audit log&#39;s hash chain holds" in html
    assert "/api/" not in html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    assert csrf  # the researcher's session stayed usable beside the operator's


def test_the_hub_page_counts_a_pending_request(client: TestClient, app: FastAPI, hub: City) -> None:
    csrf = sign_in(client, "researcher")
    created = client.post(
        "/projects",
        data={
            "csrf_token": csrf,
            "title": "Heat and health",
            "purpose": "academic-research",
            "justification": "Summer admissions.",
        },
        follow_redirects=False,
    )
    project = created.headers["location"].rsplit("/", 1)[1]
    client.post(
        f"/projects/{project}/requests",
        data={"csrf_token": csrf, "dataset": "patient-visits", "days": "30"},
    )
    client.cookies.clear()
    sign_in(client, "operator")
    html = client.get("/hub?lang=ko").text
    assert "Heat and health 프로젝트가 patient-visits 데이터를 요청(30일)" in html
    assert 'href="/requests#request-' in html


def test_a_citizen_sees_what_the_hub_holds_and_what_it_does_not(
    client: TestClient, hub: City
) -> None:
    sign_in(client, "citizen")
    html = client.get("/me").text
    assert "What the hub holds about you" in html
    assert "citizen" in html
    # My Data exists: the page leads there, and says nothing about donating being impossible.
    assert "You have not donated anything." in html
    assert 'href="/my-data"' in html
    assert "cannot donate" not in html
    assert "ask the institution that published it" in html  # what the hub cannot tell
    korean = client.get("/me?lang=ko").text
    assert "허브가 나에 대해 가진 정보" in korean


def test_a_citizen_refused_a_project_is_not_sent_to_a_feature_that_does_not_exist(
    client: TestClient, hub: City
) -> None:
    csrf = sign_in(client, "citizen")
    refused = client.post(
        "/projects",
        data={
            "csrf_token": csrf,
            "title": "My street",
            "purpose": "academic-research",
            "justification": "Curious.",
        },
    )
    assert refused.status_code == 422  # the form again, saying why
    assert "a citizen&#39;s account can neither lead nor join one" in refused.text
    assert "donate" not in refused.text.lower()
    assert "/me" in refused.text


def test_me_needs_a_signed_in_person(client: TestClient, hub: City) -> None:
    assert client.get("/me", headers={"accept": "text/html"}).status_code == 401


def test_a_failed_upload_is_on_the_hub_with_a_link_to_its_report(
    client: TestClient, app: FastAPI, settings: Settings, hub: City, tmp_path: Path
) -> None:
    bad = tmp_path / "meters.csv"
    bad.write_text("meter_id,kwh\nM001,0.4\nM002,lots\n", encoding="utf-8")
    schema = {"fields": [{"name": "meter_id", "type": "string"}, {"name": "kwh", "type": "number"}]}
    with app.state.sessionmaker() as session, pytest.raises(ValidationFailed):
        catalog_actions.publish_version(
            session,
            settings=settings,
            store=app.state.store,
            actor=hub.kepco_steward,
            slug="household-electricity",
            source=bad,
            filename="meters.csv",
            declared_schema=schema,
        )
    sign_in(client, "operator")
    html = client.get("/hub").text
    section = html.split('id="failed-ingests"', 1)[1].split("</section>", 1)[0]
    link = re.search(r'href="(/ingest-runs/\d+)"', section)
    assert link, section
    assert "meters.csv into household-electricity" in section
    report = client.get(link.group(1))
    assert report.status_code == 200
    assert "lots" in report.text


@pytest.mark.skipif(
    not sandbox_support().available,
    reason=f"a job is queued only where it can run: {sandbox_support().reason}",
)
def test_a_queued_job_is_on_the_hub_with_a_link_to_its_page(
    client: TestClient, app: FastAPI, hub: City
) -> None:
    project = open_job_project(app.state.sessionmaker, cpu_hours=3)
    with app.state.sessionmaker() as session:
        user = account_queries.get_user(session, "researcher")
        assert user is not None
        bundle = app.state.settings.ensure_data_dir() / "job.zip"
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.writestr("main.py", "print('hello')\n")
        job = compute_actions.submit_job(
            session,
            settings=app.state.settings,
            executor=app.state.executor,
            actor=Actor.for_user(user, via="cli"),
            spec=JobSpec(
                project=project,
                entrypoint="main.py",
                name="forecast",
                resources=Resources(cpus=1, memory_mb=512, time_limit_s=60),
            ),
            bundle_path=bundle,
        )
    sign_in(client, "operator")
    html = client.get("/hub").text
    counts = html.split('id="hub-counts"', 1)[1].split("</ul>", 1)[0]
    assert "<strong>1</strong> jobs queued" in counts
    section = html.split('id="active-jobs"', 1)[1].split("</section>", 1)[0]
    assert f'href="/jobs/{job.id}"' in section
    assert f"Job {job.id} forecast of Clinic load forecasting" in section
    assert client.get(f"/jobs/{job.id}").status_code == 200
