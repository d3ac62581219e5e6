"""Consent events are append-only in the database itself (revision
0025_consent_events_append_only): raw SQL cannot change or delete one, on SQLite and on
PostgreSQL (``BITGOEUL_TEST_DATABASE_URL``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.mydata.conftest import DonorCity

from bitgoeul.mydata.models import ConsentEvent


def _first_event(db: Session) -> ConsentEvent:
    event = db.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).first()
    assert event is not None
    return event


def test_a_raw_sql_update_of_a_consent_event_is_refused(db: Session, town: DonorCity) -> None:
    event = _first_event(db)
    shown = event.text_en
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(
            text(
                "UPDATE mydata_consent_events SET text_en = 'I agreed to everything' WHERE id = :i"
            ),
            {"i": event.id},
        )
    db.rollback()
    assert _first_event(db).text_en == shown


def test_a_raw_sql_delete_of_a_consent_event_is_refused(db: Session, town: DonorCity) -> None:
    before = len(db.scalars(select(ConsentEvent.id)).all())
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("DELETE FROM mydata_consent_events"))
    db.rollback()
    assert len(db.scalars(select(ConsentEvent.id)).all()) == before


def test_only_clearing_the_actor_of_a_deleted_account_passes(db: Session, town: DonorCity) -> None:
    """The account-deletion cascade (``actor_id`` set to NULL) is the one change allowed; the
    same statement changing anything else is refused."""
    event = _first_event(db)
    db.execute(
        text("UPDATE mydata_consent_events SET actor_id = NULL WHERE id = :i"), {"i": event.id}
    )
    db.commit()
    db.expire_all()
    assert _first_event(db).actor_id is None
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(
            text("UPDATE mydata_consent_events SET actor_id = NULL, epoch = 99 WHERE id = :i"),
            {"i": event.id},
        )
    db.rollback()
