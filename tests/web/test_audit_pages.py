"""The audit trail page and its CSV: entries read as sentences in the reader's language,
filters narrow them, the export neutralises formulas, and the chain's state is shown."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from web_city import PASSWORD, City, open_job_project, sign_in

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.models import Role
from bitgoeul.audit.models import AuditEvent
from bitgoeul.config import Settings


@pytest.fixture
def used(app: FastAPI, city: City, client: TestClient) -> int:
    """The researcher's project with an agreement on patient visits, and one query under it."""
    project = open_job_project(app.state.sessionmaker, cpu_hours=0)
    csrf = sign_in(client, "researcher")
    ran = client.post(
        "/query",
        data={
            "csrf_token": csrf,
            "sql": 'SELECT count(*) AS n FROM "patient-visits"',
            "project": str(project),
        },
    )
    assert ran.status_code == 200, ran.text[:300]
    client.cookies.clear()
    return project


def test_an_entry_reads_as_a_sentence(client: TestClient, used: int) -> None:
    sign_in(client, "operator")
    html = client.get("/audit").text
    assert (
        "researcher (researcher) queried dataset patient-visits for project "
        'Clinic load forecasting — <strong class="audit-result">allowed</strong>'
    ) in html
    assert (
        "cnuh (steward) approved a request for dataset patient-visits for project "
        "Clinic load forecasting"
    ) in html
    assert 'id="chain-status"' in html
    assert "all" in html
    assert "entries verified just now" in html


def test_the_sentences_are_korean_on_a_korean_page(client: TestClient, used: int) -> None:
    sign_in(client, "operator")
    html = client.get("/audit?lang=ko").text
    assert "researcher(연구자) 님이 데이터셋 patient-visits을(를) 조회함" in html
    assert "queried dataset" not in html


def test_a_refusal_says_refused_and_why(client: TestClient, app: FastAPI, city: City) -> None:
    csrf = sign_in(client, "researcher")
    client.post("/query", data={"csrf_token": csrf, "sql": 'SELECT * FROM "patient-visits"'})
    html = client.get("/audit").text
    assert "researcher (researcher) queried dataset patient-visits — " in html
    assert '<strong class="audit-result">refused</strong>: <span class="audit-reason">' in html


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("actor=cnuh", "cnuh (steward) approved", "researcher (researcher) queried"),
        ("dataset=household-electricity", "created dataset household-electricity", "patient"),
        ("action=access_request", "asked for dataset patient-visits", "queried dataset"),
    ],
)
def test_filters_narrow_the_entries(
    client: TestClient, used: int, query: str, present: str, absent: str
) -> None:
    sign_in(client, "operator")
    html = client.get(f"/audit?{query}").text
    assert present in html
    assert absent not in html


def test_a_date_range_keeps_the_entries_of_those_days(client: TestClient, used: int) -> None:
    sign_in(client, "operator")
    today = datetime.now(UTC).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert "queried dataset" in client.get(f"/audit?from={today}&to={today}").text
    assert 'id="entry-' not in client.get(f"/audit?from={tomorrow}").text
    assert 'id="entry-' not in client.get(f"/audit?to={(today - timedelta(days=1))}").text


def test_a_date_that_is_not_one_is_refused_saying_how_to_write_it(
    client: TestClient, city: City
) -> None:
    sign_in(client, "operator")
    refused = client.get("/audit?from=31/12/2026", headers={"accept": "text/html"})
    assert refused.status_code == 422
    assert "write it as 2026-12-31" in refused.text


def test_the_csv_holds_the_filtered_entries_with_formulas_neutralised(
    client: TestClient, app: FastAPI, settings: Settings, used: int
) -> None:
    with app.state.sessionmaker() as session:
        account_actions.create_user(
            session,
            username="mallory",
            password=PASSWORD,
            role=Role.citizen,
            display_name='=HYPERLINK("http://evil.example")',
            settings=settings,
        )
    sign_in(client, "mallory")
    client.cookies.clear()
    sign_in(client, "operator")
    exported = client.get("/audit.csv?lang=en")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    sentences = [r["sentence"] for r in rows]
    assert '\'=HYPERLINK("http://evil.example") (citizen) signed in' in sentences
    assert not any(s.startswith("=") for s in sentences)
    only_cnuh = list(csv.DictReader(io.StringIO(client.get("/audit.csv?actor=cnuh").text)))
    assert only_cnuh
    assert {r["actor"] for r in only_cnuh} == {"cnuh"}


def test_everyone_else_reads_only_their_own_entries(client: TestClient, used: int) -> None:
    sign_in(client, "kepco")
    html = client.get("/audit").text
    assert "kepco (steward)" in html
    assert "researcher (researcher) queried dataset patient-visits" not in html
    rows = list(csv.DictReader(io.StringIO(client.get("/audit.csv").text)))
    assert {r["actor"] for r in rows} <= {"kepco"} | {"system"}


def test_a_broken_chain_is_shown_to_the_operator(
    client: TestClient, app: FastAPI, used: int
) -> None:
    with app.state.sessionmaker() as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.seq == 3).values(detail={"edited": True})
        )
        session.commit()
    sign_in(client, "operator")
    html = client.get("/audit").text
    assert "hash chain is broken at entry 3: its content was changed" in html
    assert "audit chain BROKEN" in client.get("/hub").text


def test_the_audit_page_needs_a_signed_in_reader(client: TestClient, city: City) -> None:
    assert client.get("/audit", headers={"accept": "text/html"}).status_code == 401
    assert client.get("/audit.csv", headers={"accept": "text/html"}).status_code == 401
