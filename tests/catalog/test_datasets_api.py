"""Dataset metadata over HTTP, and who may do what with it."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.catalog.conftest import WHO, Cast, MakeDataset

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion

NEW = {"title": "Feeder load", "title_ko": "배전선로 부하", "sector": "energy"}

# Who may see rows, per access level (mirrors tests/governance/test_decision.py).
ROW_ACCESS = {
    AccessLevel.open: set(WHO),
    AccessLevel.registered: set(WHO) - {"anonymous"},
    AccessLevel.restricted: {"steward_of_publisher", "operator"},
    AccessLevel.secure: {"steward_of_publisher", "operator"},
}
CHANGERS = {"steward_of_publisher", "operator"}


def _expected(who: str, allowed: set[str], ok: int) -> int:
    if who in allowed:
        return ok
    return 401 if who == "anonymous" else 403


@pytest.mark.parametrize("who", WHO)
def test_only_the_publishers_stewards_and_operators_create_datasets(
    api: TestClient, cast: Cast, who: str
) -> None:
    response = api.post(
        "/api/v1/datasets", json={**NEW, "publisher": "kepco"}, headers=cast.headers(who)
    )
    assert response.status_code == _expected(who, CHANGERS, 201), response.text
    if response.status_code == 201:
        assert response.json()["publisher"] == "kepco"


def test_a_stewards_dataset_is_published_by_their_organization(
    api: TestClient, cast: Cast, db: Session
) -> None:
    response = api.post("/api/v1/datasets", json=NEW, headers=cast.headers("steward_of_other_org"))
    assert response.status_code == 201
    body = response.json()
    assert (body["publisher"], body["slug"]) == ("kpx", "feeder-load")
    assert body["versions"] == []
    assert body["latest"] is None
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "dataset.created")).one()
    assert event.resource_id == "feeder-load"


def test_a_refused_creation_is_audited(api: TestClient, cast: Cast, db: Session) -> None:
    response = api.post(
        "/api/v1/datasets", json={**NEW, "publisher": "kepco"}, headers=cast.headers("member")
    )
    assert response.status_code == 403
    assert "steward" in response.json()["detail"]
    event = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert event.action == "dataset.create_dataset"


def test_an_operator_must_name_the_publisher_when_it_is_not_their_own(
    api: TestClient, cast: Cast
) -> None:
    response = api.post(
        "/api/v1/datasets", json={**NEW, "publisher": "nobody"}, headers=cast.headers("operator")
    )
    assert response.status_code == 422
    assert "nobody" in response.json()["detail"]


def test_a_taken_slug_is_a_conflict(api: TestClient, cast: Cast, make_dataset: MakeDataset) -> None:
    make_dataset(slug="feeder-load")
    response = api.post("/api/v1/datasets", json=NEW, headers=cast.headers("steward_of_publisher"))
    assert response.status_code == 409
    assert "feeder-load" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": "", "sector": "energy"},
        {"title": "x", "sector": "space"},
        {"title": "x", "sector": "energy", "access_level": "top-secret"},
        {"title": "x", "sector": "energy", "slug": "Not A Slug"},
        {"title": "x", "sector": "energy", "contact_email": "nope"},
        {
            "title": "x",
            "sector": "energy",
            "temporal_start": "2024-02-01",
            "temporal_end": "2024-01-01",
        },
        {"title": "x", "sector": "energy", "unknown_field": 1},
        {"title": "x", "sector": "energy", "licence": "CC BY; DROP"},
    ],
)
def test_bad_metadata_is_answered_with_422_and_a_reason(
    api: TestClient, cast: Cast, body: dict[str, Any]
) -> None:
    response = api.post("/api/v1/datasets", json=body, headers=cast.headers("steward_of_publisher"))
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize("who", WHO)
def test_only_the_publishers_stewards_and_operators_edit_metadata(
    api: TestClient, cast: Cast, make_dataset: MakeDataset, who: str
) -> None:
    make_dataset(slug="power")
    response = api.patch(
        "/api/v1/datasets/power", json={"title_ko": "전력 사용량"}, headers=cast.headers(who)
    )
    assert response.status_code == _expected(who, CHANGERS, 200), response.text
    if response.status_code == 200:
        assert response.json()["title_ko"] == "전력 사용량"


def test_editing_keeps_unmentioned_fields_and_checks_the_period(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power", temporal_start="2024-01-01", keywords=["meter"])
    headers = cast.headers("steward_of_publisher")
    response = api.patch("/api/v1/datasets/power", json={"access_level": "secure"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["keywords"] == ["meter"]
    assert response.json()["access_level"] == "secure"
    bad = api.patch("/api/v1/datasets/power", json={"temporal_end": "2023-01-01"}, headers=headers)
    assert bad.status_code == 422


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("who", WHO)
def test_everyone_reads_every_datasets_metadata(
    api: TestClient, cast: Cast, make_dataset: MakeDataset, who: str, level: AccessLevel
) -> None:
    make_dataset(slug="power", access_level=level)
    response = api.get("/api/v1/datasets/power", headers=cast.headers(who))
    assert response.status_code == 200
    assert response.json()["access_level"] == level.value


def test_a_missing_dataset_is_404_with_a_hint(api: TestClient) -> None:
    response = api.get("/api/v1/datasets/nothing-here")
    assert response.status_code == 404
    assert "nothing-here" in response.json()["detail"]


def add_version(app: FastAPI, db: Session, dataset: Dataset, rows: int = 3) -> DatasetVersion:
    """A stored version without the ingest pipeline (for door tests)."""
    table = pa.table(
        {"meter": [f"m{i}" for i in range(rows)], "kwh": [1.5 * i for i in range(rows)]}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    path = Path(app.state.settings.data_dir) / f"v{dataset.id}.parquet"
    path.write_bytes(buffer.getvalue())
    key = f"parquet/test-{dataset.id}.parquet"
    app.state.store.put_file(key, path)
    version = DatasetVersion(
        dataset_id=dataset.id,
        number=1,
        source_filename="meters.csv",
        source_format="csv",
        source_sha256="0" * 64,
        source_bytes=100,
        object_key=key,
        parquet_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        parquet_bytes=path.stat().st_size,
        row_count=rows,
        table_schema={"fields": [{"name": "meter", "type": "string"}]},
        profile={"columns": {"kwh": {"min": 0.0, "max": 3.0}}},
    )
    db.add(version)
    db.commit()
    return version


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("who", WHO)
def test_downloads_follow_the_access_level(
    app: FastAPI,
    api: TestClient,
    cast: Cast,
    db: Session,
    make_dataset: MakeDataset,
    who: str,
    level: AccessLevel,
) -> None:
    add_version(app, db, make_dataset(slug="power", access_level=level))
    response = api.get("/api/v1/datasets/power/download", headers=cast.headers(who))
    allowed = who in ROW_ACCESS[level]
    assert response.status_code == (200 if allowed else 403), response.text
    if allowed:
        assert pq.read_table(io.BytesIO(response.content)).num_rows == 3
    outcome = "ok" if allowed else "denied"
    events = db.scalars(select(AuditEvent).where(AuditEvent.outcome == outcome)).all()
    assert any(e.resource_id == "power" and "download" in e.action for e in events)


def test_a_download_as_csv_streams_the_rows_with_a_header(
    app: FastAPI, api: TestClient, db: Session, make_dataset: MakeDataset
) -> None:
    add_version(app, db, make_dataset(slug="power"))
    response = api.get("/api/v1/datasets/power/download", params={"format": "csv", "version": 1})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "power-v1.csv" in response.headers["content-disposition"]
    lines = response.text.strip().splitlines()
    assert lines[0] == "meter,kwh"
    assert len(lines) == 4


def test_a_download_of_a_missing_version_or_format_is_refused(
    app: FastAPI, api: TestClient, db: Session, make_dataset: MakeDataset
) -> None:
    add_version(app, db, make_dataset(slug="power"))
    assert api.get("/api/v1/datasets/power/download", params={"version": 9}).status_code == 404
    assert api.get("/api/v1/datasets/power/download", params={"format": "xls"}).status_code == 422
    assert api.get("/api/v1/datasets/power/download", params={"version": "x"}).status_code == 422


def test_the_profile_is_shown_only_to_those_who_may_see_rows(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    add_version(app, db, make_dataset(slug="power", access_level=AccessLevel.secure))
    public = api.get("/api/v1/datasets/power").json()["latest"]
    assert public["table_schema"]["fields"][0]["name"] == "meter"
    assert public["profile"] is None
    assert public["profile_withheld"]
    steward = api.get("/api/v1/datasets/power", headers=cast.headers("steward_of_publisher"))
    assert steward.json()["latest"]["profile"] == {"columns": {"kwh": {"min": 0.0, "max": 3.0}}}
    version = api.get("/api/v1/datasets/power/versions/1", headers=cast.headers("operator"))
    assert version.json()["profile"] is not None
    assert api.get("/api/v1/datasets/power/versions/2").status_code == 404


@pytest.mark.parametrize("who", [w for w in WHO if w not in CHANGERS])
def test_others_may_not_upload_versions(
    api: TestClient, cast: Cast, make_dataset: MakeDataset, who: str
) -> None:
    # Allowed uploads (stewards of the publisher, operators) are in test_versions.py.
    make_dataset(slug="power")
    response = api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")},
        headers=cast.headers(who),
    )
    assert response.status_code == _expected(who, set(), 201)


def test_an_oversize_upload_is_refused_with_413_before_it_is_read(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    app.state.settings.max_upload_bytes = 1000
    response = api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("big.csv", b"x" * (6 * 1024 * 1024), "text/csv")},
        headers=cast.headers("steward_of_publisher"),
    )
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]
    assert db.scalars(select(DatasetVersion)).all() == []


def test_an_upload_slightly_over_the_limit_is_refused_with_413(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    app.state.settings.max_upload_bytes = 1000
    response = api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("big.csv", b"x" * 1001, "text/csv")},
        headers=cast.headers("steward_of_publisher"),
    )
    assert response.status_code == 413


def test_an_upload_without_a_file_is_explained(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    headers = cast.headers("steward_of_publisher")
    no_file = api.post("/api/v1/datasets/power/versions", data={"note": "x"}, headers=headers)
    assert no_file.status_code == 422
    assert "'file'" in no_file.json()["detail"]
    bad_json = api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("a.csv", b"a\n1\n", "text/csv")},
        data={"schema": "{not json"},
        headers=headers,
    )
    assert bad_json.status_code == 422
    assert "schema" in bad_json.json()["detail"]
    not_multipart = api.post("/api/v1/datasets/power/versions", content=b"a,b", headers=headers)
    assert not_multipart.status_code == 422
