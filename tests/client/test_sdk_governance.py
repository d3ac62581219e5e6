"""The SDK walks governance against a real hub: projects, requests, agreements, exports.

A lab analyst (a member of an organization, so she may lead a project) asks KEPCO for its
restricted meter readings; KEPCO's steward answers through the same SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.client import (
    AccessDenied,
    Agreement,
    Client,
    Conflict,
    NotAuthenticated,
    Project,
    ValidationFailed,
)
from bitgoeul.config import Settings

PASSWORD = "correct-horse-battery"  # the password conftest gives its people
RESTRICTED = "household-electricity-by-meter"
METER_SCHEMA = {
    "fields": [
        {"name": "meter_id", "type": "string", "constraints": {"required": True}},
        {"name": "day", "type": "date"},
        {"name": "kwh", "type": "number", "constraints": {"minimum": 0}},
    ]
}


@pytest.fixture
def lab(db: Session, settings: Settings, people: None) -> None:
    """A research lab with two members, who may open projects (the conftest researcher may not:
    she belongs to no organization)."""
    org = actions.create_organization(db, slug="gist-lab", name="GIST lab", kind="research")
    for username in ("analyst", "assistant"):
        actions.create_user(
            db,
            username=username,
            password=PASSWORD,
            role="member",
            organization_id=org.id,
            settings=settings,
        )


@pytest.fixture
def analyst(hub_url: str, lab: None) -> Iterator[Client]:
    with Client(hub_url) as client:
        client.login("analyst", PASSWORD)
        yield client


@pytest.fixture
def restricted(steward: Client, meter_csv: Path) -> str:
    """KEPCO's meter readings at the restricted level: rows only under an agreement."""
    steward.create_dataset(
        slug=RESTRICTED,
        title="Electricity use by meter",
        sector="energy",
        access_level="restricted",
    )
    steward.upload(RESTRICTED, meter_csv, schema=METER_SCHEMA)
    return RESTRICTED


@pytest.fixture
def project(analyst: Client) -> Project:
    return analyst.create_project(
        "Winter peaks",
        "academic-research",
        "Which households peak in January, and why.",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
    )


def test_a_lab_member_opens_a_project_and_leads_it(analyst: Client, project: Project) -> None:
    assert project.purpose == "academic-research"
    assert project.lead_organization == "gist-lab"
    assert (project.starts_on, project.ends_on) == (date(2026, 1, 1), date(2026, 12, 31))
    assert [(m.username, m.role) for m in project.members] == [("analyst", "lead")]
    assert [p.id for p in analyst.projects()] == [project.id]
    assert analyst.project(project.id).title == "Winter peaks"


def test_a_project_with_an_unknown_purpose_raises_naming_the_field(analyst: Client) -> None:
    with pytest.raises(ValidationFailed, match="purpose"):
        analyst.create_project("Fun", "fun", "For fun.")


def test_the_lead_adds_a_colleague_but_not_someone_without_an_organization(
    analyst: Client, project: Project
) -> None:
    grown = analyst.add_project_member(project.id, "assistant")
    assert [(m.username, m.role) for m in grown.members] == [
        ("analyst", "lead"),
        ("assistant", "member"),
    ]
    with pytest.raises(ValidationFailed, match="belongs to no organization"):
        analyst.add_project_member(project.id, "researcher")


def test_an_approved_request_lets_the_project_query_and_export_until_revoked(
    analyst: Client, steward: Client, project: Project, restricted: str, tmp_path: Path
) -> None:
    sql = f'SELECT * FROM "{restricted}" ORDER BY kwh'
    with pytest.raises(AccessDenied, match="no active agreement"):
        analyst.query(sql, project=project.id)

    request = analyst.request_access(project.id, restricted, days=30, note="January only")
    assert (request.status, request.requested_days, request.requested_by) == (
        "pending",
        30,
        "analyst",
    )
    assert [r.id for r in steward.access_requests(status="pending")] == [request.id]

    agreement = steward.approve(request.id, columns=["meter_id", "kwh"], row_filter="kwh > 0")
    assert isinstance(agreement, Agreement)
    assert (agreement.active, agreement.columns, agreement.row_filter) == (
        True,
        ["meter_id", "kwh"],
        "kwh > 0",
    )
    assert analyst.access_requests()[0].agreement == agreement.id
    assert analyst.agreement(agreement.id) == agreement

    result = analyst.query(sql, project=project.id)
    assert result.columns == ["meter_id", "kwh"]
    assert result.rows == [["M-002", 8.25], ["M-001", 12.5]]

    out = tmp_path / "exports"
    out.mkdir()
    exported = analyst.export(sql, out / "peaks.parquet", "parquet", project=project.id)
    table = pq.read_table(exported)
    assert table.column_names == ["meter_id", "kwh"]
    assert table.to_pydict() == {"meter_id": ["M-002", "M-001"], "kwh": [8.25, 12.5]}
    assert [p.name for p in out.iterdir()] == ["peaks.parquet"]

    revoked = steward.revoke_agreement(agreement.id, "The study ended early.")
    assert (revoked.active, revoked.revoke_reason) == (False, "The study ended early.")
    with pytest.raises(AccessDenied) as raised:
        analyst.query(sql, project=project.id)
    assert raised.value.status == 403
    assert "no active agreement" in raised.value.message
    with pytest.raises(AccessDenied, match="no active agreement"):
        analyst.export(sql, out / "again.parquet", "parquet", project=project.id)
    assert [p.name for p in out.iterdir()] == ["peaks.parquet"]


def test_a_rejection_carries_the_stewards_reason_to_the_project(
    analyst: Client, steward: Client, project: Project, restricted: str
) -> None:
    request = analyst.request_access(project.id, restricted, columns=["day", "kwh"])
    rejected = steward.reject(request.id, "Meter-level data needs an ethics approval number.")
    assert (rejected.status, rejected.decided_by) == ("rejected", "kepco")
    assert rejected.reason == "Meter-level data needs an ethics approval number."
    (seen,) = analyst.access_requests(status="rejected")
    assert seen.reason == rejected.reason
    assert analyst.access_requests(status="pending") == []


def test_a_blank_reason_is_refused(
    analyst: Client, steward: Client, project: Project, restricted: str
) -> None:
    request = analyst.request_access(project.id, restricted)
    with pytest.raises(ValidationFailed, match="reason"):
        steward.reject(request.id, "   ")


def test_the_requester_withdraws_a_pending_request_once(
    analyst: Client, project: Project, restricted: str
) -> None:
    request = analyst.request_access(project.id, restricted)
    assert analyst.withdraw(request.id).status == "withdrawn"
    with pytest.raises(Conflict, match="withdrawn already"):
        analyst.withdraw(request.id)


def test_nobody_approves_their_own_projects_request(
    analyst: Client, project: Project, restricted: str
) -> None:
    request = analyst.request_access(project.id, restricted)
    with pytest.raises(AccessDenied, match="Only stewards"):
        analyst.approve(request.id)


def test_notifications_tell_each_side_and_are_marked_read(
    analyst: Client, steward: Client, project: Project, restricted: str
) -> None:
    request = analyst.request_access(project.id, restricted)
    (asked,) = steward.notifications(unread=True)
    assert asked.kind == "access_request.created"
    assert restricted in asked.text
    agreement = steward.approve(request.id)
    steward.revoke_agreement(agreement.id, "Consent withdrawn by the households.")

    kinds = [n.kind for n in analyst.notifications()]
    assert kinds == ["agreement.revoked", "access_request.approved"]
    assert "Consent withdrawn by the households." in analyst.notifications()[0].text
    assert analyst.mark_notifications_read() == 2
    assert analyst.notifications(unread=True) == []
    assert all(n.read_at is not None for n in analyst.notifications())
    assert analyst.mark_notifications_read() == 0


def test_odrl_policies_describe_the_offer_and_the_agreement(
    hub: Client, analyst: Client, steward: Client, project: Project, restricted: str
) -> None:
    offer = hub.dataset_odrl(restricted)
    assert offer["@type"] == "Offer"
    agreement = steward.approve(analyst.request_access(project.id, restricted).id)
    policy = analyst.agreement_odrl(agreement.id)
    assert policy["@type"] == "Agreement"
    assert "@context" in policy


def test_governance_needs_an_account(hub: Client) -> None:
    with pytest.raises(NotAuthenticated, match=r"(?i)sign in"):
        hub.projects()
    with pytest.raises(NotAuthenticated):
        hub.notifications()


def test_an_open_query_exports_to_csv_in_a_directory(
    researcher: Client, published: str, tmp_path: Path
) -> None:
    path = researcher.export(f'SELECT meter_id FROM "{published}" ORDER BY meter_id', tmp_path)
    assert path == tmp_path / "query.csv"
    assert path.read_text(encoding="utf-8").splitlines() == [
        "meter_id",
        "M-001",
        "M-002",
        "M-003",
    ]
