"""A DP release on a donated-data pool after a donor withdraws reads the pool without that
donor: the door decides at the new consent epoch, and the per-person counts and the bounded copy
the DP door keeps are made again from the consent-filtered copy instead of being found under
the key of the copy made before the withdrawal."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.mydata.conftest import DONORS, MONTHS, POOL, DonorCity, consent_of

from bitgoeul.config import Settings
from bitgoeul.dp import actions as dp
from bitgoeul.dp.models import DpBoundedCopy, DpPersonRows
from bitgoeul.dp.schemas import DpRequest, MeasureBounds, ProfileIn, Release
from bitgoeul.models import AuditEvent
from bitgoeul.mydata import actions as mydata
from bitgoeul.mydata.models import DONOR_COLUMN

# Every donor gives three months; two rows per person keeps the release bounded, so each
# release reads a bounded copy of the pool's (consent-filtered) view.
MAX_ROWS = 2
WITHDRAWING = 3


def _release(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity, epsilon: float
) -> Release:
    member = town.cast.actors["member"]
    request = DpRequest.model_validate(
        {
            "dataset": POOL,
            "project": town.project_id,
            "measures": [{"kind": "count"}],
            "epsilon": epsilon,
        }
    )
    quote = dp.quote(db, settings=settings, actor=member, request=request)
    return dp.release(db, settings=settings, store=app.state.store, actor=member, token=quote.token)


def _release_decisions(db: Session) -> list[dict[str, Any]]:
    db.expire_all()
    return [
        dict(event.detail)
        for event in db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "dataset.dp_release_decision",
                AuditEvent.resource_id == POOL,
            )
            .order_by(AuditEvent.seq)
        )
    ]


def test_a_dp_release_after_a_donor_withdraws_counts_the_pool_without_that_donor(
    db: Session, settings: Settings, app: FastAPI, town: DonorCity
) -> None:
    steward = town.hub_steward
    dp.set_profile(
        db,
        actor=steward,
        slug=POOL,
        profile=ProfileIn(
            person_column=DONOR_COLUMN,
            max_rows_per_person=MAX_ROWS,
            keys={"district": ["Buk", "Seo", "Nam"]},
            measures={"kwh": MeasureBounds(lower=0, upper=1000)},
        ),
    )
    dp.set_budget(db, actor=steward, slug=POOL, project_id=None, epsilon=100)
    dp.set_budget(db, actor=steward, slug=POOL, project_id=town.project_id, epsilon=100)

    first = _release(db, settings, app, town, epsilon=5.0)
    assert not first.repeated
    assert len(MONTHS) > MAX_ROWS  # so the release must bound, through a bounded copy
    copies = list(db.scalars(select(DpBoundedCopy)))
    assert [c.row_count for c in copies] == [DONORS * MAX_ROWS]

    mydata.withdraw_consent(
        db,
        settings=settings,
        actor=town.citizens[WITHDRAWING],
        consent_id=consent_of(db, town, WITHDRAWING),
    )
    # A different request (an identical one would return the stored answer of the first).
    second = _release(db, settings, app, town, epsilon=4.0)
    assert not second.repeated
    assert second.version == first.version  # a withdrawal does not republish the pool

    before, after = _release_decisions(db)
    assert (before["donors_included"], before["donors_excluded"]) == (DONORS, 0)
    assert (after["donors_included"], after["donors_excluded"]) == (DONORS - 1, 1)
    assert int(after["consent_epoch"]) > int(before["consent_epoch"])

    # The second release did not find the first's bounded copy or person counts: both were
    # made again, under new keys, from the donors still covered.
    db.expire_all()
    copies = list(db.scalars(select(DpBoundedCopy).order_by(DpBoundedCopy.id)))
    assert [c.row_count for c in copies] == [DONORS * MAX_ROWS, (DONORS - 1) * MAX_ROWS]
    assert copies[0].view_sha256 != copies[1].view_sha256
    counted = list(db.scalars(select(DpPersonRows).order_by(DpPersonRows.id)))
    assert len({c.view_sha256 for c in counted}) == 2
    assert {c.view_sha256 for c in counted} == {c.view_sha256 for c in copies}

    # The released counts: noise of scale MAX_ROWS/ε (0.4, then 0.5) around the exact ones;
    # one person's rows are hidden by design, so the exact drop is asserted on the copies above.
    # Within ±10 (twenty scales: a chance of about 1e-9 to fail), so the test never flakes.
    assert first.columns == second.columns == ["count"]
    assert abs(first.rows[0][0] - DONORS * MAX_ROWS) <= 10
    assert abs(second.rows[0][0] - (DONORS - 1) * MAX_ROWS) <= 10
