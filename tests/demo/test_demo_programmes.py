"""The demo seeds the programmes: three startups' applications (approved with credits, waiting,
rejected), a course with a cohort, a lab on the electricity task and two trainees enrolled,
and the tower's first snapshot."""

from __future__ import annotations

from sqlalchemy import func, select

from bitgoeul.compute import queries as compute_queries
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo import build_demo_city
from bitgoeul.demo.programmes import COURSE
from bitgoeul.programmes import queries
from bitgoeul.programmes.models import Enrolment, SupportApplication
from bitgoeul.tower import indicators
from bitgoeul.tower.models import TowerSnapshot


def test_the_demo_has_applications_in_each_state_and_a_course_with_a_lab(
    settings: Settings,
) -> None:
    build_demo_city(settings, people=200, seed=7)
    build_demo_city(settings, people=200, seed=7)  # idempotent
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        statuses = sorted(a.status.value for a in session.scalars(select(SupportApplication)))
        assert statuses == ["approved", "rejected", "submitted"]
        approved = session.scalars(
            select(SupportApplication).where(SupportApplication.status == "approved")
        ).one()
        assert compute_queries.balance(session, approved.organization_id).gpu_hours == 50
        course = queries.course_public(session, queries.get_course(session, COURSE))
        assert [c.enrolled for c in course.cohorts] == [2]
        assert [(lab.kind.value, lab.task or lab.dataset) for lab in course.labs] == [
            ("task", "next-day-household-electricity"),
            ("job", "kepco-dong-electricity-daily"),
        ]
        assert session.scalar(select(func.count()).select_from(Enrolment)) == 2
        assert session.scalar(select(func.count()).select_from(TowerSnapshot)) == 1
        found = indicators.compute(session)
        assert found.get("startups_supported").value == 1
        assert found.get("startup_jobs").value == 14
    engine.dispose()
