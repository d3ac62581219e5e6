"""The audit log is hash-chained: any edit, deletion or reordering is detected."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bitgoeul.audit.actions import GENESIS_HASH, record_event
from bitgoeul.audit.models import AuditEvent
from bitgoeul.audit.queries import verify_chain


def _write_events(db: Session, count: int = 5) -> None:
    for i in range(count):
        record_event(
            db,
            action="dataset.viewed",
            actor_name=f"user{i}",
            resource_type="dataset",
            resource_id=f"ds-{i}",
            detail={"note": f"event {i}", "한글": "전력"},
        )
    db.commit()


def test_an_untouched_log_verifies(db: Session) -> None:
    _write_events(db)
    report = verify_chain(db)
    assert report.ok
    assert report.checked == 5


def test_an_empty_log_verifies(db: Session) -> None:
    assert verify_chain(db).ok


def test_first_event_links_to_the_genesis_hash(db: Session) -> None:
    _write_events(db, 1)
    first = db.scalars(select(AuditEvent)).one()
    assert first.prev_hash == GENESIS_HASH
    assert first.seq == 1


def test_an_edited_entry_is_named(db: Session) -> None:
    _write_events(db)
    db.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor_name="mallory"))
    db.commit()
    report = verify_chain(db)
    assert not report.ok
    assert report.first_broken_seq == 3
    assert "changed" in report.reason


def test_an_edited_detail_is_named(db: Session) -> None:
    _write_events(db)
    db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(detail={"note": "other"}))
    db.commit()
    assert verify_chain(db).first_broken_seq == 2


def test_a_deleted_entry_is_named(db: Session) -> None:
    _write_events(db)
    db.delete(db.scalars(select(AuditEvent).where(AuditEvent.seq == 4)).one())
    db.commit()
    report = verify_chain(db)
    assert not report.ok
    assert report.first_broken_seq == 4
    assert "missing" in report.reason


def test_swapped_entries_are_detected(db: Session) -> None:
    _write_events(db)
    # Swap the contents of entries 2 and 3 while keeping their sequence numbers.
    two, three = (db.scalars(select(AuditEvent).where(AuditEvent.seq == n)).one() for n in (2, 3))
    fields = ("actor_name", "resource_id", "detail")
    values_two = {f: getattr(two, f) for f in fields}
    values_three = {f: getattr(three, f) for f in fields}
    db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(**values_three))
    db.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(**values_two))
    db.commit()
    report = verify_chain(db)
    assert not report.ok
    assert report.first_broken_seq == 2


def test_a_rewritten_tail_with_recomputed_hash_still_breaks_the_next_link(db: Session) -> None:
    _write_events(db)
    db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(hash="f" * 64))
    db.commit()
    report = verify_chain(db)
    assert not report.ok
    assert report.first_broken_seq == 2


def test_concurrent_writers_keep_one_unbroken_chain(app: FastAPI) -> None:
    """Requests audit in parallel (threads here, processes in production); none may fail."""
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        for n in range(10):
            try:
                with app.state.sessionmaker() as session:
                    session.execute(select(AuditEvent.seq).limit(1)).all()
                    record_event(session, action="query.run", actor_name=f"w{worker}-{n}")
                    session.commit()
            except BaseException as error:  # collected and asserted below
                failures.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.state.sessionmaker() as session:
        report = verify_chain(session)
    assert report.ok
    assert report.checked == 40
