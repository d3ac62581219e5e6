"""Catalog preview and download under a project agreement: the agreement's columns and rows,
identifiers pseudonymised per project; expiry and revocation close the door at once."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from governance_city import City
from sqlalchemy.orm import Session

from bitgoeul.catalog.actions import publish_version
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.config import Settings
from bitgoeul.governance import actions
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions, ProjectCreate
from bitgoeul.privacy.pseudonyms import pseudonym_key, pseudonymise

CSV = "customer_id,district,kwh\nC001,북구,5\nC002,남구,12\nC003,북구,30\n"
CLASSES = {"customer_id": "direct_identifier", "district": "quasi_identifier", "kwh": "other"}


@pytest.fixture
def meters(db: Session, city: City, app: FastAPI, settings: Settings, tmp_path: Path) -> Dataset:
    dataset = Dataset(
        slug="meter-readings",
        title="Meter readings",
        publisher_id=city.publisher.id,
        sector=Sector.energy,
        licence="KOGL-1",
        access_level=AccessLevel.restricted,
    )
    db.add(dataset)
    db.commit()
    source = tmp_path / "meters.csv"
    source.write_text(CSV, encoding="utf-8")
    publish_version(
        db,
        settings=settings,
        store=app.state.store,
        actor=city.actors["steward_of_publisher"],
        slug=dataset.slug,
        source=source,
        filename="meters.csv",
        column_classes=CLASSES,
    )
    return dataset


@pytest.fixture
def agreement_id(db: Session, city: City, meters: Dataset) -> int:
    request = actions.request_access(
        db,
        actor=city.actors["project_member"],
        data=AccessRequestCreate(project=city.project_id, dataset=meters.slug),
    )
    agreement = actions.approve_request(
        db,
        actor=city.actors["steward_of_publisher"],
        request_id=request.id,
        conditions=ApprovalConditions(columns=["customer_id", "kwh"], row_filter="kwh > 10"),
    )
    return agreement.id


def _pseudonym(settings: Settings, project_id: int, value: str) -> str:
    return pseudonymise(pseudonym_key(settings.secret(), f"project:{project_id}"), value)


def test_a_member_previews_the_agreements_columns_and_rows_with_pseudonyms(
    api: TestClient, city: City, meters: Dataset, agreement_id: int, settings: Settings
) -> None:
    response = api.get(
        f"/api/v1/datasets/{meters.slug}/preview?project={city.project_id}",
        headers=city.headers("project_member"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["customer_id", "kwh"]
    assert [row[1] for row in body["rows"]] == [12, 30]
    assert body["rows"][0][0] == _pseudonym(settings, city.project_id, "C002")
    assert "C002" not in response.text


def test_pseudonyms_differ_between_projects(
    api: TestClient, db: Session, city: City, meters: Dataset, agreement_id: int
) -> None:
    other = actions.create_project(
        db,
        actor=city.actors["project_member"],
        data=ProjectCreate(
            title="Second study", purpose=Purpose.academic_research, justification="Another."
        ),
    )
    request = actions.request_access(
        db,
        actor=city.actors["project_member"],
        data=AccessRequestCreate(project=other.id, dataset=meters.slug),
    )
    actions.approve_request(
        db,
        actor=city.actors["steward_of_publisher"],
        request_id=request.id,
        conditions=ApprovalConditions(),
    )
    first, second = (
        api.get(
            f"/api/v1/datasets/{meters.slug}/preview?project={project}",
            headers=city.headers("project_member"),
        ).json()
        for project in (city.project_id, other.id)
    )
    assert first["rows"][0][0] != second["rows"][1][0]  # C002 in both


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_member_downloads_only_what_the_agreement_allows(
    api: TestClient, city: City, meters: Dataset, agreement_id: int, file_format: str
) -> None:
    response = api.get(
        f"/api/v1/datasets/{meters.slug}/download?project={city.project_id}&format={file_format}",
        headers=city.headers("project_member"),
    )
    assert response.status_code == 200, response.text
    if file_format == "csv":
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["customer_id", "kwh"]
        assert len(rows) == 3
        assert "C00" not in response.text
    else:
        table = pq.read_table(io.BytesIO(response.content))
        assert table.column_names == ["customer_id", "kwh"]
        assert table.column("kwh").to_pylist() == [12, 30]


def test_without_naming_the_project_the_member_is_refused(
    api: TestClient, city: City, meters: Dataset, agreement_id: int
) -> None:
    response = api.get(
        f"/api/v1/datasets/{meters.slug}/preview", headers=city.headers("project_member")
    )
    assert response.status_code == 403
    assert "project" in response.json()["detail"]


def test_an_outsider_naming_the_project_is_refused(
    api: TestClient, city: City, meters: Dataset, agreement_id: int
) -> None:
    response = api.get(
        f"/api/v1/datasets/{meters.slug}/preview?project={city.project_id}",
        headers=city.headers("member_of_other_org"),
    )
    assert response.status_code == 403
    assert "not a member" in response.json()["detail"]


def test_revocation_closes_preview_and_download_at_once(
    api: TestClient, db: Session, city: City, meters: Dataset, agreement_id: int
) -> None:
    url = f"/api/v1/datasets/{meters.slug}/preview?project={city.project_id}"
    assert api.get(url, headers=city.headers("project_member")).status_code == 200
    actions.revoke_agreement(
        db, actor=city.actors["steward_of_publisher"], agreement_id=agreement_id, reason="Ended."
    )
    assert api.get(url, headers=city.headers("project_member")).status_code == 403
    download = api.get(
        f"/api/v1/datasets/{meters.slug}/download?project={city.project_id}",
        headers=city.headers("project_member"),
    )
    assert download.status_code == 403


def test_the_publishers_steward_still_previews_everything(
    api: TestClient, city: City, meters: Dataset
) -> None:
    response = api.get(
        f"/api/v1/datasets/{meters.slug}/preview", headers=city.headers("steward_of_publisher")
    )
    assert response.status_code == 200
    assert response.json()["columns"] == ["customer_id", "district", "kwh"]
    assert response.json()["rows"][0][0] == "C001"
