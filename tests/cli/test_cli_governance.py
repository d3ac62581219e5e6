"""Projects, access requests and agreements from the shell, as a researcher and a steward."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from tests.cli.outcomes import ok, refused
from typer.testing import Result

from bitgoeul.catalog.models import Dataset

Invoke = Callable[..., Result]
STEWARD, RESEARCHER, COLLEAGUE = "kepco-steward", "researcher", "colleague"
RESTRICTED, OPEN = "clinic-visits", "district-population"
pytestmark = pytest.mark.usefixtures("city")


@pytest.fixture
def project(invoke: Invoke) -> int:
    ok(
        invoke(
            "project", "create", "--as", RESEARCHER, "--title", "Flu season",
            "--purpose", "health-research", "--justification", "Plan clinic staffing.",
            "--start", "2026-01-01", "--end", "2026-12-31",
        )
    )  # fmt: skip
    return 1


@pytest.fixture
def request_id(invoke: Invoke, project: int) -> int:
    ok(
        invoke(
            "request", "create", "--as", RESEARCHER, "--project", str(project),
            "--dataset", RESTRICTED, "--column", "patient_id", "--column", "age",
            "--days", "30", "--note", "Ages only, please.",
        )
    )  # fmt: skip
    return 1


def test_a_researcher_opens_a_project_and_lists_it(invoke: Invoke) -> None:
    created = ok(
        invoke(
            "project", "create", "--as", RESEARCHER, "--title", "Flu season",
            "--purpose", "health-research", "--justification", "Plan clinic staffing.",
        )
    )  # fmt: skip
    assert "Created project 1 (Flu season)" in created
    listed = ok(invoke("project", "list", "--as", RESEARCHER))
    assert "Flu season" in listed
    assert "gist-lab" in listed


def test_a_project_cannot_end_before_it_starts(invoke: Invoke) -> None:
    error = refused(
        invoke(
            "project", "create", "--as", RESEARCHER, "--title", "Backwards",
            "--purpose", "health-research", "--justification", "x",
            "--start", "2026-12-31", "--end", "2026-01-01",
        )
    )  # fmt: skip
    assert "starts_on must not be after ends_on" in error


def test_the_steward_sees_a_pending_request_for_their_data(invoke: Invoke, request_id: int) -> None:
    queue = ok(invoke("request", "list", "--as", STEWARD, "--status", "pending"))
    assert RESTRICTED in queue
    assert "pending" in queue
    assert "researcher" in queue
    assert RESTRICTED not in ok(invoke("request", "list", "--as", STEWARD, "--status", "approved"))


def test_open_data_needs_no_request(invoke: Invoke, project: int) -> None:
    error = refused(
        invoke(
            "request", "create", "--as", RESEARCHER, "--project", str(project),
            "--dataset", OPEN,
        )
    )  # fmt: skip
    assert "needs no request" in error


def test_the_steward_approves_and_the_project_shows_the_agreement(
    invoke: Invoke, project: int, request_id: int
) -> None:
    approved = ok(
        invoke(
            "request", "approve", str(request_id), "--as", STEWARD,
            "--column", "age", "--expires-in-days", "7",
        )
    )  # fmt: skip
    assert "agreement 1 lets project 1 use clinic-visits" in approved
    assert "columns: age" in approved
    shown = ok(invoke("project", "show", str(project), "--as", RESEARCHER))
    assert "Flu season" in shown
    assert "approved" in shown
    assert "Agreements (1)" in shown
    assert "active" in shown
    terms = ok(invoke("agreement", "show", "1", "--as", RESEARCHER))
    assert "pseudonymised" in terms
    assert "active" in terms


def test_an_approval_may_narrow_a_request_but_not_widen_it(invoke: Invoke, request_id: int) -> None:
    error = refused(
        invoke("request", "approve", str(request_id), "--as", STEWARD, "--column", "name")
    )
    assert "'name' were not requested" in error


def test_a_researcher_cannot_approve_a_request(invoke: Invoke, request_id: int) -> None:
    error = refused(invoke("request", "approve", str(request_id), "--as", COLLEAGUE))
    assert "Only stewards of the organization publishing 'clinic-visits'" in error


def test_a_rejection_shows_the_researcher_the_reason(invoke: Invoke, request_id: int) -> None:
    rejected = ok(
        invoke(
            "request", "reject", str(request_id), "--as", STEWARD,
            "--reason", "Ethics approval missing",
        )
    )  # fmt: skip
    assert "Ethics approval missing" in rejected
    mine = ok(invoke("request", "list", "--as", RESEARCHER))
    assert "rejected" in mine
    assert "Ethics approval missing" in mine


def test_a_blank_reason_isrefused(invoke: Invoke, request_id: int) -> None:
    error = refused(invoke("request", "reject", str(request_id), "--as", STEWARD, "--reason", "  "))
    assert "--reason" in error


def test_a_researcher_withdraws_their_request(invoke: Invoke, request_id: int) -> None:
    assert "Withdrew request 1" in ok(
        invoke("request", "withdraw", str(request_id), "--as", RESEARCHER)
    )
    error = refused(invoke("request", "approve", str(request_id), "--as", STEWARD))
    assert "withdrawn already" in error


def test_the_lead_adds_a_colleague_who_then_sees_the_project(invoke: Invoke, project: int) -> None:
    assert "Added colleague to project 1" in ok(
        invoke("project", "add-member", str(project), COLLEAGUE, "--as", RESEARCHER)
    )
    assert "Flu season" in ok(invoke("project", "list", "--as", COLLEAGUE))
    error = refused(invoke("project", "add-member", str(project), STEWARD, "--as", COLLEAGUE))
    assert "Only a lead of project 1 may add members" in error


def test_an_agreement_prints_as_an_odrl_policy(invoke: Invoke, request_id: int) -> None:
    ok(invoke("request", "approve", str(request_id), "--as", STEWARD))
    policy = json.loads(ok(invoke("agreement", "show", "1", "--as", STEWARD, "--odrl")))
    assert policy["@type"] == "Agreement"
    assert "@context" in policy


def test_only_the_publishers_steward_may_revoke(invoke: Invoke, request_id: int) -> None:
    ok(invoke("request", "approve", str(request_id), "--as", STEWARD))
    error = refused(
        invoke("agreement", "revoke", "1", "--as", RESEARCHER, "--reason", "Done early")
    )
    assert "Only stewards of the publishing organization" in error
    revoked = ok(invoke("agreement", "revoke", "1", "--as", STEWARD, "--reason", "Breach"))
    assert "Revoked agreement 1" in revoked
    assert "Breach" in ok(invoke("agreement", "show", "1", "--as", RESEARCHER))


def test_an_unknown_user_is_named(invoke: Invoke) -> None:
    assert "There is no user 'ghost'" in refused(invoke("project", "list", "--as", "ghost"))


def test_the_queue_shows_the_projects_purpose_and_justification(
    invoke: Invoke, request_id: int
) -> None:
    queue = ok(invoke("request", "list", "--as", STEWARD))
    flat = " ".join(queue.split())
    assert "'Flu season'" in flat
    assert "health-research" in flat
    assert "Plan clinic staffing." in flat


def test_a_request_on_a_test_set_is_marked_and_needs_the_confirmation(
    invoke: Invoke, request_id: int, db: Session
) -> None:
    # The dataset became a hidden test set after it was requested.
    db.execute(update(Dataset).where(Dataset.slug == RESTRICTED).values(holdout=True))
    db.commit()
    assert "hidden test set" in ok(invoke("request", "list", "--as", STEWARD))
    error = refused(invoke("request", "approve", str(request_id), "--as", STEWARD))
    assert "hidden test set" in error
    assert "--confirm-test-set" in error
    approved = ok(
        invoke("request", "approve", str(request_id), "--as", STEWARD, "--confirm-test-set")
    )
    assert "Approved request 1" in approved
