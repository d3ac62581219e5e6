"""The donors' city: KEPCO's meter readings (restricted), the hub's donated-electricity pool
(secure), a My Data source between them, twelve citizens with verified identities who donate
under different consents, and a researcher's project with an agreement on the pool.

Everything goes through the real actions: the catalog publishes the agency's version, the
operator names the source and verifies identities, citizens donate (the pool is republished
each time) and consent, the hub's steward approves the project's request.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, _user, api, cast, issue_tokens  # noqa: F401

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions, ProjectCreate
from bitgoeul.mydata import actions
from bitgoeul.mydata.models import Tier
from bitgoeul.mydata.schemas import ConsentIn
from bitgoeul.query.actions import QueryResult, run_query

METER = "household-meter"
POOL = "donated-household-electricity"
SOURCE = "kepco-meter"
HOUSEHOLDS = 14
MONTHS = (1, 2, 3)
DONORS = 12  # citizens 0..11 donate; households 12 and 13 never do


def kwh(household: int, month: int) -> int:
    return 100 + household * 10 + month


@dataclass
class DonorCity:
    cast: Cast
    hub_steward: Actor
    citizens: list[Actor]
    citizen_tokens: list[str]
    project_id: int  # academic research, agreement on the pool
    donations: list[int] = field(default_factory=list)

    def headers(self, who: str | int) -> dict[str, str]:
        if isinstance(who, int):
            return {"Authorization": f"Bearer {self.citizen_tokens[who]}"}
        return self.cast.headers(who)


def _meter_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["household_id", "district", "month", "kwh"])
        for h in range(HOUSEHOLDS):
            for month in MONTHS:
                writer.writerow([f"H{h:03d}", ["Buk", "Seo", "Nam"][h % 3], month, kwh(h, month)])
    return path


ITEM_FIELDS = [
    {"name": "district", "type": "string"},
    {"name": "month", "type": "integer"},
    {"name": "kwh", "type": "integer"},
]


def make_project(db: Session, town: DonorCity, purpose: Purpose, title: str = "Study") -> int:
    member = town.cast.actors["member"]
    project = governance.create_project(
        db,
        actor=member,
        data=ProjectCreate(title=title, purpose=purpose, justification="Research."),
    )
    request = governance.request_access(
        db, actor=member, data=AccessRequestCreate(project=project.id, dataset=POOL)
    )
    governance.approve_request(
        db, actor=town.hub_steward, request_id=request.id, conditions=ApprovalConditions()
    )
    return project.id


@pytest.fixture
def town(db: Session, settings: Settings, app: FastAPI, cast: Cast, tmp_path: Path) -> DonorCity:  # noqa: F811
    store = app.state.store
    kepco = cast.actors["steward_of_publisher"]
    catalog_actions.create_dataset(
        db,
        actor=kepco,
        data=DatasetCreate(
            slug=METER,
            title="Household meter readings",
            sector=Sector.energy,
            access_level=AccessLevel.restricted,
        ),
    )
    source_file = _meter_csv(tmp_path / "meter.csv")
    catalog_actions.publish_version(
        db,
        settings=settings,
        store=store,
        actor=kepco,
        slug=METER,
        source=source_file,
        filename=source_file.name,
        column_classes={"household_id": "direct_identifier"},
    )
    hub = db.query(Organization).filter_by(slug="gwangju").one()
    hub_steward_user = _user(db, "hub-steward", Role.steward, hub)
    citizen_users = [_user(db, f"citizen{i}", Role.citizen, None) for i in range(HOUSEHOLDS)]
    tokens = issue_tokens(
        db, {"hub_steward": hub_steward_user} | {f"c{i}": u for i, u in enumerate(citizen_users)}
    )
    db.commit()
    hub_steward = Actor.for_user(hub_steward_user, via="token")
    catalog_actions.create_dataset(
        db,
        actor=hub_steward,
        data=DatasetCreate(
            slug=POOL,
            title="Donated household electricity",
            sector=Sector.energy,
            access_level=AccessLevel.secure,
        ),
    )
    operator = cast.actors["operator"]
    actions.create_source(
        db,
        actor=operator,
        slug=SOURCE,
        title="My household's meter readings",
        title_ko="우리 집 전력 계량 기록",
        pool_slug=POOL,
        agency_slug=METER,
        identity_column="household_id",
        items=["district", "month", "kwh"],
        item_fields=ITEM_FIELDS,
    )
    citizens = [Actor.for_user(u, via="token") for u in citizen_users]
    for i, user in enumerate(citizen_users):
        actions.verify_identity(
            db,
            actor=operator,
            user_id=user.id,
            source_slug=SOURCE,
            subject=f"H{i:03d}",
            verified_by="demo identity provider",
        )
    town = DonorCity(
        cast=cast,
        hub_steward=hub_steward,
        citizens=citizens,
        citizen_tokens=[tokens[f"c{i}"] for i in range(HOUSEHOLDS)],
        project_id=0,
    )
    for i in range(DONORS):
        donation = actions.donate(
            db,
            settings=settings,
            store=store,
            actor=citizens[i],
            source_slug=SOURCE,
            consent=ConsentIn(
                purposes=[Purpose.academic_research, Purpose.ai_model_training],
                tier=Tier.jobs if i % 2 == 0 else Tier.aggregates,
            ),
        )
        town.donations.append(donation.id)
    town.project_id = make_project(db, town, Purpose.academic_research)
    return town


def consent_of(db: Session, town: DonorCity, citizen: int) -> int:
    from sqlalchemy import select

    from bitgoeul.mydata.models import Consent

    consent_id = db.scalar(
        select(Consent.id)
        .where(Consent.donation_id == town.donations[citizen])
        .order_by(Consent.id)
    )
    assert consent_id is not None
    return consent_id


Ask = Callable[..., QueryResult]


@pytest.fixture
def ask(db: Session, settings: Settings, app: FastAPI, town: DonorCity) -> Ask:
    def run(sql: str, *, project: int | None = None, session: Session | None = None) -> QueryResult:
        return run_query(
            session or db,
            settings=settings,
            store=app.state.store,
            actor=town.cast.actors["member"],
            sql=sql,
            project_id=project if project is not None else town.project_id,
        )

    return run


def rows_of(result: QueryResult) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]
