"""Project, request-queue, notification and audit pages, driven through their real forms."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from web_city import City, csrf_token_in, sign_in

PAGES = ["/projects", "/requests", "/notifications", "/audit"]

# (page, role) -> status.  Anonymous visitors are asked to sign in; the request queue is for
# stewards and operators.
EXPECTED = {
    ("/projects", "anonymous"): 401,
    ("/requests", "anonymous"): 401,
    ("/notifications", "anonymous"): 401,
    ("/audit", "anonymous"): 401,
    ("/requests", "researcher"): 403,
}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["anonymous", "researcher", "kepco", "operator"])
def test_who_may_open_each_page(client: TestClient, city: City, path: str, who: str) -> None:
    if who != "anonymous":
        sign_in(client, who)
    response = client.get(path, headers={"accept": "text/html"})
    assert response.status_code == EXPECTED.get((path, who), 200), response.text[:300]
    assert response.headers["content-type"].startswith("text/html")


FORMS = [
    "/projects",
    "/projects/1/members",
    "/projects/1/requests",
    "/requests/1/withdraw",
    "/requests/1/approve",
    "/requests/1/reject",
    "/agreements/1/revoke",
    "/notifications/read",
    "/query",
    "/query/export",
    "/query/saved",
    "/query/saved/1/delete",
]


@pytest.mark.parametrize("path", FORMS)
def test_every_form_refuses_a_post_without_its_csrf_token(
    client: TestClient, city: City, path: str
) -> None:
    sign_in(client, "researcher")
    response = client.post(path, data={"title": "x"}, headers={"accept": "text/html"})
    assert response.status_code == 403
    assert "CSRF" in response.text


def _create_project(client: TestClient, csrf: str, title: str = "Elderly wellbeing") -> int:
    response = client.post(
        "/projects",
        data={
            "csrf_token": csrf,
            "title": title,
            "purpose": "public-service-improvement",
            "justification": "Find households whose electricity use stops.",
            "starts_on": "2026-01-01",
            "ends_on": "2027-12-31",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/projects/(\d+)", response.headers["location"])
    assert found
    return int(found.group(1))


def _request(client: TestClient, csrf: str, project: int, **fields: str) -> None:
    response = client.post(
        f"/projects/{project}/requests",
        data={"csrf_token": csrf, "dataset": "patient-visits", "days": "30", **fields},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _pending_request_id(html: str) -> int:
    found = re.search(r'action="/requests/(\d+)/approve"', html)
    assert found, "no pending request on the page"
    return int(found.group(1))


def test_researcher_creates_a_project_and_requests_a_dataset(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf)
    _request(client, csrf, project, columns="patient_id, age", note="Ages only, please.")
    page = client.get(f"/projects/{project}").text
    assert "Elderly wellbeing" in page
    assert "Public service improvement" in page
    assert "patient_id, age" in page
    assert "Pending" in page
    assert "/requests/" in page
    assert "/withdraw" in page
    listed = client.get("/projects").text
    assert f'href="/projects/{project}"' in listed


def test_a_bad_project_form_is_shown_again_with_the_reason(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    response = client.post(
        "/projects",
        data={
            "csrf_token": csrf,
            "title": "Backwards",
            "purpose": "academic-research",
            "justification": "x",
            "starts_on": "2027-01-01",
            "ends_on": "2026-01-01",
        },
    )
    assert response.status_code == 422
    assert "starts_on must not be after ends_on" in response.text
    assert 'value="Backwards"' in response.text
    assert "You are not a member of any project yet." in response.text


def test_an_unknown_column_in_a_request_is_explained(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf)
    response = client.post(
        f"/projects/{project}/requests",
        data={"csrf_token": csrf, "dataset": "patient-visits", "columns": "shoe_size"},
    )
    assert response.status_code == 422
    assert "shoe_size" in response.text
    assert 'id="form-error"' in response.text


def test_steward_approves_and_the_researcher_is_notified_and_can_query(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf)
    _request(client, csrf, project)

    client.cookies.clear()
    sign_in(client, "kepco")
    assert 'id="no-pending"' in client.get("/requests").text  # not KEPCO's dataset

    client.cookies.clear()
    steward_csrf = sign_in(client, "cnuh")
    queue = client.get("/requests").text
    request_id = _pending_request_id(queue)
    assert "patient_id, name, district, age, diagnosis" in queue  # the columns to choose from
    approved = client.post(
        f"/requests/{request_id}/approve",
        data={"csrf_token": steward_csrf, "columns": "patient_id, district, age"},
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text
    queue = client.get("/requests").text
    assert 'id="no-pending"' in queue
    assert "Active" in queue
    assert "patient_id, district, age" in queue

    client.cookies.clear()
    csrf = sign_in(client, "researcher")
    home = client.get("/").text
    assert 'class="count-badge"' in home
    notes = client.get("/notifications").text
    assert "approved" in notes.lower()
    client.post("/notifications/read", data={"csrf_token": csrf})
    assert 'class="count-badge"' not in client.get("/").text

    result = client.post(
        "/query",
        data={
            "csrf_token": csrf,
            "sql": 'SELECT patient_id, age FROM "patient-visits" ORDER BY age',
            "project": str(project),
        },
    )
    assert result.status_code == 200, result.text
    assert 'id="result-table"' in result.text
    assert "P001" not in result.text  # pseudonymised for this project
    assert "Kim Minji" not in result.text
    assert "<td>45</td>" in result.text
    assert "Recent queries" in result.text

    hidden = client.post(
        "/query",
        data={
            "csrf_token": csrf,
            "sql": 'SELECT name FROM "patient-visits"',
            "project": str(project),
        },
    )
    assert hidden.status_code == 403
    assert "Column 'name'" in html.unescape(hidden.text)


def test_revoking_stops_the_next_query_on_the_page(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf)
    _request(client, csrf, project)
    client.cookies.clear()
    steward_csrf = sign_in(client, "cnuh")
    request_id = _pending_request_id(client.get("/requests").text)
    client.post(f"/requests/{request_id}/approve", data={"csrf_token": steward_csrf})
    queue = client.get("/requests").text
    agreement = re.search(r'action="/agreements/(\d+)/revoke"', queue)
    assert agreement
    no_reason = client.post(
        f"/agreements/{agreement.group(1)}/revoke", data={"csrf_token": steward_csrf}
    )
    assert no_reason.status_code == 422
    revoked = client.post(
        f"/agreements/{agreement.group(1)}/revoke",
        data={"csrf_token": steward_csrf, "reason": "Study ended early."},
        follow_redirects=False,
    )
    assert revoked.status_code == 303

    client.cookies.clear()
    csrf = sign_in(client, "researcher")
    refused = client.post(
        "/query",
        data={
            "csrf_token": csrf,
            "sql": 'SELECT count(*) FROM "patient-visits"',
            "project": str(project),
        },
    )
    assert refused.status_code == 403
    assert 'id="query-error"' in refused.text
    assert 'SELECT count(*) FROM "patient-visits"' in html.unescape(refused.text)  # kept
    assert "Study ended early." in client.get(f"/projects/{project}").text


def test_reject_needs_a_reason_and_the_researcher_sees_it(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf)
    _request(client, csrf, project)
    client.cookies.clear()
    steward_csrf = sign_in(client, "cnuh")
    request_id = _pending_request_id(client.get("/requests").text)
    blank = client.post(
        f"/requests/{request_id}/reject", data={"csrf_token": steward_csrf, "reason": "  "}
    )
    assert blank.status_code == 422
    assert "reason" in blank.text
    client.post(
        f"/requests/{request_id}/reject",
        data={"csrf_token": steward_csrf, "reason": "Ask for aggregates instead."},
    )
    client.cookies.clear()
    sign_in(client, "researcher")
    page = client.get(f"/projects/{project}").text
    assert "Rejected" in page
    assert "Ask for aggregates instead." in page


def test_a_steward_cannot_approve_a_request_of_another_agency(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf)
    _request(client, csrf, project)
    client.cookies.clear()
    steward_csrf = sign_in(client, "cnuh")
    request_id = _pending_request_id(client.get("/requests").text)
    client.cookies.clear()
    kepco_csrf = sign_in(client, "kepco")
    response = client.post(f"/requests/{request_id}/approve", data={"csrf_token": kepco_csrf})
    assert response.status_code in (403, 422)
    client.cookies.clear()
    sign_in(client, "cnuh")
    assert _pending_request_id(client.get("/requests").text) == request_id
    assert steward_csrf


def test_the_steward_sees_uses_of_their_data_and_not_others(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    client.post(
        "/query",
        data={"csrf_token": csrf, "sql": 'SELECT count(*) FROM "household-electricity"'},
    )
    own = client.get("/audit").text
    assert "My activity" in own
    assert "query.run" in own

    client.cookies.clear()
    sign_in(client, "kepco")
    uses = client.get("/audit", params={"action": "dataset.query_decision"}).text
    assert "Uses of my data" in uses
    assert "researcher" in uses
    assert "household-electricity" in uses

    client.cookies.clear()
    sign_in(client, "cnuh")
    other = client.get("/audit", params={"action": "dataset.query_decision"}).text
    assert "household-electricity" not in other


def test_project_text_is_escaped(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    project = _create_project(client, csrf, title="<script>alert(1)</script>")
    page = client.get(f"/projects/{project}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_projects_page_in_korean(client: TestClient, city: City) -> None:
    sign_in(client, "researcher")
    client.get("/lang/ko")
    page = client.get("/projects").text
    assert "새 프로젝트" in page
    assert "공공 서비스 개선" in page
    assert csrf_token_in(page)
