"""Compute credits: grants by operators, reservations that never overdraw, fair share."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.compute.job_city import JobCity

from bitgoeul.accounts.models import Organization
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute import credits
from bitgoeul.compute.models import CreditAccount, CreditEntry, Job, JobStatus, ReleaseStatus
from bitgoeul.compute.runner import JobRunner
from bitgoeul.errors import AccessDenied


def _grant(api: TestClient, job_city: JobCity, who: str, **body: Any) -> Any:
    return api.post("/api/v1/credits/grants", json=body, headers=job_city.headers(who))


def test_operators_grant_credits_and_organizations_see_balance_and_history(
    api: TestClient, job_city: JobCity
) -> None:
    granted = _grant(
        api, job_city, "operator", organization="gist-lab", cpu_hours="5.5", gpu_hours="2"
    )
    assert granted.status_code == 200, granted.text
    assert Decimal(granted.json()["cpu_hours"]) == Decimal("15.5")
    assert Decimal(granted.json()["gpu_hours"]) == Decimal(2)
    mine = api.get("/api/v1/credits", headers=job_city.headers("member")).json()
    assert mine["organization"] == "gist-lab"
    assert [(e["kind"], e["reason"]) for e in mine["history"][:2]] == [
        ("gpu", "grant"),
        ("cpu", "grant"),
    ]


@pytest.mark.parametrize("who", ["member", "steward_of_publisher", "anonymous"])
def test_only_operators_grant(api: TestClient, job_city: JobCity, who: str) -> None:
    response = _grant(api, job_city, who, organization="gist-lab", cpu_hours="100")
    assert response.status_code in (401, 403)


def test_others_balances_are_for_operators_only(api: TestClient, job_city: JobCity) -> None:
    other = api.get(
        "/api/v1/credits",
        params={"organization": "gist-lab"},
        headers=job_city.headers("steward_of_publisher"),
    )
    assert other.status_code == 403
    operator = api.get(
        "/api/v1/credits", params={"organization": "gist-lab"}, headers=job_city.headers("operator")
    )
    assert operator.status_code == 200


def test_a_withdrawal_may_not_take_the_balance_below_zero(
    api: TestClient, job_city: JobCity
) -> None:
    response = _grant(api, job_city, "operator", organization="gist-lab", cpu_hours="-11")
    assert response.status_code == 422
    assert "below zero" in response.json()["detail"]
    balance = api.get("/api/v1/credits", headers=job_city.headers("member")).json()
    assert Decimal(balance["cpu_hours"]) == Decimal(10)


def test_concurrent_reservations_never_overdraw(
    app: FastAPI, db: Session, job_city: JobCity
) -> None:
    """Twelve threads each reserve 1 CPU-hour of the lab's 10 at the same moment: exactly ten
    succeed and the balance ends at zero (on PostgreSQL, row locks; on SQLite, its write lock)."""
    lab = db.scalars(select(Organization).where(Organization.slug == "gist-lab")).one()
    job_ids = []
    for _ in range(12):
        job = Job(
            project_id=job_city.project_id,
            organization_id=lab.id,
            status=JobStatus.queued,
            executor="local",
            environment="default",
            entrypoint="main.py",
            cpus=1,
            memory_mb=64,
            time_limit_s=3600,
            code_sha256="0" * 64,
            release_status=ReleaseStatus.not_required,
        )
        db.add(job)
        db.flush()
        job_ids.append(job.id)
    db.commit()
    start = threading.Barrier(12)
    outcomes: list[str] = []
    lock = threading.Lock()

    def reserve(n: int) -> None:
        start.wait(timeout=30)
        with app.state.sessionmaker() as session:
            try:
                compute_actions.reserve_credits(
                    session,
                    organization_id=lab.id,
                    cost=credits.worst_case(cpus=1, gpus=0, time_limit_s=3600),
                    job_id=job_ids[n],
                    organization_name=lab.name,
                )
                session.commit()
                result = "ok"
            except AccessDenied:
                session.rollback()
                result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * 10 + ["refused"] * 2
    db.expire_all()
    account = db.get(CreditAccount, lab.id)
    assert account is not None
    assert account.cpu_hours == Decimal(0)
    ledger = db.scalar(
        select(func.sum(CreditEntry.hours)).where(CreditEntry.organization_id == lab.id)
    )
    assert Decimal(ledger) == Decimal(0)


def test_the_queue_orders_by_priority_then_fair_share_then_age(
    db: Session, job_city: JobCity, runner: JobRunner
) -> None:
    lab = db.scalars(select(Organization).where(Organization.slug == "gist-lab")).one()
    kepco = db.scalars(select(Organization).where(Organization.slug == "kepco")).one()

    def job(org: Organization, *, priority: int = 0, status: JobStatus = JobStatus.queued) -> Job:
        made = Job(
            project_id=job_city.project_id,
            organization_id=org.id,
            status=status,
            priority=priority,
            executor="local",
            environment="default",
            entrypoint="main.py",
            cpus=1,
            memory_mb=64,
            time_limit_s=60,
            code_sha256="0" * 64,
            release_status=ReleaseStatus.not_required,
        )
        db.add(made)
        db.flush()
        return made

    job(lab, status=JobStatus.running)  # the lab already uses a core
    lab_first = job(lab)
    kepco_later = job(kepco)
    urgent = job(lab, priority=5)
    db.commit()
    order = [j.id for j in runner.next_jobs(db)]
    assert order == [urgent.id, kepco_later.id, lab_first.id]
