"""After the period and the retention: consents expire with an event, a receipt and the text
shown; a withdrawn donor's raw rows are deleted from the store and the pool; a pool never
becomes a testbed's test input; an uploaded file's problem is named by row and column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.mydata.conftest import DONORS, MONTHS, POOL, Ask, DonorCity, consent_of

from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import Door, Request
from bitgoeul.governance.queries import decision_context
from bitgoeul.models import AuditEvent
from bitgoeul.mydata import actions, receipts
from bitgoeul.mydata.models import (
    DONOR_COLUMN,
    Consent,
    ConsentEvent,
    ConsentStatus,
    Donation,
    DonationStatus,
    Receipt,
)


def test_a_consent_past_its_period_expires_with_an_event_its_text_and_a_receipt(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity
) -> None:
    consent = db.get(Consent, consent_of(db, town, 1))
    assert consent is not None
    later = consent.ends_at + timedelta(minutes=1)
    report = actions.sweep(db, settings=settings, store=app.state.store, now=later)
    assert report.expired == DONORS
    db.refresh(consent)
    assert consent.status == ConsentStatus.expired
    events = db.scalars(
        select(ConsentEvent).where(ConsentEvent.consent_id == consent.id).order_by(ConsentEvent.id)
    ).all()
    assert [e.kind.value for e in events] == ["given", "expired"]
    assert "no longer covers any use" in events[-1].text_en
    assert events[-1].text_ko
    assert events[-1].text_ko != events[-1].text_en
    receipt = db.scalars(select(Receipt).where(Receipt.event_id == events[-1].id)).one()
    assert receipts.verify(receipt.document).valid
    assert receipt.document["event"]["type"] == "expired"
    # Sweeping again changes nothing: every event is written once.
    assert actions.sweep(db, settings=settings, store=app.state.store, now=later).expired == 0


def _pool_donors(db: Session, app: FastAPI) -> set[str]:
    pool = db.scalars(select(Dataset).where(Dataset.slug == POOL)).one()
    latest = db.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == pool.id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).one()
    with app.state.store.open(latest.object_key) as handle:
        return set(pq.read_table(handle).column(DONOR_COLUMN).to_pylist())


def test_a_withdrawn_donors_raw_rows_are_deleted_after_the_retention_and_not_before(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity, ask: Ask
) -> None:
    store = app.state.store
    donation = db.get(Donation, town.donations[3])
    assert donation is not None
    stored = donation.object_key
    assert store.exists(stored)
    consent = db.get(Consent, consent_of(db, town, 3))
    assert consent is not None
    consent.retention_days = 30
    db.commit()
    withdrawn_at = datetime.now(UTC)
    actions.withdraw_consent(
        db, settings=settings, actor=town.citizens[3], consent_id=consent.id, now=withdrawn_at
    )
    assert donation.donor_key in _pool_donors(db, app)  # kept during the retention

    early = actions.sweep(db, settings=settings, store=store, now=withdrawn_at + timedelta(days=29))
    assert early.deleted == 0
    assert store.exists(stored)

    done = actions.sweep(db, settings=settings, store=store, now=withdrawn_at + timedelta(days=31))
    assert done.deleted == 1
    db.refresh(donation)
    assert donation.status == DonationStatus.deleted
    assert donation.object_key == ""
    assert not store.exists(stored)
    assert donation.donor_key not in _pool_donors(db, app)
    assert len(_pool_donors(db, app)) == DONORS - 1
    entry = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "mydata.donation_deleted",
            AuditEvent.resource_id == str(donation.id),
        )
    ).one()
    assert entry.detail["reason"] == "retention ended"
    assert entry.detail["rows"] == len(MONTHS)
    remaining = ask(f'SELECT count(*) AS n FROM "{POOL}"')
    assert remaining.rows[0][0] == (DONORS - 1) * len(MONTHS)


def test_a_pool_is_never_a_testbeds_test_input(db: Session, town: DonorCity) -> None:
    """The decision point refuses the testbed's doors on donated data, whoever asks."""
    pool = db.scalars(select(Dataset).where(Dataset.slug == POOL)).one()
    version = db.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == pool.id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).one()
    for who in ("operator", "member"):
        actor = town.cast.actors[who]
        context = decision_context(
            db, actor=actor, dataset=pool, version=version, project_id=town.project_id
        )
        for action in (DataAction.testbed_inputs, DataAction.testbed_score):
            door = Door(db, actor=actor, event="dataset.testbed_inputs_decision")
            with pytest.raises(AccessDenied, match="testbed"), door:
                door.admit([Request(action, pool, version, context)])
    refused = db.scalars(
        select(AuditEvent).where(
            AuditEvent.resource_id == POOL, AuditEvent.action == "dataset.testbed_inputs_decision"
        )
    ).all()
    assert len(refused) == 4
    assert all(e.outcome == "denied" for e in refused)


def test_an_uploaded_file_with_a_bad_cell_is_refused_naming_its_row_and_column(
    api: TestClient, town: DonorCity
) -> None:
    response = api.post(
        "/api/v1/mydata/donations/upload",
        data={"source": "kepco-meter"},
        files={"file": ("meter.csv", b"district,month,kwh\nBuk,1,120\nBuk,2,lots\n", "text/csv")},
        headers=town.headers(DONORS),
    )
    assert response.status_code == 422
    report = response.json()["detail"]
    assert report["file"] == "meter.csv"
    (error,) = report["errors"]
    assert (error["row"], error["field"], error["value"]) == (3, "kwh", "lots")
    assert error["message"] == "Row 3, column 'kwh': 'lots' is not a valid integer."
    assert api.get("/api/v1/mydata/donations", headers=town.headers(DONORS)).json() == []


def test_the_worker_sweeps_my_data_between_jobs(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity
) -> None:
    """``bitgoeul worker`` runs the same sweep between jobs: a consent past its period expires."""
    from bitgoeul.cli.server import sweep_my_data

    consent = db.get(Consent, consent_of(db, town, 0))
    assert consent is not None
    consent.ends_at = datetime.now(UTC) - timedelta(minutes=1)
    db.commit()
    sweep_my_data(settings, app.state.sessionmaker)
    db.refresh(consent)
    assert consent.status == ConsentStatus.expired


def test_setting_up_a_testbed_task_on_a_pool_is_decided_with_its_consents_and_refused(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity
) -> None:
    """Task setup reads the test set's labels through the door with the pool's decision
    context: the decision point sees donated data (no project, so no donor's consent covers
    it) and refuses, audited under the pool; no task is made and no label was read."""
    from bitgoeul.testbed import actions as testbed_actions
    from bitgoeul.testbed.models import TestbedTask
    from bitgoeul.testbed.schemas import TaskCreate

    pool = db.scalars(select(Dataset).where(Dataset.slug == POOL)).one()
    pool.holdout = True
    db.commit()
    now = datetime.now(UTC)
    data = TaskCreate(
        slug="donated-demand",
        title="Donated demand",
        sector=pool.sector,
        problem="Predict kwh.",
        metric="mae",
        test_dataset=POOL,
        id_column="month",
        label_column="kwh",
        terms="No re-identification.",
        opens_at=now,
        final_phase_at=now + timedelta(days=10),
        deadline=now + timedelta(days=20),
    )
    with pytest.raises(AccessDenied, match="donated data"):
        testbed_actions.create_task(
            db, settings=settings, store=app.state.store, actor=town.hub_steward, data=data
        )
    db.rollback()
    assert db.scalars(select(TestbedTask)).all() == []
    [entry] = db.scalars(
        select(AuditEvent).where(
            AuditEvent.resource_id == POOL, AuditEvent.action == "dataset.testbed_setup"
        )
    ).all()
    assert entry.outcome == "denied"
    assert "donated data" in entry.detail["reason"]
