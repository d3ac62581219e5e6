"""Governance over HTTP: who may open projects, request data, approve, reject and revoke."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from governance_city import WHO, City, request_body
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import AccessLevel
from bitgoeul.governance.models import Agreement

PROJECT = {
    "title": "Bus stops and footfall",
    "purpose": "public-service-improvement",
    "justification": "Place new stops where people walk.",
}


def _approve(api: TestClient, city: City, request_id: int, **conditions: object) -> dict:  # type: ignore[type-arg]
    response = api.post(
        f"/api/v1/access-requests/{request_id}/approve",
        json=conditions or None,
        headers=city.headers("steward_of_publisher"),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


PROJECT_CREATORS = {
    "project_member",
    "member_of_other_org",
    "steward_of_publisher",
    "steward_of_other_org",
    "operator",
}


@pytest.mark.parametrize("who", WHO)
def test_members_stewards_and_operators_open_projects_citizens_do_not(
    api: TestClient, city: City, who: str
) -> None:
    response = api.post("/api/v1/projects", json=PROJECT, headers=city.headers(who))
    expected = 201 if who in PROJECT_CREATORS else (401 if who == "anonymous" else 403)
    assert response.status_code == expected, response.text
    if expected == 201:
        body = response.json()
        assert body["id"]
        assert body["purpose"] == "public-service-improvement"
        assert body["members"][0]["role"] == "lead"
    else:
        assert response.json()["detail"]


def test_a_project_with_an_unknown_purpose_is_refused_naming_the_field(
    api: TestClient, city: City
) -> None:
    response = api.post(
        "/api/v1/projects",
        json={**PROJECT, "purpose": "fun"},
        headers=city.headers("project_member"),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "purpose"


@pytest.mark.parametrize("who", WHO)
def test_only_the_projects_lead_adds_members(api: TestClient, city: City, who: str) -> None:
    response = api.post(
        f"/api/v1/projects/{city.project_id}/members",
        json={"username": "kpx-analyst"},
        headers=city.headers(who),
    )
    expected = {"project_member": 201, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected, response.text


def test_citizens_cannot_be_added_to_a_project(api: TestClient, city: City) -> None:
    response = api.post(
        f"/api/v1/projects/{city.project_id}/members",
        json={"username": "minji"},
        headers=city.headers("project_member"),
    )
    assert response.status_code == 422
    assert "username" in str(response.json()["detail"])


@pytest.mark.parametrize("who", WHO)
def test_only_project_members_request_data_for_their_project(
    api: TestClient, city: City, who: str
) -> None:
    response = api.post(
        "/api/v1/access-requests", json=request_body(city), headers=city.headers(who)
    )
    expected = {"project_member": 201, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected, response.text
    if expected == 201:
        assert response.json()["status"] == "pending"
        assert response.json()["id"]


@pytest.mark.parametrize("level", [AccessLevel.open, AccessLevel.registered])
def test_open_and_registered_data_need_no_request(
    api: TestClient, city: City, level: AccessLevel
) -> None:
    response = api.post(
        "/api/v1/access-requests",
        json=request_body(city, level),
        headers=city.headers("project_member"),
    )
    assert response.status_code == 409
    assert "needs no request" in response.json()["detail"]


def test_a_request_for_unknown_columns_names_them(api: TestClient, city: City) -> None:
    response = api.post(
        "/api/v1/access-requests",
        json=request_body(city, columns=["kwh", "password"]),
        headers=city.headers("project_member"),
    )
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"][-1] == "columns"
    assert "password" in error["msg"]


@pytest.mark.parametrize("days", [0, -5, 10_000])
def test_a_request_for_an_impossible_duration_names_the_field(
    api: TestClient, city: City, days: int
) -> None:
    response = api.post(
        "/api/v1/access-requests",
        json=request_body(city, days=days),
        headers=city.headers("project_member"),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "days"


def test_a_request_for_an_unknown_project_is_not_found(api: TestClient, city: City) -> None:
    response = api.post(
        "/api/v1/access-requests",
        json={"project": 999, "dataset": city.datasets[AccessLevel.restricted].slug},
        headers=city.headers("project_member"),
    )
    assert response.status_code == 404


def test_a_second_pending_request_for_the_same_dataset_conflicts(
    api: TestClient, city: City, pending_request: int
) -> None:
    response = api.post(
        "/api/v1/access-requests", json=request_body(city), headers=city.headers("project_member")
    )
    assert response.status_code == 409
    assert str(pending_request) in response.json()["detail"]


@pytest.mark.parametrize("who", WHO)
def test_only_the_publishers_stewards_approve(
    api: TestClient, city: City, pending_request: int, who: str
) -> None:
    response = api.post(
        f"/api/v1/access-requests/{pending_request}/approve", headers=city.headers(who)
    )
    expected = {"steward_of_publisher": 200, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected, response.text
    if expected == 200:
        agreement = response.json()
        assert agreement["active"] is True
        assert agreement["columns"] is None


@pytest.mark.parametrize("who", WHO)
def test_only_the_publishers_stewards_reject(
    api: TestClient, city: City, pending_request: int, who: str
) -> None:
    response = api.post(
        f"/api/v1/access-requests/{pending_request}/reject",
        json={"reason": "The justification does not need household-level data."},
        headers=city.headers(who),
    )
    expected = {"steward_of_publisher": 200, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected, response.text


def test_nobody_approves_their_own_request(
    api: TestClient, city: City, pending_request: int
) -> None:
    added = api.post(
        f"/api/v1/projects/{city.project_id}/members",
        json={"username": "kepco-steward-2"},
        headers=city.headers("project_member"),
    )
    assert added.status_code == 201
    response = api.post(
        f"/api/v1/access-requests/{pending_request}/approve",
        headers=city.headers("second_steward_of_publisher"),
    )
    assert response.status_code == 403
    assert "own request" in response.json()["detail"]


@pytest.mark.parametrize(
    "row_filter",
    [
        "1=1; DROP TABLE datasets",
        "kwh IN (SELECT 1)",
        "password = 'x'",
        "read_parquet('/etc/passwd') IS NOT NULL",
        "kwh > 0 UNION SELECT 1",
        "",
        "kwh",
    ],
)
def test_a_bad_row_filter_is_refused_naming_the_field(
    api: TestClient, city: City, pending_request: int, row_filter: str
) -> None:
    response = api.post(
        f"/api/v1/access-requests/{pending_request}/approve",
        json={"row_filter": row_filter},
        headers=city.headers("steward_of_publisher"),
    )
    assert response.status_code == 422, response.text
    assert "row_filter" in str(response.json()["detail"])


def test_an_approval_keeps_a_valid_row_filter_in_canonical_sql(
    api: TestClient, city: City, pending_request: int
) -> None:
    agreement = _approve(api, city, pending_request, row_filter="district = '북구' and kwh >= 0")
    assert agreement["row_filter"] == "district = '북구' AND kwh >= 0"


@pytest.mark.parametrize("days", [0, -1, 91])
def test_an_approval_cannot_outlast_the_request(
    api: TestClient, city: City, pending_request: int, days: int
) -> None:
    response = api.post(
        f"/api/v1/access-requests/{pending_request}/approve",
        json={"expires_in_days": days},
        headers=city.headers("steward_of_publisher"),
    )
    assert response.status_code == 422
    assert "expires_in_days" in str(response.json()["detail"])


def test_an_approval_narrows_columns_but_never_widens_them(api: TestClient, city: City) -> None:
    created = api.post(
        "/api/v1/access-requests",
        json=request_body(city, columns=["district", "kwh"]),
        headers=city.headers("project_member"),
    )
    request_id = created.json()["id"]
    wider = api.post(
        f"/api/v1/access-requests/{request_id}/approve",
        json={"columns": ["district", "kwh", "customer_id"]},
        headers=city.headers("steward_of_publisher"),
    )
    assert wider.status_code == 422
    assert wider.json()["detail"][0]["loc"][-1] == "columns"
    assert "customer_id" in wider.json()["detail"][0]["msg"]
    assert _approve(api, city, request_id, columns=["kwh"])["columns"] == ["kwh"]


def test_an_answered_request_cannot_be_answered_again(
    api: TestClient, city: City, pending_request: int
) -> None:
    _approve(api, city, pending_request)
    again = api.post(
        f"/api/v1/access-requests/{pending_request}/reject",
        json={"reason": "changed my mind"},
        headers=city.headers("steward_of_publisher"),
    )
    assert again.status_code == 409


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_rejection_needs_a_reason(
    api: TestClient, city: City, pending_request: int, reason: str
) -> None:
    response = api.post(
        f"/api/v1/access-requests/{pending_request}/reject",
        json={"reason": reason},
        headers=city.headers("steward_of_publisher"),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "reason"


def test_the_requester_is_told_why_a_request_was_rejected(
    api: TestClient, city: City, pending_request: int
) -> None:
    api.post(
        f"/api/v1/access-requests/{pending_request}/reject",
        json={"reason": "Use the district aggregates instead."},
        headers=city.headers("steward_of_publisher"),
    )
    notes = api.get("/api/v1/notifications", headers=city.headers("project_member")).json()
    assert any("district aggregates" in n["text"] for n in notes)
    queue = api.get(
        "/api/v1/access-requests?status=rejected", headers=city.headers("project_member")
    ).json()
    assert [r["reason"] for r in queue] == ["Use the district aggregates instead."]


def test_the_publishers_stewards_are_notified_of_a_new_request(
    api: TestClient, city: City, pending_request: int
) -> None:
    for who in ("steward_of_publisher", "second_steward_of_publisher"):
        notes = api.get("/api/v1/notifications", headers=city.headers(who)).json()
        assert [n["kind"] for n in notes] == ["access_request.created"]
    assert (
        api.get("/api/v1/notifications", headers=city.headers("steward_of_other_org")).json() == []
    )


QUEUE_SEES = {"project_member", "steward_of_publisher", "operator"}


@pytest.mark.parametrize("who", WHO)
def test_the_request_queue_shows_the_publishers_stewards_and_the_project_its_requests(
    api: TestClient, city: City, pending_request: int, who: str
) -> None:
    response = api.get("/api/v1/access-requests?status=pending", headers=city.headers(who))
    if who == "anonymous":
        assert response.status_code == 401
        return
    ids = [r["id"] for r in response.json()]
    assert ids == ([pending_request] if who in QUEUE_SEES else [])


@pytest.mark.parametrize("who", WHO)
def test_only_the_publishers_stewards_and_operators_revoke(
    api: TestClient, city: City, pending_request: int, who: str
) -> None:
    agreement = _approve(api, city, pending_request)
    response = api.post(
        f"/api/v1/agreements/{agreement['id']}/revoke",
        json={"reason": "The project broke its conditions."},
        headers=city.headers(who),
    )
    expected = {"steward_of_publisher": 200, "operator": 200, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json()["active"] is False


AGREEMENT_READERS = {"project_member", "steward_of_publisher", "operator"}


@pytest.mark.parametrize("who", WHO)
def test_an_agreement_is_shown_to_its_project_the_publisher_and_operators(
    api: TestClient, city: City, pending_request: int, who: str
) -> None:
    agreement = _approve(api, city, pending_request)
    for path in (
        f"/api/v1/agreements/{agreement['id']}",
        f"/api/v1/agreements/{agreement['id']}/odrl",
    ):
        response = api.get(path, headers=city.headers(who))
        expected = 200 if who in AGREEMENT_READERS else (401 if who == "anonymous" else 403)
        assert response.status_code == expected, (path, response.text)


def test_an_agreement_exports_as_an_odrl_agreement(
    api: TestClient, city: City, pending_request: int
) -> None:
    agreement = _approve(api, city, pending_request, expires_in_days=30)
    response = api.get(
        f"/api/v1/agreements/{agreement['id']}/odrl", headers=city.headers("project_member")
    )
    assert response.headers["content-type"].startswith("application/ld+json")
    policy = response.json()
    assert policy["@type"] == "Agreement"
    assert "http://www.w3.org/ns/odrl.jsonld" in policy["@context"]
    assert policy["assigner"].endswith("/organizations/kepco")
    assert policy["assignee"].endswith("/organizations/gist-lab")
    permission = policy["permission"][0]
    operands = {c["leftOperand"] for c in permission["constraint"]}
    assert {"purpose", "dateTime"} <= operands
    assert permission["duty"][0]["action"] == "anonymize"
    assert permission["duty"][0]["bitgoeul:columns"] == ["customer_id"]


@pytest.mark.parametrize("level", list(AccessLevel))
def test_every_dataset_offers_an_odrl_policy_for_its_access_level(
    api: TestClient, city: City, level: AccessLevel
) -> None:
    response = api.get(f"/api/v1/datasets/{city.datasets[level].slug}/odrl")
    assert response.status_code == 200
    offer = response.json()
    assert offer["@type"] == "Offer"
    assert offer["bitgoeul:accessLevel"] == level.value
    assert offer["permission"]
    prohibited = {p["action"] for p in offer.get("prohibition", [])}
    if level == AccessLevel.secure:
        assert offer["permission"][0]["action"] == "aggregate"
        assert {"read", "reproduce"} <= prohibited
    if level == AccessLevel.open:
        assert not prohibited


def test_approvals_and_refusals_are_in_the_audit_log(
    api: TestClient, city: City, pending_request: int, db: Session
) -> None:
    api.post(
        f"/api/v1/access-requests/{pending_request}/approve",
        headers=city.headers("steward_of_other_org"),
    )
    _approve(api, city, pending_request)
    db.expire_all()
    events = [
        (e.action, e.outcome) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]
    assert ("access_request.created", "ok") in events
    assert ("access_request.approve", "denied") in events
    assert ("access_request.approved", "ok") in events


def test_the_requester_withdraws_a_pending_request(
    api: TestClient, city: City, pending_request: int
) -> None:
    denied = api.post(
        f"/api/v1/access-requests/{pending_request}/withdraw",
        headers=city.headers("steward_of_publisher"),
    )
    assert denied.status_code == 403
    response = api.post(
        f"/api/v1/access-requests/{pending_request}/withdraw",
        headers=city.headers("project_member"),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"


def test_a_steward_sets_the_dominance_rule_through_the_catalog(api: TestClient, city: City) -> None:
    slug = city.datasets[AccessLevel.secure].slug
    response = api.patch(
        f"/api/v1/datasets/{slug}",
        json={"min_group_size": 20, "dominance_n": 1, "dominance_k": 0.75},
        headers=city.headers("steward_of_publisher"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["min_group_size"], body["dominance_n"], body["dominance_k"]) == (20, 1, 0.75)
    bad = api.patch(
        f"/api/v1/datasets/{slug}",
        json={"dominance_k": 1.5},
        headers=city.headers("steward_of_publisher"),
    )
    assert bad.status_code == 422


def test_an_agreement_past_its_expiry_is_no_longer_active(
    api: TestClient, city: City, pending_request: int, db: Session
) -> None:
    agreement = _approve(api, city, pending_request)
    row = db.get(Agreement, agreement["id"])
    assert row is not None
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()
    shown = api.get(f"/api/v1/agreements/{agreement['id']}", headers=city.headers("project_member"))
    assert shown.json()["active"] is False


def test_approving_a_request_on_a_test_set_needs_the_stewards_confirmation(
    api: TestClient, city: City, pending_request: int, db: Session
) -> None:
    # The dataset became a testbed's hidden test set after it was requested.
    dataset = city.datasets[AccessLevel.restricted]
    dataset.holdout = True
    db.commit()
    queue = api.get("/api/v1/access-requests", headers=city.headers("steward_of_publisher"))
    (listed,) = [r for r in queue.json() if r["id"] == pending_request]
    assert listed["dataset_is_test_set"] is True
    refused = api.post(
        f"/api/v1/access-requests/{pending_request}/approve",
        json={},
        headers=city.headers("steward_of_publisher"),
    )
    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert problem["loc"] == ["body", "confirm_test_set"]
    assert "hidden test set" in problem["msg"]
    assert db.scalars(select(Agreement)).all() == []
    approved = _approve(api, city, pending_request, confirm_test_set=True)
    assert approved["dataset"] == dataset.slug
