"""The gateway under real project agreements: governance's decision and obligations, end to end."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.query.conftest import City

from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions, ProjectCreate


def _project_with_agreement(
    db: Session, city: City, slug: str, conditions: ApprovalConditions | None = None
) -> int:
    member = city.cast.actors["member"]
    project = governance.create_project(
        db,
        actor=member,
        data=ProjectCreate(
            title=f"Study of {slug}",
            purpose=Purpose.academic_research,
            justification="Public health research.",
        ),
    )
    project_id = project.id
    request = governance.request_access(
        db, actor=member, data=AccessRequestCreate(project=project_id, dataset=slug)
    )
    governance.approve_request(
        db,
        actor=city.cast.actors["steward_of_publisher"],
        request_id=request.id,
        conditions=conditions or ApprovalConditions(),
    )
    return project_id


def _query(api: TestClient, city: City, sql: str, project: int) -> dict[str, object]:
    response = api.post(
        "/api/v1/query",
        json={"sql": sql, "project": project},
        headers=city.cast.headers("member"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_identifiers_are_pseudonymised_differently_under_two_projects_agreements(
    api: TestClient, city: City, db: Session
) -> None:
    first = _project_with_agreement(db, city, "clinic-visits")
    second = _project_with_agreement(db, city, "clinic-visits")
    sql = 'SELECT patient_id, name FROM "clinic-visits" ORDER BY age'
    one = _query(api, city, sql, first)["rows"]
    again = _query(api, city, sql, first)["rows"]
    other = _query(api, city, sql, second)["rows"]
    assert one == again
    assert one != other
    assert all("Patient" not in str(row) and "P000" not in str(row) for row in one)  # type: ignore[union-attr]


def test_a_secure_dataset_under_an_agreement_answers_aggregates_with_suppression(
    api: TestClient, city: City, db: Session
) -> None:
    project = _project_with_agreement(db, city, "income-survey")
    body = _query(
        api, city, 'SELECT district, count(*) AS n FROM "income-survey" GROUP BY 1', project
    )
    assert body["suppressed_groups"] == 1
    refused = api.post(
        "/api/v1/query",
        json={"sql": 'SELECT name FROM "income-survey"', "project": project},
        headers=city.cast.headers("member"),
    )
    assert refused.status_code == 403
    assert "Secure data" in refused.json()["detail"]


def test_a_query_naming_an_unknown_project_is_a_404(api: TestClient, city: City) -> None:
    response = api.post(
        "/api/v1/query",
        json={"sql": 'SELECT count(*) FROM "clinic-visits"', "project": 999},
        headers=city.cast.headers("member"),
    )
    assert response.status_code == 404
