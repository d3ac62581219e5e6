"""A small city for the page and browser tests: two publishers, stewards, a researcher, data.

Built through the same actions the API and the CLI call, so the pages see what they would see
on a real hub.  ``sign_in`` walks the real login form (its double-submit CSRF cookie included)
and returns the session's CSRF token that later forms must carry.  ``tests/e2e`` seeds its
server with :func:`build_small_city` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.compute import actions as compute_actions
from bitgoeul.config import Settings
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions, ProjectCreate

PASSWORD = "demo"
METER_CSV = (
    "meter_id,district,hour,kwh\n"
    "M001,Dong-gu,0,0.42\n"
    "M002,Seo-gu,1,0.38\n"
    "M003,Nam-gu,2,0.51\n"
    "M004,Buk-gu,3,0.47\n"
    "M005,Gwangsan-gu,4,0.66\n"
)
VISITS_CSV = (
    "patient_id,name,district,age,diagnosis\n"
    "P001,Kim Minji,Dong-gu,71,I10\n"
    "P002,Lee Jisoo,Seo-gu,45,E11\n"
    "P003,Park Hana,Nam-gu,83,J45\n"
)
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class City:
    kepco_steward: Actor
    cnuh_steward: Actor


def build_small_city(sessionmaker: Any, store: Any, settings: Settings, work: Path) -> City:
    with sessionmaker() as session:
        kepco = account_actions.create_organization(
            session,
            slug="kepco",
            name="KEPCO",
            name_ko="한국전력공사",
            kind=OrganizationKind.agency,
        )
        cnuh = account_actions.create_organization(
            session,
            slug="cnuh",
            name="Chonnam National University Hospital",
            name_ko="전남대학교병원",
            kind=OrganizationKind.research,
        )
        lab = account_actions.create_organization(
            session,
            slug="gist-ai-lab",
            name="GIST AI Lab",
            name_ko="광주과학기술원 AI 연구실",
            kind=OrganizationKind.research,
        )
        users = {}
        for username, role, org in [
            ("kepco", Role.steward, kepco.id),
            ("cnuh", Role.steward, cnuh.id),
            ("researcher", Role.member, lab.id),
            ("operator", Role.operator, None),
        ]:
            users[username] = account_actions.create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                organization_id=org,
                settings=settings,
            )
        kepco_steward = Actor.for_user(users["kepco"], via="cli")
        cnuh_steward = Actor.for_user(users["cnuh"], via="cli")
        catalog_actions.create_dataset(
            session,
            actor=kepco_steward,
            data=DatasetCreate(
                slug="household-electricity",
                title="Hourly household electricity use",
                title_ko="가구별 시간대 전력 사용량",
                description="Smart-meter readings of Gwangju households.",
                description_ko="광주 가구의 스마트 계량기 검침값입니다.",
                sector=Sector.energy,
                keywords=["electricity", "smart meter"],
                access_level=AccessLevel.registered,
            ),
        )
        catalog_actions.create_dataset(
            session,
            actor=cnuh_steward,
            data=DatasetCreate(
                slug="patient-visits",
                title="Outpatient visits",
                title_ko="외래 방문",
                sector=Sector.healthcare,
                access_level=AccessLevel.restricted,
            ),
        )
        source = work / "meters.csv"
        source.write_text(METER_CSV, encoding="utf-8")
        catalog_actions.publish_version(
            session,
            settings=settings,
            store=store,
            actor=kepco_steward,
            slug="household-electricity",
            source=source,
            filename="meters.csv",
            column_classes={"meter_id": "quasi_identifier"},
        )
        visits = work / "visits.csv"
        visits.write_text(VISITS_CSV, encoding="utf-8")
        catalog_actions.publish_version(
            session,
            settings=settings,
            store=store,
            actor=cnuh_steward,
            slug="patient-visits",
            source=visits,
            filename="visits.csv",
            column_classes={"patient_id": "direct_identifier", "name": "direct_identifier"},
        )
    return City(kepco_steward=kepco_steward, cnuh_steward=cnuh_steward)


def open_job_project(sessionmaker: Any, *, cpu_hours: int = 10) -> int:
    """The researcher's project for jobs: an agreement on the restricted patient visits
    (approved by CNUH's steward) and ``cpu_hours`` of credits for the GIST AI Lab; its id."""
    with sessionmaker() as session:
        actors = {
            name: Actor.for_user(user, via="cli")
            for name in ("researcher", "cnuh", "operator")
            if (user := account_queries.get_user(session, name)) is not None
        }
        project = governance.create_project(
            session,
            actor=actors["researcher"],
            data=ProjectCreate(
                title="Clinic load forecasting",
                purpose=Purpose.academic_research,
                justification="Run models next to the data.",
            ),
        )
        asked = governance.request_access(
            session,
            actor=actors["researcher"],
            data=AccessRequestCreate(project=project.id, dataset="patient-visits", days=30),
        )
        governance.approve_request(
            session, actor=actors["cnuh"], request_id=asked.id, conditions=ApprovalConditions()
        )
        if cpu_hours:
            compute_actions.grant_credits(
                session,
                actor=actors["operator"],
                organization_slug="gist-ai-lab",
                cpu_hours=Decimal(cpu_hours),
                note="research support",
            )
        return project.id


def csrf_token_in(html: str) -> str:
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no form carrying a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; the session's CSRF token for later forms."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": "/tokens",
            "csrf_token": csrf_token_in(form.text),
        },
    )
    assert response.status_code == 200, response.text
    return csrf_token_in(response.text)
