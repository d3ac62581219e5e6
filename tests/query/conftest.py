"""A small city for the gateway: open, restricted and secure datasets with known rows.

Versions are published through the real catalog action from CSV files, with column classes,
so the gateway reads the same Parquet and schema it reads in production.  ``ask`` runs a
query through ``run_query`` with a decision that carries hand-built obligations, standing in
for project agreements until governance returns them.
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

from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.governance.decision import DataAction, Decision, Obligations
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
    return City(cast, electricity, districts, visits, survey)


def secure_policy(**overrides: Any) -> Obligations:
    values: dict[str, Any] = {
        "aggregate_only": True,
        "min_group_size": 10,
        "pseudonym_scope": "project:1",
        "forbidden_output_columns": ["person_id", "name", "phone"],
    }
    values.update(overrides)
    return Obligations(**values)


Ask = Callable[..., QueryResult]


@pytest.fixture
def ask(db: Session, settings: Settings, app: Any, city: City) -> Ask:
    """Run SQL as the researcher; ``policies`` maps slugs to obligations (granted)."""

    def run(
        sql: str,
        *,
        policies: dict[str, Obligations] | None = None,
        who: str = "member",
        **kwargs: Any,
    ) -> QueryResult:
        granted = policies or {}

        def decider(actor: Actor, action: DataAction, dataset: Dataset, context: Any) -> Decision:
            if dataset.slug in granted:
                return Decision(True, "test agreement", granted[dataset.slug])
            from bitgoeul.governance.decision import decide

            return decide(actor, action, dataset)

        return run_query(
            db,
            settings=settings,
            store=app.state.store,
            actor=city.cast.actors[who],
            sql=sql,
            decider=decider,
            **kwargs,
        )

    return run
