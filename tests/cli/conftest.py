"""CLI tests run the real commands in-process (Typer's CliRunner) on the test database."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role, User
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.cli import app
from bitgoeul.cli.context import console, err_console
from bitgoeul.config import Settings
from bitgoeul.storage import make_store


@pytest.fixture
def invoke(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``invoke("user", "create", ..., input="...")``: run ``bitgoeul ...`` on the test hub."""
    # Print as on a wide terminal, whatever terminal (or COLUMNS) runs the tests, so that a
    # table cell the tests look for is never wrapped across lines.
    for shared in (console, err_console):
        monkeypatch.setattr(shared, "_width", 160)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, obj=settings, catch_exceptions=False)

    return run


def _user(db: Session, username: str, role: Role, org: Organization) -> Actor:
    user = User(username=username, password_hash="not-a-real-hash", role=role)
    user.organization_id = org.id
    db.add(user)
    db.flush()
    return Actor.for_user(user, via="cli")


def _publish(
    db: Session,
    settings: Settings,
    steward: Actor,
    source: Path,
    *,
    title: str,
    level: AccessLevel,
    rows: list[list[Any]],
    classes: dict[str, str],
) -> None:
    dataset = catalog_actions.create_dataset(
        db, actor=steward, data=DatasetCreate(title=title, sector=Sector.energy, access_level=level)
    )
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    catalog_actions.publish_version(
        db,
        settings=settings,
        store=make_store(settings),
        actor=steward,
        slug=dataset.slug,
        source=source,
        filename=source.name,
        column_classes=classes,
    )


@pytest.fixture
def city(db: Session, settings: Settings, tmp_path: Path) -> None:
    """A publisher's steward ``kepco-steward``, a lab's ``researcher`` and ``colleague``, and
    three datasets with known rows, published through the real catalog action (real Parquet):
    ``clinic-visits`` is restricted (patient ids and names are direct identifiers),
    ``district-population`` open and ``income-survey`` secure."""
    kepco = Organization(slug="kepco", name="KEPCO", kind=OrganizationKind.agency)
    lab = Organization(slug="gist-lab", name="GIST lab", kind=OrganizationKind.research)
    db.add_all([kepco, lab])
    db.flush()
    steward = _user(db, "kepco-steward", Role.steward, kepco)
    _user(db, "researcher", Role.member, lab)
    _user(db, "colleague", Role.member, lab)
    db.commit()
    _publish(
        db, settings, steward, tmp_path / "visits.csv",
        title="Clinic visits", level=AccessLevel.restricted,
        rows=[["patient_id", "name", "district", "age"]]
        + [[f"P{p:04d}", f"Kim Patient{p}", "Buk", 30 + p] for p in range(1, 9)],
        classes={"patient_id": "direct_identifier", "name": "direct_identifier"},
    )  # fmt: skip
    _publish(
        db, settings, steward, tmp_path / "population.csv",
        title="District population", level=AccessLevel.open,
        rows=[["district", "population"], ["Buk", 430000], ["Seo", 290000], ["Nam", 210000]],
        classes={},
    )  # fmt: skip
    # Buk has 12 people and Seo 4, too few to show under the default minimum group size.
    people = [("Buk", p) for p in range(12)] + [("Seo", p) for p in range(4)]
    _publish(
        db, settings, steward, tmp_path / "survey.csv",
        title="Income survey", level=AccessLevel.secure,
        rows=[["person_id", "district", "income"]]
        + [[f"S{i:04d}", district, 3000 + 100 * p] for i, (district, p) in enumerate(people)],
        classes={"person_id": "direct_identifier", "income": "sensitive"},
    )  # fmt: skip


@pytest.fixture
def operator(db: Session) -> Actor:
    """``operator``, the hub's operator (of the ``bitgoeul-ops`` organization)."""
    ops = Organization(
        slug="bitgoeul-ops", name="Bitgoeul operations", kind=OrganizationKind.operator
    )
    db.add(ops)
    db.flush()
    actor = _user(db, "operator", Role.operator, ops)
    db.commit()
    return actor
