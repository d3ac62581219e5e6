"""Withdrawal is effective at the next use: queries and job inputs, audited with the consent
epoch and the number of donors left out."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pyarrow.parquet as pq
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.mydata.conftest import (
    DONORS,
    MONTHS,
    POOL,
    Ask,
    DonorCity,
    consent_of,
    kwh,
    make_project,
    rows_of,
)

from bitgoeul.compute import inputs
from bitgoeul.compute.actions import job_door
from bitgoeul.config import Settings
from bitgoeul.governance.models import Purpose
from bitgoeul.models import AuditEvent
from bitgoeul.mydata import actions
from bitgoeul.mydata.models import DONOR_COLUMN

TOTAL = f'SELECT count(*) AS n, sum(kwh) AS total FROM "{POOL}"'


def _expected(donors: list[int]) -> tuple[int, int]:
    return len(donors) * len(MONTHS), sum(kwh(h, m) for h in donors for m in MONTHS)


def _last_query_decision(db: Session) -> dict[str, object]:
    event = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "dataset.query_decision", AuditEvent.resource_id == POOL)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).one()
    return dict(event.detail)


def test_a_withdrawal_between_two_queries_removes_the_donor_from_the_second(
    db: Session, settings: Settings, town: DonorCity, ask: Ask
) -> None:
    first = rows_of(ask(TOTAL))[0]
    assert (first["n"], first["total"]) == _expected(list(range(DONORS)))
    before = _last_query_decision(db)
    assert before["donors_included"] == DONORS
    assert before["donors_excluded"] == 0

    actions.withdraw_consent(
        db, settings=settings, actor=town.citizens[3], consent_id=consent_of(db, town, 3)
    )

    second = rows_of(ask(TOTAL))[0]
    remaining = [h for h in range(DONORS) if h != 3]
    assert (second["n"], second["total"]) == _expected(remaining)
    after = _last_query_decision(db)
    assert after["donors_excluded"] == 1
    assert after["donors_included"] == DONORS - 1
    assert int(after["consent_epoch"]) > int(before["consent_epoch"])  # type: ignore[call-overload]


def test_a_project_whose_purpose_no_donor_chose_reads_no_rows(
    db: Session, town: DonorCity, ask: Ask
) -> None:
    other = make_project(db, town, Purpose.commercial_product_development, title="Ads")
    result = ask(TOTAL, project=other)
    # Nobody's consent covers it: the single group has fewer people than k and is suppressed.
    assert result.rows == [] or rows_of(result)[0]["n"] in (0, None)
    assert _last_query_decision(db)["donors_included"] == 0


def _job_input(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity, folder: Path
) -> set[str]:
    """A job's inputs, decided and written through the job door as the runner does."""
    actor = town.cast.actors["member"]
    door = job_door(db, actor=actor, project_id=town.project_id, datasets=[POOL])
    with door:
        granted = inputs.decide_inputs(
            db, door, actor=actor, project_id=town.project_id, references=[(POOL, None)]
        )
        inputs.materialize(granted, door, settings=settings, store=app.state.store, dest=folder)
        db.commit()
    table = pq.read_table(folder / f"{POOL}.parquet")
    return set(table.column(DONOR_COLUMN).to_pylist())


def test_a_withdrawal_between_two_job_submissions_removes_the_donor_from_the_second(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity
) -> None:
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        first = _job_input(db, settings, app, town, Path(one))
        # Only donors whose tier allows jobs (even-numbered citizens) are in a job's input.
        assert len(first) == len(range(0, DONORS, 2))
        actions.withdraw_consent(
            db, settings=settings, actor=town.citizens[4], consent_id=consent_of(db, town, 4)
        )
        second = _job_input(db, settings, app, town, Path(two))
    assert len(second) == len(first) - 1
    assert len(first - second) == 1


def test_a_withdrawal_racing_a_running_query_applies_from_the_next_query(
    app: FastAPI, settings: Settings, town: DonorCity, ask: Ask
) -> None:
    """Queries run in threads while the withdrawal commits: each sees all donors or all but
    one (never a partial donor), and every query after the commit sees all but one."""
    full = _expected(list(range(DONORS)))
    less = _expected([h for h in range(DONORS) if h != 5])
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def query() -> None:
        try:
            with app.state.sessionmaker() as session:
                row = rows_of(ask(TOTAL, session=session))[0]
                seen.append((row["n"], row["total"]))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=query) for _ in range(4)]
    for thread in threads:
        thread.start()
    with app.state.sessionmaker() as session:
        actions.withdraw_consent(
            session,
            settings=settings,
            actor=town.citizens[5],
            consent_id=consent_of(session, town, 5),
        )
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert set(seen) <= {full, less}
    with app.state.sessionmaker() as session:
        row = rows_of(ask(TOTAL, session=session))[0]
    assert (row["n"], row["total"]) == less


def test_a_donor_sees_every_use_with_project_purpose_organization_door_and_time(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity, ask: Ask
) -> None:
    from datetime import UTC, datetime, timedelta

    from bitgoeul.accounts.models import Organization
    from bitgoeul.mydata import queries

    started = datetime.now(UTC) - timedelta(seconds=1)
    ask(TOTAL)
    with tempfile.TemporaryDirectory() as folder:
        _job_input(db, settings, app, town, Path(folder))
    lead = db.get(Organization, town.cast.actors["member"].organization_id)
    assert lead is not None
    # Newest first.  Citizen 0 (tier jobs) was read by both; citizen 1 (aggregates only) by
    # the query alone.
    for citizen, doors in ((0, ["job", "query"]), (1, ["query"])):
        uses = queries.uses(db, actor=town.citizens[citizen])
        assert [u.door for u in uses] == doors
        for use in uses:
            assert use.project == town.project_id
            assert use.project_title == "Study"
            assert use.purpose == Purpose.academic_research.value
            assert use.organization == lead.name
            assert use.at.replace(tzinfo=use.at.tzinfo or UTC) >= started
            assert use.consent_epoch is not None
