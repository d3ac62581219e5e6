"""Governance's cast: a publisher with two stewards, a research lab running a project, an
outsider from another organization, a citizen and an operator; datasets at each access level
with a version whose Table Schema classifies the columns.

Users sign in with API tokens stored the way accounts stores them, so HTTP tests use the real
bearer-token path.  Versions are written with the ORM: governance reads only their schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from tests.catalog.conftest import issue_tokens

from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role, User
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion, Sector
from bitgoeul.governance import actions
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import ProjectCreate

FIELDS = [
    {"name": "customer_id", "type": "string", "classification": "direct_identifier"},
    {"name": "district", "type": "string", "classification": "quasi_identifier"},
    {"name": "income_band", "type": "string", "classification": "sensitive"},
    {"name": "kwh", "type": "number", "classification": "other"},
]

# Everyone the authorization matrices ask about.
WHO = [
    "anonymous",
    "citizen",
    "project_member",
    "member_of_other_org",
    "steward_of_publisher",
    "steward_of_other_org",
    "operator",
]


@dataclass
class City:
    actors: dict[str, Actor]
    tokens: dict[str, str]
    datasets: dict[AccessLevel, Dataset]
    project_id: int
    publisher: Organization

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _org(db: Session, slug: str, kind: OrganizationKind) -> Organization:
    org = Organization(slug=slug, name=slug.upper(), kind=kind)
    db.add(org)
    db.flush()
    return org


def _user(db: Session, username: str, role: Role, org: Organization | None) -> User:
    user = User(
        username=username,
        password_hash="not-a-real-hash",
        role=role,
        organization_id=org.id if org else None,
    )
    db.add(user)
    db.flush()
    return user


def _dataset(db: Session, publisher: Organization, level: AccessLevel) -> Dataset:
    dataset = Dataset(
        slug=f"household-power-{level.value}",
        title=f"Household power ({level.value})",
        publisher_id=publisher.id,
        sector=Sector.energy,
        licence="KOGL-1",
        access_level=level,
        min_group_size=10,
    )
    db.add(dataset)
    db.flush()
    db.add(
        DatasetVersion(
            dataset_id=dataset.id,
            number=1,
            source_filename="power.csv",
            source_format="csv",
            source_sha256="0" * 64,
            source_bytes=1,
            object_key="parquet/none.parquet",
            parquet_sha256="0" * 64,
            parquet_bytes=1,
            row_count=1,
            table_schema={"fields": FIELDS},
        )
    )
    return dataset


def build_city(db: Session) -> City:
    """Organizations, users with tokens, one dataset per level, and the lab's project."""
    kepco = _org(db, "kepco", OrganizationKind.agency)
    kpx = _org(db, "kpx", OrganizationKind.agency)
    lab = _org(db, "gist-lab", OrganizationKind.research)
    hub = _org(db, "gwangju", OrganizationKind.operator)
    users = {
        "citizen": _user(db, "minji", Role.citizen, None),
        "project_member": _user(db, "researcher", Role.member, lab),
        "member_of_other_org": _user(db, "kpx-analyst", Role.member, kpx),
        "steward_of_publisher": _user(db, "kepco-steward", Role.steward, kepco),
        "second_steward_of_publisher": _user(db, "kepco-steward-2", Role.steward, kepco),
        "steward_of_other_org": _user(db, "kpx-steward", Role.steward, kpx),
        "operator": _user(db, "hub-operator", Role.operator, hub),
    }
    tokens = issue_tokens(db, users)
    datasets = {level: _dataset(db, kepco, level) for level in AccessLevel}
    db.commit()
    actors = {who: Actor.for_user(user, via="token") for who, user in users.items()}
    actors["anonymous"] = ANONYMOUS
    project = actions.create_project(
        db,
        actor=actors["project_member"],
        data=ProjectCreate(
            title="Heat-wave energy poverty",
            purpose=Purpose.academic_research,
            justification="Find households at risk during heat waves.",
        ),
    )
    return City(actors, tokens, datasets, project.id, kepco)


def request_body(
    city: City, level: AccessLevel = AccessLevel.restricted, **extra: Any
) -> dict[str, Any]:
    return {"project": city.project_id, "dataset": city.datasets[level].slug, **extra}
