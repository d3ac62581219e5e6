"""Startup support: who may apply, review and withdraw (roles x actions), the state machine,
the credits an approval grants through the ledger's own action, and the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.programmes.programme_city import ROLES, People, application, approve

from bitgoeul.audit.models import AuditEvent
from bitgoeul.compute import queries as compute_queries
from bitgoeul.compute.models import CreditEntry
from bitgoeul.errors import Conflict
from bitgoeul.programmes.models import ApplicationStatus, SupportApplication
from bitgoeul.programmes.states import APPLICATION, ApplicationEvent, application_next

BODY = {
    "summary": "Forecasting EV charging demand in Gwangsan-gu's industrial parks.",
    "employees": 8,
    "cpu_hours": "50",
    "gpu_hours": "5",
    "testbed_sponsorship": True,
}


def _actions(db: Session, event: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == event)))


@pytest.mark.parametrize("who", ROLES)
def test_only_a_startups_people_apply_for_support(
    api: TestClient, people: People, who: str
) -> None:
    response = api.post("/api/v1/programmes/applications", json=BODY, headers=people.headers(who))
    expected = {"anonymous": 401, "founder": 201, "other_founder": 201}.get(who, 403)
    assert response.status_code == expected, response.text
    if expected == 201:
        assert response.json()["status"] == "submitted"
        assert response.json()["organization"] in ("vision-lab", "grid-ai")


def test_an_application_that_asks_for_nothing_is_refused_with_the_reason(
    api: TestClient, people: People
) -> None:
    body = {"summary": BODY["summary"], "employees": 3}
    response = api.post(
        "/api/v1/programmes/applications", json=body, headers=people.headers("founder")
    )
    assert response.status_code == 422
    assert "ask for something" in response.text


@pytest.mark.parametrize("who", ROLES)
def test_each_role_sees_only_its_organizations_applications(
    api: TestClient, db: Session, people: People, who: str
) -> None:
    mine = application(db, people)
    application(db, people, who="other_founder")
    listed = api.get("/api/v1/programmes/applications", headers=people.headers(who))
    one = api.get(f"/api/v1/programmes/applications/{mine.id}", headers=people.headers(who))
    if who == "anonymous":
        assert listed.status_code == one.status_code == 401
        return
    seen = {a["organization"] for a in listed.json()}
    expected = {
        "operator": {"vision-lab", "grid-ai"},
        "founder": {"vision-lab"},
        "other_founder": {"grid-ai"},
    }.get(who, set())
    assert seen == expected
    assert one.status_code == (200 if who in ("operator", "founder") else 404)


@pytest.mark.parametrize("who", ROLES)
def test_only_operators_review_applications(
    api: TestClient, db: Session, people: People, who: str
) -> None:
    submitted = application(db, people)
    response = api.post(
        f"/api/v1/programmes/applications/{submitted.id}/review",
        json={"decision": "approve"},
        headers=people.headers(who),
    )
    expected = {"anonymous": 401, "operator": 200}.get(who, 403)
    assert response.status_code == expected, response.text
    db.expire_all()
    stored = db.get(SupportApplication, submitted.id)
    assert stored is not None
    assert stored.status == (
        ApplicationStatus.approved if who == "operator" else ApplicationStatus.submitted
    )


@pytest.mark.parametrize("who", ROLES)
def test_only_the_applying_startup_withdraws_its_application(
    api: TestClient, db: Session, people: People, who: str
) -> None:
    submitted = application(db, people)
    response = api.post(
        f"/api/v1/programmes/applications/{submitted.id}/withdraw", headers=people.headers(who)
    )
    # Others do not learn that the application exists (404); an operator is told to review it.
    expected = {"anonymous": 401, "founder": 200, "operator": 403}.get(who, 404)
    assert response.status_code == expected, response.text


def test_an_approval_grants_the_credits_through_the_ledger_and_is_audited(
    api: TestClient, db: Session, people: People
) -> None:
    submitted = application(db, people, cpu=100, gpu=10)
    response = api.post(
        f"/api/v1/programmes/applications/{submitted.id}/review",
        json={"decision": "approve", "gpu_hours": "4", "note": "GPU-hours are scarce."},
        headers=people.headers("operator"),
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    assert Decimal(shown["granted_cpu_hours"]) == 100
    assert Decimal(shown["granted_gpu_hours"]) == 4
    balance = compute_queries.balance(db, people.startup.id)
    assert (balance.cpu_hours, balance.gpu_hours) == (Decimal(100), Decimal(4))
    entries = list(
        db.scalars(select(CreditEntry).where(CreditEntry.organization_id == people.startup.id))
    )
    assert {e.note for e in entries} == {f"programme application {submitted.id}"}
    assert [e.resource_id for e in _actions(db, "programme.application_approved")] == [
        str(submitted.id)
    ]
    assert len(_actions(db, "credits.grant")) == 1


def test_a_rejection_must_say_why_and_grants_nothing(
    api: TestClient, db: Session, people: People
) -> None:
    submitted = application(db, people)
    path = f"/api/v1/programmes/applications/{submitted.id}/review"
    silent = api.post(path, json={"decision": "reject"}, headers=people.headers("operator"))
    assert silent.status_code == 422
    assert "say why" in silent.text
    answered = api.post(
        path,
        json={"decision": "reject", "note": "Apply with a data plan."},
        headers=people.headers("operator"),
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "rejected"
    assert compute_queries.balance(db, people.startup.id).cpu_hours == 0
    assert _actions(db, "credits.grant") == []


def test_a_decided_application_cannot_be_decided_again(
    api: TestClient, db: Session, people: People
) -> None:
    submitted = application(db, people)
    approve(db, people, submitted.id)
    again = api.post(
        f"/api/v1/programmes/applications/{submitted.id}/review",
        json={"decision": "approve"},
        headers=people.headers("operator"),
    )
    assert again.status_code == 409
    assert "approved" in again.json()["detail"]
    withdraw = api.post(
        f"/api/v1/programmes/applications/{submitted.id}/withdraw",
        headers=people.headers("founder"),
    )
    assert withdraw.status_code == 409
    assert compute_queries.balance(db, people.startup.id).cpu_hours == 100  # granted once


def test_a_grant_over_the_limit_is_refused_and_leaves_the_application_submitted(
    api: TestClient, db: Session, people: People
) -> None:
    submitted = application(db, people)
    response = api.post(
        f"/api/v1/programmes/applications/{submitted.id}/review",
        json={"decision": "approve", "cpu_hours": "5000000"},
        headers=people.headers("operator"),
    )
    assert response.status_code == 422  # over the schema's limit: nothing happened
    db.expire_all()
    stored = db.get(SupportApplication, submitted.id)
    assert stored is not None
    assert stored.status == ApplicationStatus.submitted


@given(st.lists(st.sampled_from(list(ApplicationEvent)), max_size=6))
def test_the_state_machine_only_moves_along_its_listed_transitions(
    events: list[ApplicationEvent],
) -> None:
    state = ApplicationStatus.submitted
    for event in events:
        if (state, event) in APPLICATION:
            following = application_next(state, event)
            assert following == APPLICATION[(state, event)]
            state = following
        else:
            with pytest.raises(Conflict):
                application_next(state, event)
    # Every decision is final: nothing leaves approved, rejected or withdrawn.
    assert all(before == ApplicationStatus.submitted for before, _ in APPLICATION)
