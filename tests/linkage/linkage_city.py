"""A small city for linkage: KEPCO's customers (restricted) and a hospital's patients (secure)
about partly the same people, published through the real catalog action from CSV files made by
the FEBRL-3-like generator; KISA is the key custodian; a lab's researcher proposes.

Users sign in with API tokens stored the way accounts stores them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from tests.catalog.conftest import issue_tokens

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role, User
from bitgoeul.catalog import actions as catalog
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.linkage import synthetic
from bitgoeul.storage.base import ObjectStore

KEPCO_COLUMNS = {"name": "고객명", "birth_date": "생년월일", "phone": "전화번호", "district": "구"}
HOSPITAL_COLUMNS = {"name": "환자명", "birth_date": "생일", "phone": "연락처", "district": "주소구"}


@dataclass
class LinkCity:
    actors: dict[str, Actor]
    tokens: dict[str, str]
    kepco: Dataset
    hospital: Dataset
    truth: set[tuple[int, int]]  # (KEPCO row, hospital row), from 0

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who != "anonymous" else {}


def _org(db: Session, slug: str, kind: OrganizationKind) -> Organization:
    org = Organization(slug=slug, name=slug.upper(), kind=kind)
    db.add(org)
    db.flush()
    return org


def _user(db: Session, username: str, role: Role, org: Organization | None) -> User:
    user = User(
        username=username,
        password_hash="x",
        role=role,
        organization_id=org.id if org is not None else None,
    )
    db.add(user)
    db.flush()
    return user


def _publish(
    db: Session,
    settings: Settings,
    store: ObjectStore,
    steward: Actor,
    tmp: Path,
    *,
    slug: str,
    level: AccessLevel,
    rows: list[dict[str, Any]],
    classes: dict[str, str],
) -> Dataset:
    dataset = catalog.create_dataset(
        db,
        actor=steward,
        data=DatasetCreate(
            slug=slug, title=slug, sector=Sector.healthcare, access_level=level, min_group_size=5
        ),
    )
    path = tmp / f"{slug}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    catalog.publish_version(
        db,
        settings=settings,
        store=store,
        actor=steward,
        slug=slug,
        source=path,
        filename=path.name,
        column_classes=classes,
    )
    return dataset


def build_city(db: Session, settings: Settings, app: Any, tmp_path: Path) -> LinkCity:
    kepco_org = _org(db, "kepco", OrganizationKind.agency)
    hospital_org = _org(db, "cnuh", OrganizationKind.agency)
    kisa = _org(db, "kisa", OrganizationKind.agency)
    lab = _org(db, "gist-lab", OrganizationKind.research)
    hub = _org(db, "ai-hub", OrganizationKind.operator)
    users = {
        "kepco_steward": _user(db, "kepco-steward", Role.steward, kepco_org),
        "hospital_steward": _user(db, "cnuh-steward", Role.steward, hospital_org),
        "custodian": _user(db, "kisa-steward", Role.steward, kisa),
        "researcher": _user(db, "researcher", Role.member, lab),
        "outsider": _user(db, "outsider", Role.member, lab),
        "operator": _user(db, "operator", Role.operator, hub),
        "citizen": _user(db, "citizen", Role.citizen, None),
    }
    tokens = issue_tokens(db, users)
    db.commit()
    actors = {who: Actor.for_user(user, via="token") for who, user in users.items()}
    data = synthetic.generate(240, 200, 150, seed=13)
    kepco_rows = [
        {KEPCO_COLUMNS[f]: r[f] for f in KEPCO_COLUMNS} | {"kwh": 100 + i % 37}
        for i, r in enumerate(data.left)
    ]
    hospital_rows = [
        {HOSPITAL_COLUMNS[f]: r[f] for f in HOSPITAL_COLUMNS} | {"진단": "I10" if i % 3 else "E11"}
        for i, r in enumerate(data.right)
    ]
    identifiers = {"direct_identifier": ["고객명", "전화번호", "환자명", "연락처"]}
    classes = {c: k for k, cols in identifiers.items() for c in cols}
    kepco = _publish(
        db, settings, app.state.store, actors["kepco_steward"], tmp_path,
        slug="kepco-customers", level=AccessLevel.restricted, rows=kepco_rows,
        classes={**classes, "생년월일": "quasi_identifier", "구": "quasi_identifier"},
    )  # fmt: skip
    hospital = _publish(
        db, settings, app.state.store, actors["hospital_steward"], tmp_path,
        slug="cnuh-patients", level=AccessLevel.secure, rows=hospital_rows,
        classes={**classes, "생일": "quasi_identifier", "진단": "sensitive"},
    )  # fmt: skip
    return LinkCity(actors, tokens, kepco, hospital, data.truth)


def project_body(method: str = "bloom", **extra: Any) -> dict[str, Any]:
    return {
        "title": "Older residents' power use and hypertension",
        "purpose": "Does heat-wave power use predict hospital visits?",
        "method": method,
        "custodian": "kisa",
        "sources": [
            {"dataset": "kepco-customers", "fields": KEPCO_COLUMNS, "attributes": ["kwh"]},
            {"dataset": "cnuh-patients", "fields": HOSPITAL_COLUMNS, "attributes": ["진단"]},
        ],
        **extra,
    }
