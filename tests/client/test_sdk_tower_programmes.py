"""The SDK against a real hub: a startup applies and is approved, the academy's course takes an
enrolment, and the tower's indicators (exact for operators, suppressed for others), history
and snapshot."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session
from tests.catalog.conftest import _org, _user, issue_tokens

from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.client import (
    AccessDenied,
    Client,
    Conflict,
    Course,
    Enrolment,
    SupportApplication,
    TowerIndicators,
    ValidationFailed,
)
from bitgoeul.db.base import utcnow


@pytest.fixture
def tokens(db: Session) -> dict[str, str]:
    startup = _org(db, "vision-lab", "Vision Lab", "비전랩", OrganizationKind.company)
    users = {
        "founder": _user(db, "founder", Role.member, startup),
        "operator": _user(db, "hub-operator", Role.operator, None),
        "citizen": _user(db, "minji", Role.citizen, None),
    }
    issued = issue_tokens(db, users)
    db.commit()
    return issued


def test_programmes_and_the_tower_through_the_sdk(hub_url: str, tokens: dict[str, str]) -> None:
    founder = Client(hub_url, token=tokens["founder"])
    operator = Client(hub_url, token=tokens["operator"])
    citizen = Client(hub_url, token=tokens["citizen"])
    with founder, operator, citizen:
        with pytest.raises(ValidationFailed):
            founder.apply_for_support("too short", gpu_hours=5)
        applied = founder.apply_for_support(
            "Crop disease detection from drone images of farms", employees=9, gpu_hours=40
        )
        assert isinstance(applied, SupportApplication)
        assert applied.status == "submitted"
        with pytest.raises(AccessDenied):
            founder.review_application(applied.id, "approve")
        approved = operator.review_application(applied.id, "approve", gpu_hours=Decimal(25))
        assert approved.granted_gpu_hours == Decimal(25)
        assert [a.id for a in founder.support_applications()] == [applied.id]
        with pytest.raises(Conflict):
            founder.withdraw_application(applied.id)

        today = utcnow().date()
        operator.create_course("ai-basics", "AI basics", title_ko="AI 기초")
        course = operator.add_cohort("ai-basics", "Winter", today, today + timedelta(days=9), 5)
        assert isinstance(course, Course)
        enrolment = citizen.enrol(course.cohorts[0].id)
        assert isinstance(enrolment, Enrolment)
        assert enrolment.status == "enrolled"
        assert citizen.enrolments()[0].cohort == "Winter"
        assert citizen.courses()[0].cohorts[0].enrolled == 1

        exact = operator.tower_indicators()
        assert isinstance(exact, TowerIndicators)
        assert exact.exact
        assert exact.get("startups_supported").value == 1
        assert exact.get("startup_jobs").value == 9
        public = citizen.tower_indicators()
        assert not public.exact
        assert public.get("startups_supported").suppressed
        assert public.get("startups_supported").value is None
        with pytest.raises(AccessDenied):
            citizen.take_tower_snapshot()
        assert operator.take_tower_snapshot().created is True
        days = citizen.tower_history(days=7)
        assert [d.day for d in days] == [today]
        assert days[0].values["startups_supported"] is None
        assert operator.tower_history(days=7)[0].values["startups_supported"] == 1
