"""The door's consent-filtered copy of a pool: written at the first use after a consent change,
read (after its SHA-256 check) by later uses, replaced at the next use after a withdrawal, and
refused when changed in the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.mydata.conftest import DONORS, MONTHS, POOL, Ask, DonorCity, consent_of, kwh, rows_of

from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.governance import donor_copies
from bitgoeul.governance.donor_copies import SUPERSEDED_GRACE
from bitgoeul.governance.doors import DataChanged
from bitgoeul.governance.models import DonorCopy, Notification
from bitgoeul.models import AuditEvent
from bitgoeul.mydata import actions
from bitgoeul.mydata.models import DONOR_COLUMN, Donation
from bitgoeul.storage.integrity import IntegrityFailed

TOTAL = f'SELECT count(*) AS n, sum(kwh) AS total FROM "{POOL}"'


def _expected(donors: list[int]) -> tuple[int, int]:
    return len(donors) * len(MONTHS), sum(kwh(h, m) for h in donors for m in MONTHS)


def _copies(db: Session) -> list[DonorCopy]:
    db.expire_all()
    return list(db.scalars(select(DonorCopy).order_by(DonorCopy.id)))


def _withdraw(db: Session, settings: Settings, town: DonorCity, citizen: int) -> None:
    actions.withdraw_consent(
        db,
        settings=settings,
        actor=town.citizens[citizen],
        consent_id=consent_of(db, town, citizen),
    )


def test_the_first_query_writes_the_filtered_copy_and_the_next_one_reads_it(
    db: Session, app: FastAPI, town: DonorCity, ask: Ask
) -> None:
    first = rows_of(ask(TOTAL))[0]
    [copy] = _copies(db)
    second = rows_of(ask(TOTAL))[0]
    assert first == second
    assert [c.id for c in _copies(db)] == [copy.id]  # read again, not written again
    assert app.state.store.exists(copy.object_key)
    held = pq.read_table(app.state.store.local_file(copy.object_key))
    assert held.num_rows == copy.row_count == DONORS * len(MONTHS)


def test_a_withdrawal_writes_a_new_copy_without_the_donor_and_keeps_the_old_one_a_grace(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity, ask: Ask
) -> None:
    """The older epoch's copy outlives its supersession by ``SUPERSEDED_GRACE`` (a query decided
    just before the withdrawal may still be reading it), is never read by a new query, and is
    deleted, audited, by the first copy written after the grace."""
    ask(TOTAL)
    [old] = _copies(db)
    _withdraw(db, settings, town, 3)

    second = rows_of(ask(TOTAL))[0]
    assert (second["n"], second["total"]) == _expected([h for h in range(DONORS) if h != 3])
    kept, new = _copies(db)
    assert kept.id == old.id
    assert new.epoch > old.epoch
    assert app.state.store.exists(old.object_key)  # within the grace
    held = pq.read_table(app.state.store.local_file(new.object_key))
    donation = db.get(Donation, town.donations[3])
    assert donation is not None
    assert donation.donor_key not in set(held.column(DONOR_COLUMN).to_pylist())

    # The grace passes; the next withdrawal's copy deletes the first one, not the second.
    new.created_at = utcnow() - SUPERSEDED_GRACE - timedelta(seconds=1)
    db.commit()
    _withdraw(db, settings, town, 4)
    third = rows_of(ask(TOTAL))[0]
    assert (third["n"], third["total"]) == _expected([h for h in range(DONORS) if h not in (3, 4)])
    assert [c.id for c in _copies(db)][:1] == [new.id]
    assert old.id not in {c.id for c in _copies(db)}
    assert not app.state.store.exists(old.object_key)
    assert app.state.store.exists(new.object_key)  # superseded only now
    deleted = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.donor_copies_deleted")
    ).all()
    assert [e.detail["consent_epochs"] for e in deleted] == [[old.epoch]]
    assert deleted[0].resource_id == POOL


def test_a_copy_deleted_between_decision_and_read_is_a_retryable_error_not_an_alarm(
    db: Session, app: FastAPI, town: DonorCity, ask: Ask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A consent change deletes the copy a query was decided to read just before it opens it:
    the query answers 409 "run it again", audited as refused and retryable, and no operator is
    told of an integrity failure; the next query runs."""
    ask(TOTAL)
    found = donor_copies.find

    def deleted_meanwhile(*args: Any, **kwargs: Any) -> DonorCopy | None:
        copy = found(*args, **kwargs)
        if copy is not None:
            app.state.store.delete(copy.object_key)
        return copy

    monkeypatch.setattr(donor_copies, "find", deleted_meanwhile)
    with pytest.raises(DataChanged, match="Run it again") as raised:
        ask(TOTAL)
    assert raised.value.status_code == 409
    db.rollback()
    assert not db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.integrity_failed")
    ).all()
    assert not db.scalars(
        select(Notification).where(Notification.kind == "dataset.integrity_failed")
    ).all()
    last = [
        e
        for e in db.scalars(select(AuditEvent).where(AuditEvent.resource_id == POOL))
        if "door_outcome" in (e.detail or {})
    ][-1]
    assert last.detail["door_outcome"] == "refused"
    assert last.detail["retryable"]
    monkeypatch.undo()
    assert rows_of(ask(TOTAL))[0]["n"] == DONORS * len(MONTHS)


def test_a_changed_copy_is_refused_audited_and_reported_to_operators(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity, ask: Ask
) -> None:
    """Someone puts the withdrawn donor's rows back into the stored copy: the next query is
    refused before reading it, and the refusal is audited as an integrity failure."""
    _withdraw(db, settings, town, 3)
    ask(TOTAL)
    [copy] = _copies(db)
    version = db.scalars(
        select(DatasetVersion)
        .join(Dataset)
        .where(Dataset.slug == POOL)
        .order_by(DatasetVersion.number.desc())
    ).first()
    assert version is not None
    everyone = pq.read_table(app.state.store.local_file(version.object_key))
    pq.write_table(everyone, app.state.store.local_file(copy.object_key))

    with pytest.raises(IntegrityFailed, match="consent-filtered copy"):
        ask(TOTAL)
    db.rollback()
    failures = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.integrity_failed")
    ).all()
    assert failures
    assert failures[-1].resource_id == POOL
    assert failures[-1].detail["expected_sha256"] == copy.sha256
    assert db.scalars(
        select(Notification).where(Notification.kind == "dataset.integrity_failed")
    ).all()
