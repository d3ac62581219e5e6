"""Publishing immutable versions, and the doors into their rows (preview, download)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.catalog.conftest import WHO, Cast, MakeDataset
from tests.ingest.workbooks import METER_ROWS, XLSX_TYPE, xlsx_bytes, zip_bomb_xlsx

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.actions import publish_version
from bitgoeul.catalog.models import AccessLevel, DatasetVersion, IngestRun, IngestStatus
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied, ValidationFailed
from bitgoeul.ingest.report import restored

METERS = "meter,kwh\nm1,1.5\nm2,2.5\nm3,0.25\n"
INTEGERS = {"fields": [{"name": "meter", "type": "string"}, {"name": "kwh", "type": "integer"}]}
ROW_ACCESS = {
    AccessLevel.open: set(WHO),
    AccessLevel.registered: set(WHO) - {"anonymous"},
    AccessLevel.restricted: {"steward_of_publisher", "operator"},
    AccessLevel.secure: {"steward_of_publisher", "operator"},
}


def _objects(app: FastAPI) -> set[str]:
    root: Path = app.state.store.root
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _upload(
    api: TestClient, cast: Cast, content: str, *, who: str = "steward_of_publisher", **form: str
) -> Any:
    return api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("meters.csv", content.encode(), "text/csv")},
        data=form,
        headers=cast.headers(who),
    )


@pytest.mark.parametrize("who", ["steward_of_publisher", "operator"])
def test_a_steward_or_operator_uploads_a_file_and_it_becomes_version_1(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset, who: str
) -> None:
    make_dataset(slug="power")
    response = _upload(api, cast, METERS, who=who, note="first month")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["number"], body["row_count"], body["note"]) == (1, 3, "first month")
    assert [f["name"] for f in body["table_schema"]["fields"]] == ["meter", "kwh"]
    assert f"parquet/{body['parquet_sha256']}.parquet" in _objects(app)
    run = db.scalars(select(IngestRun)).one()
    assert run.status == IngestStatus.succeeded
    assert run.version_id is not None
    assert db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.version_published")
    ).one()


def test_each_upload_adds_the_next_version_and_leaves_earlier_ones_alone(
    api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    first = _upload(api, cast, METERS).json()
    second = _upload(api, cast, METERS + "m4,9.0\n").json()
    assert (first["number"], second["number"]) == (1, 2)
    dataset = api.get("/api/v1/datasets/power").json()
    assert [v["number"] for v in dataset["versions"]] == [2, 1]
    assert dataset["latest"]["row_count"] == 4
    old = api.get("/api/v1/datasets/power/versions/1").json()
    assert (old["row_count"], old["parquet_sha256"]) == (3, first["parquet_sha256"])


def test_a_bad_file_is_answered_with_its_error_report_and_changes_nothing(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    assert _upload(api, cast, METERS).status_code == 201
    objects_before = _objects(app)

    response = _upload(
        api,
        cast,
        METERS,
        schema=json.dumps(INTEGERS),
    )

    assert response.status_code == 422
    report = response.json()["detail"]
    assert isinstance(report, dict)
    assert "kwh" in str(report)
    assert api.get("/api/v1/datasets/power").json()["latest"]["number"] == 1
    assert len(db.scalars(select(DatasetVersion)).all()) == 1
    assert _objects(app) == objects_before
    failed = db.scalars(select(IngestRun).where(IngestRun.status == IngestStatus.failed)).one()
    assert restored(failed.error_report) == report  # kept translatable, read back the same
    assert failed.finished_at is not None
    work = Path(app.state.settings.data_dir) / "work"
    assert list(work.iterdir()) == []
    uploads = Path(app.state.settings.data_dir) / "uploads"
    assert list(uploads.iterdir()) == []


def test_an_empty_file_is_a_422_not_a_crash(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    response = _upload(api, cast, "")
    assert response.status_code == 422
    assert response.json()["detail"]


def test_an_xlsx_upload_becomes_a_version_with_the_sheets_rows(
    api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    response = api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("meters.xlsx", xlsx_bytes(METER_ROWS), XLSX_TYPE)},
        headers=cast.headers("steward_of_publisher"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["number"], body["row_count"]) == (1, 3)
    assert [f["name"] for f in body["table_schema"]["fields"]] == ["meter_id", "district", "kwh"]
    version = db.scalars(select(DatasetVersion)).one()
    assert (version.source_filename, version.source_format) == ("meters.xlsx", "xlsx")
    preview = api.get("/api/v1/datasets/power/preview").json()
    assert preview["rows"] == [
        ["M-001", "북구", 12.5],
        ["M-002", "동구", 8.0],
        ["M-003", "광산구", 0.25],
    ]


def test_an_xlsx_that_would_unpack_to_far_more_than_it_weighs_is_refused_and_nothing_kept(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    response = api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("meters.xlsx", zip_bomb_xlsx(), XLSX_TYPE)},
        headers=cast.headers("steward_of_publisher"),
    )
    assert response.status_code == 422, response.text
    report = response.json()["detail"]
    assert [e["rule"] for e in report["errors"]] == ["zip-bomb"]
    assert "Upload it as CSV or Parquet instead" in report["errors"][0]["message"]
    assert db.scalars(select(DatasetVersion)).all() == []
    assert _objects(app) == set()
    run = db.scalars(select(IngestRun)).one()
    assert (run.status, restored(run.error_report)) == (IngestStatus.failed, report)
    data_dir = Path(app.state.settings.data_dir)
    assert list((data_dir / "work").iterdir()) == []
    assert list((data_dir / "uploads").iterdir()) == []


def test_the_upload_page_can_follow_an_ingest_run(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    _upload(api, cast, METERS)
    runs = api.get(
        "/api/v1/datasets/power/ingest-runs", headers=cast.headers("steward_of_publisher")
    ).json()
    run = api.get(f"/api/v1/ingest-runs/{runs[0]['id']}", headers=cast.headers("operator")).json()
    assert run["status"] == "succeeded"
    assert run["version"] == 1
    assert run["rows_done"] == 3
    # Error reports may quote the data: others do not see runs at all.
    hidden = api.get(f"/api/v1/ingest-runs/{run['id']}", headers=cast.headers("member"))
    assert hidden.status_code == 404
    listing = api.get("/api/v1/datasets/power/ingest-runs", headers=cast.headers("member"))
    assert listing.status_code == 403


def test_progress_is_reported_and_written_to_the_ingest_run(
    settings: Settings,
    app: FastAPI,
    db: Session,
    cast: Cast,
    make_dataset: MakeDataset,
    tmp_path: Path,
) -> None:
    make_dataset(slug="power")
    source = tmp_path / "meters.csv"
    source.write_text("meter,kwh\n" + "".join(f"m{i},{i}.5\n" for i in range(20_000)))
    calls: list[tuple[int, int, int]] = []
    version = publish_version(
        db,
        settings=settings,
        store=app.state.store,
        actor=cast.actors["steward_of_publisher"],
        slug="power",
        source=source,
        filename="meters.csv",
        progress=lambda done, total, rows: calls.append((done, total, rows)),
    )
    assert version.row_count == 20_000
    assert calls
    assert calls[-1][0] == calls[-1][1] == source.stat().st_size
    run = db.scalars(select(IngestRun)).one()
    assert (run.bytes_done, run.rows_done) == (source.stat().st_size, 20_000)


def test_a_refused_publisher_leaves_no_ingest_run(
    settings: Settings,
    app: FastAPI,
    db: Session,
    cast: Cast,
    make_dataset: MakeDataset,
    tmp_path: Path,
) -> None:
    make_dataset(slug="power")
    source = tmp_path / "meters.csv"
    source.write_text(METERS)
    with pytest.raises(AccessDenied):
        publish_version(
            db,
            settings=settings,
            store=app.state.store,
            actor=cast.actors["steward_of_other_org"],
            slug="power",
            source=source,
            filename="meters.csv",
        )
    assert db.scalars(select(IngestRun)).all() == []


def test_concurrent_publishers_get_distinct_version_numbers(
    settings: Settings, app: FastAPI, cast: Cast, make_dataset: MakeDataset, tmp_path: Path
) -> None:
    make_dataset(slug="power")
    numbers: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def publish(i: int) -> None:
        source = tmp_path / f"m{i}.csv"
        source.write_text(METERS + f"extra{i},{i}\n")
        with app.state.sessionmaker() as session:
            barrier.wait()
            try:
                version = publish_version(
                    session,
                    settings=settings,
                    store=app.state.store,
                    actor=cast.actors["steward_of_publisher"],
                    slug="power",
                    source=source,
                    filename=f"m{i}.csv",
                )
                numbers.append(version.number)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]


def test_validation_failure_is_raised_to_callers_of_the_action(
    settings: Settings,
    app: FastAPI,
    db: Session,
    cast: Cast,
    make_dataset: MakeDataset,
    tmp_path: Path,
) -> None:
    make_dataset(slug="power")
    source = tmp_path / "meters.csv"
    source.write_text(METERS)
    with pytest.raises(ValidationFailed) as caught:
        publish_version(
            db,
            settings=settings,
            store=app.state.store,
            actor=cast.actors["operator"],
            slug="power",
            source=source,
            filename="meters.csv",
            declared_schema=INTEGERS,
        )
    assert isinstance(caught.value.detail, dict)
    assert source.exists()  # the caller's file is the caller's to remove


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("who", WHO)
def test_previews_follow_the_access_level(
    api: TestClient,
    cast: Cast,
    db: Session,
    make_dataset: MakeDataset,
    who: str,
    level: AccessLevel,
) -> None:
    make_dataset(slug="power", access_level=level)
    assert _upload(api, cast, METERS).status_code == 201
    response = api.get("/api/v1/datasets/power/preview", headers=cast.headers(who))
    if who in ROW_ACCESS[level]:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["columns"] == ["meter", "kwh"]
        assert body["rows"][0] == ["m1", 1.5]
        assert body["version"] == 1
    else:
        assert response.status_code == 403
        assert response.json()["detail"]
        assert "m1" not in response.text


def test_a_preview_before_any_version_says_so(api: TestClient, make_dataset: MakeDataset) -> None:
    make_dataset(slug="power")
    response = api.get("/api/v1/datasets/power/preview")
    assert response.status_code == 404
    assert "no version" in response.json()["detail"]
