"""A small city for the gateway: open, restricted and secure datasets with known rows.

Versions are published through the real catalog action from CSV files, with column classes,
so the gateway reads the same Parquet and schema it reads in production.  Policies come from
real project agreements: ``grant`` opens a project for the researcher and has the steward
approve its access requests with the given conditions; ``ask`` runs a query through
``run_query`` under such a project (``grants=`` makes one on the spot).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, api, cast, make_dataset  # noqa: F401

from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetCreate, DatasetUpdate
from bitgoeul.config import Settings
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions, ProjectCreate
from bitgoeul.query.actions import QueryResult, run_query
from bitgoeul.storage.base import ObjectStore

SURNAMES = ["Kim", "Lee", "Park", "Choi", "Jung"]


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@dataclass
class City:
    cast: Cast
    electricity: Dataset
    districts: Dataset
    visits: Dataset
    survey: Dataset
    labels: Dataset  # a testbed's hidden test set: its rows never leave


def _publish(
    db: Session,
    settings: Settings,
    store: ObjectStore,
    people: Cast,
    tmp: Path,
    *,
    title: str,
    level: AccessLevel,
    header: list[str],
    versions: list[list[list[Any]]],
    classes: dict[str, str],
) -> Dataset:
    dataset = catalog_actions.create_dataset(
        db,
        actor=people.actors["steward_of_publisher"],
        data=DatasetCreate(title=title, sector=Sector.energy, access_level=level),
    )
    for number, rows in enumerate(versions, start=1):
        source = _write_csv(tmp / f"{dataset.slug}-{number}.csv", header, rows)
        catalog_actions.publish_version(
            db,
            settings=settings,
            store=store,
            actor=people.actors["steward_of_publisher"],
            slug=dataset.slug,
            source=source,
            filename=source.name,
            column_classes=classes,
        )
    return dataset


def _survey_rows() -> list[list[Any]]:
    """District Buk: 12 people; Seo: 4 people; Nam: 12 people, one of whom earns almost all."""
    rows: list[list[Any]] = []
    person = 0
    for district, people in (("Buk", 12), ("Seo", 4), ("Nam", 12)):
        for i in range(people):
            person += 1
            income = 3000 + 100 * i
            if district == "Nam" and i == 0:
                income = 10_000_000
            rows.append(
                [
                    f"P{person:04d}",
                    f"{SURNAMES[person % 5]} Person{person}",
                    f"010-5555-{person:04d}",
                    district,
                    20 + (person * 7) % 50,
                    income,
                ]
            )
    return rows


@pytest.fixture
def city(
    db: Session,
    settings: Settings,
    app: Any,
    cast: Cast,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> City:
    store: ObjectStore = app.state.store
    electricity_rows = [
        [f"H{h:03d}", ["Buk", "Seo", "Nam"][h % 3], month, 100 + h * 3 + month]
        for h in range(30)
        for month in (1, 2)
    ]
    electricity = _publish(
        db,
        settings,
        store,
        cast,
        tmp_path,
        title="Household electricity",
        level=AccessLevel.open,
        header=["household_id", "district", "month", "kwh"],
        versions=[electricity_rows[:10], electricity_rows],
        classes={"household_id": "direct_identifier"},
    )
    districts = _publish(
        db,
        settings,
        store,
        cast,
        tmp_path,
        title="District population",
        level=AccessLevel.open,
        header=["district", "population"],
        versions=[[["Buk", 430000], ["Seo", 290000], ["Nam", 210000]]],
        classes={},
    )
    visits = _publish(
        db,
        settings,
        store,
        cast,
        tmp_path,
        title="Clinic visits",
        level=AccessLevel.restricted,
        header=["patient_id", "name", "district", "age", "diagnosis", "cost"],
        versions=[
            [
                [f"P{p:04d}", f"{SURNAMES[p % 5]} Patient{p}", "Buk", 30 + p, "flu", 10 * p]
                for p in range(1, 9)
            ]
        ],
        classes={"patient_id": "direct_identifier", "name": "direct_identifier"},
    )
    survey = _publish(
        db,
        settings,
        store,
        cast,
        tmp_path,
        title="Income survey",
        level=AccessLevel.secure,
        header=["person_id", "name", "phone", "district", "age", "income"],
        versions=[_survey_rows()],
        classes={
            "person_id": "direct_identifier",
            "name": "direct_identifier",
            "phone": "direct_identifier",
            "income": "sensitive",
        },
    )
    labels = _publish(
        db,
        settings,
        store,
        cast,
        tmp_path,
        title="Exam labels",
        level=AccessLevel.open,
        header=["case_id", "label"],
        versions=[[[f"C{c:03d}", f"secret-label-{c}"] for c in range(12)]],
        classes={},
    )
    catalog_actions.update_dataset(
        db,
        actor=cast.actors["steward_of_publisher"],
        slug=labels.slug,
        data=DatasetUpdate(holdout=True),
    )
    return City(cast, electricity, districts, visits, survey, labels)


Grant = Callable[..., int]


@pytest.fixture
def grant(db: Session, city: City) -> Grant:
    """A new project of the researcher's with an approved agreement on each dataset named, under
    the conditions given (``ApprovalConditions``); the project's id."""

    def make(conditions: dict[str, ApprovalConditions], *, who: str = "member") -> int:
        member = city.cast.actors[who]
        project = governance.create_project(
            db,
            actor=member,
            data=ProjectCreate(
                title="A study of the city",
                purpose=Purpose.academic_research,
                justification="Public health research.",
            ),
        )
        for slug, terms in conditions.items():
            request = governance.request_access(
                db, actor=member, data=AccessRequestCreate(project=project.id, dataset=slug)
            )
            governance.approve_request(
                db,
                actor=city.cast.actors["steward_of_publisher"],
                request_id=request.id,
                conditions=terms,
            )
        return project.id

    return make


Ask = Callable[..., QueryResult]


@pytest.fixture
def ask(db: Session, settings: Settings, app: Any, city: City, grant: Grant) -> Ask:
    """Run SQL as the researcher, under ``project`` or a new project holding ``grants``."""

    def run(
        sql: str,
        *,
        grants: dict[str, ApprovalConditions] | None = None,
        project: int | None = None,
        who: str = "member",
        **kwargs: Any,
    ) -> QueryResult:
        if grants:
            project = grant(grants, who=who)
        return run_query(
            db,
            settings=settings,
            store=app.state.store,
            actor=city.cast.actors[who],
            sql=sql,
            project_id=project,
            **kwargs,
        )

    return run


def secure_grant() -> dict[str, ApprovalConditions]:
    """An agreement on the income survey (secure: aggregates only, k from the dataset)."""
    return {"income-survey": ApprovalConditions()}
