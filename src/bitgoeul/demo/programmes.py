"""The demo's programmes: three startups with a founder each and their support applications (one
approved with credits, one waiting for review, one rejected), and an academy course with a
cohort, a lab on the demo's electricity testbed task and a job lab on KEPCO's open daily
electricity statistics (its example job is ``demo/jobs/academy_lab``), with two people enrolled.

Everything goes through ``programmes.actions`` as the operator and the founders would do it;
the build then keeps the control tower's first daily snapshot.  Idempotent: a hub that already
has the course is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.catalog.models import Dataset
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.demo.institutions import DEMO_PASSWORD, EMAIL_DOMAIN
from bitgoeul.demo.sharing import RESEARCHER, demo_actor
from bitgoeul.demo.testbed_data import ELECTRICITY
from bitgoeul.programmes import actions
from bitgoeul.programmes.models import Course
from bitgoeul.programmes.schemas import (
    ApplicationCreate,
    ApplicationReview,
    CohortCreate,
    CourseCreate,
    LabCreate,
)
from bitgoeul.testbed.models import TestbedTask
from bitgoeul.tower import actions as tower_actions

COURSE = "hands-on-city-ai"
JOB_LAB_DATASET = "kepco-dong-electricity-daily"
OPERATOR = "operator"
CITIZEN = "citizen"


@dataclass(frozen=True)
class DemoStartup:
    slug: str
    name: str
    name_ko: str
    founder: str
    summary: str
    employees: int
    cpu_hours: int
    gpu_hours: int
    answer: str  # "approve", "reject" or "" (waiting)
    note: str = ""


STARTUPS = (
    DemoStartup(
        "gwangju-vision",
        "Gwangju Vision",
        "광주비전",
        "vision-founder",
        "Forecasting household electricity demand per district to help KEPCO plan the grid.",
        14,
        200,
        50,
        "approve",
        "Welcome to the programme: start with the electricity testbed task.",
    ),
    DemoStartup(
        "solar-grid-ai",
        "Solar Grid AI",
        "솔라그리드AI",
        "solar-founder",
        "Predicting rooftop solar output from weather and smart-meter data in Gwangsan-gu.",
        6,
        80,
        10,
        "",
    ),
    DemoStartup(
        "care-robotics",
        "Care Robotics",
        "케어로보틱스",
        "care-founder",
        "Companion robots for elderly residents living alone, trained on hospital visit data.",
        3,
        0,
        40,
        "reject",
        "Apply again with a plan for the hospitals' data: it needs their stewards' approval.",
    ),
)


def has_demo_programmes(session: Session) -> bool:
    return session.scalar(select(Course.id).where(Course.slug == COURSE)) is not None


def ensure_demo_programmes(session: Session, settings: Settings) -> str:
    """Seed the startups, their applications and the course once; a line for the summary."""
    if has_demo_programmes(session):
        return "the programmes are seeded already"
    operator = demo_actor(session, OPERATOR)
    for startup in STARTUPS:
        organization = account_queries.get_organization(session, startup.slug)
        if organization is None:
            organization = account_actions.create_organization(
                session,
                slug=startup.slug,
                name=startup.name,
                name_ko=startup.name_ko,
                kind=OrganizationKind.company,
                description=startup.summary,
            )
        if account_queries.get_user(session, startup.founder) is None:
            account_actions.create_user(
                session,
                username=startup.founder,
                password=DEMO_PASSWORD,
                role=Role.member,
                organization_id=organization.id,
                display_name=f"{startup.name} (founder)",
                email=f"{startup.founder}@{EMAIL_DOMAIN}",
                settings=settings,
            )
        application = actions.apply_for_support(
            session,
            actor=demo_actor(session, startup.founder),
            data=ApplicationCreate(
                summary=startup.summary,
                employees=startup.employees,
                cpu_hours=Decimal(startup.cpu_hours),
                gpu_hours=Decimal(startup.gpu_hours),
                data_access_help=startup.answer != "approve",
                testbed_sponsorship=startup.answer == "approve",
            ),
        )
        if startup.answer:
            actions.review_application(
                session,
                actor=operator,
                application_id=application.id,
                review=ApplicationReview.model_validate(
                    {"decision": startup.answer, "note": startup.note}
                ),
            )
    actions.create_course(
        session,
        actor=operator,
        data=CourseCreate(
            slug=COURSE,
            title="Hands-on AI with city data",
            title_ko="도시 데이터로 배우는 실전 AI",
            description="Forecasting with the hub's synthetic Gwangju data: from the catalog to "
            "a scored testbed submission.",
            description_ko="허브의 합성 광주 데이터로 예측을 배웁니다. 카탈로그에서 시작해 "
            "테스트베드 채점까지 해 봅니다.",
        ),
    )
    today = utcnow().date()
    cohort = actions.add_cohort(
        session,
        actor=operator,
        course_slug=COURSE,
        data=CohortCreate(
            name="2026 winter",
            starts_on=today - timedelta(days=7),
            ends_on=today + timedelta(days=60),
            capacity=30,
        ),
    )
    cohort_id = cohort.id
    if session.scalar(select(TestbedTask.id).where(TestbedTask.slug == ELECTRICITY)) is not None:
        actions.add_lab(
            session,
            actor=operator,
            course_slug=COURSE,
            data=LabCreate(
                slug="electricity-forecast",
                title="Forecast next-day household electricity use",
                title_ko="가구별 익일 전력 사용량 예측",
                task=ELECTRICITY,
                pass_mark=20.0,
            ),
        )
    if session.scalar(select(Dataset.id).where(Dataset.slug == JOB_LAB_DATASET)) is not None:
        actions.add_lab(
            session,
            actor=operator,
            course_slug=COURSE,
            data=LabCreate.model_validate(
                {
                    "slug": "total-electricity",
                    "title": "Total residential electricity use, computed in a job",
                    "title_ko": "작업으로 계산하는 주택용 전력 사용량 합계",
                    "kind": "job",
                    "dataset": JOB_LAB_DATASET,
                    "aggregate": "sum",
                    "column": "total_kwh",
                    "tolerance": 0.01,
                }
            ),
        )
    for username in (RESEARCHER, CITIZEN):
        actions.enrol(session, actor=demo_actor(session, username), cohort_id=cohort_id)
    tower_actions.take_snapshot(session, actor=None)
    return (
        f"{len(STARTUPS)} startups applied for support (one approved), a course with a cohort, "
        "a testbed lab and a job lab; the control tower kept today's snapshot"
    )
