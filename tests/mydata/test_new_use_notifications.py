"""Donors are told once when a new project starts using their donated data (``notify_new_uses``,
run by the sweep and the pages)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.mydata.conftest import DONORS, POOL, Ask, DonorCity, consent_of, make_project

from bitgoeul.config import Settings
from bitgoeul.governance.models import Notification, Purpose
from bitgoeul.mydata import actions
from bitgoeul.mydata.schemas import ConsentIn

TOTAL = f'SELECT count(*) AS n FROM "{POOL}"'


def _told(db: Session) -> Counter[int]:
    db.expire_all()
    return Counter(
        db.scalars(select(Notification.user_id).where(Notification.kind == "mydata.new_project"))
    )


def test_a_new_project_tells_each_covered_donor_once_and_never_an_excluded_one(
    db: Session, settings: Settings, town: DonorCity, ask: Ask
) -> None:
    # Donor 3 withdrew before the project's first use; donor 5 holds a second consent with the
    # same purpose (still one notice).
    actions.withdraw_consent(
        db, settings=settings, actor=town.citizens[3], consent_id=consent_of(db, town, 3)
    )
    actions.give_consent(
        db,
        settings=settings,
        actor=town.citizens[5],
        donation_id=town.donations[5],
        consent=ConsentIn(purposes=[Purpose.academic_research]),
    )
    ask(TOTAL)

    assert actions.notify_new_uses(db) == 1
    told = _told(db)
    covered = {town.citizens[i].user_id for i in range(DONORS) if i != 3}
    assert set(told) == covered
    assert all(count == 1 for count in told.values())
    assert town.citizens[3].user_id not in told
    notice = db.scalars(
        select(Notification).where(Notification.kind == "mydata.new_project")
    ).first()
    assert notice is not None
    assert "Study" in notice.text
    assert notice.link == "/my-data"

    # The same project using the pool again tells nobody anything new.
    ask(TOTAL)
    assert actions.notify_new_uses(db) == 0
    assert _told(db) == told


def test_a_second_new_project_tells_the_donors_again_once(
    db: Session, town: DonorCity, ask: Ask
) -> None:
    ask(TOTAL)
    actions.notify_new_uses(db)
    other = make_project(db, town, Purpose.academic_research, title="Second study")
    ask(TOTAL, project=other)

    assert actions.notify_new_uses(db) == 1
    assert set(_told(db).values()) == {2}  # one notice per project, per donor
