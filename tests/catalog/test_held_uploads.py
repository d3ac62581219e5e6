"""Uploads whose columns fall back to text because of a few cells wait for the steward's
choice; an upload identical to the latest version makes no new version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.catalog.conftest import Browser, Cast, MakeDataset

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import DatasetVersion, IngestRun, IngestStatus
from bitgoeul.config import Settings

GOOD = "day,kwh\n2026-11-29,1.5\n2026-11-30,2.5\n2026-12-01,3.0\n2026-12-02,0.5\n"
BAD = "day,kwh\n2026-11-29,1.5\n2026-11-31,2.5\n2026-12-01,not-a-number\n2026-12-02,0.5\n"


def _upload(api: TestClient, cast: Cast, content: str, **form: str) -> Any:
    return api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("meters.csv", content.encode(), "text/csv")},
        data=form,
        headers=cast.headers("steward_of_publisher"),
    )


def _objects(app: FastAPI) -> set[str]:
    root: Path = app.state.store.root
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _held_files(app: FastAPI) -> list[str]:
    """The staged uploads waiting for a choice, kept in the object store."""
    return sorted(key for key in _objects(app) if key.startswith("held/"))


def test_a_first_upload_with_bad_cells_is_held_naming_them(
    app: FastAPI,
    api: TestClient,
    cast: Cast,
    db: Session,
    make_dataset: MakeDataset,
    settings: Settings,
) -> None:
    make_dataset(slug="power")
    response = _upload(api, cast, BAD)
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] == "awaiting_choice"
    assert run["version"] is None
    by_field = {column["field"]: column for column in run["text_fallbacks"]}
    assert by_field["day"]["type"] == "date"
    assert by_field["day"]["cells"] == [{"row": 3, "value": "2026-11-31"}]
    assert by_field["kwh"]["type"] == "number"
    assert by_field["kwh"]["cells"] == [{"row": 4, "value": "not-a-number"}]
    assert by_field["kwh"]["file"] == "meters.csv"
    assert db.scalars(select(DatasetVersion)).all() == []
    assert not [key for key in _objects(app) if key.startswith("parquet/")]
    assert len(_held_files(app)) == 1
    assert api.get("/api/v1/datasets/power").json()["latest"] is None


def test_publishing_a_held_upload_makes_the_version_with_text_columns(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    run = _upload(api, cast, BAD).json()
    response = api.post(
        f"/api/v1/ingest-runs/{run['id']}/publish", headers=cast.headers("steward_of_publisher")
    )
    assert response.status_code == 201, response.text
    version = response.json()
    assert version["number"] == 1
    assert [f["type"] for f in version["table_schema"]["fields"]] == ["string", "string"]
    again = api.get(
        f"/api/v1/ingest-runs/{run['id']}", headers=cast.headers("steward_of_publisher")
    ).json()
    assert (again["status"], again["version"]) == ("succeeded", 1)
    assert again["text_fallbacks"]  # the record of what was accepted stays
    assert _held_files(app) == []
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.version_published")
    ).one()
    assert event.detail["text_columns"] == ["day", "kwh"]


def test_discarding_a_held_upload_keeps_the_earlier_version_untouched(
    app: FastAPI,
    api: TestClient,
    cast: Cast,
    db: Session,
    make_dataset: MakeDataset,
    settings: Settings,
) -> None:
    make_dataset(slug="power")
    first = _upload(api, cast, GOOD).json()
    objects_before = _objects(app)
    run = _upload(api, cast, BAD).json()
    response = api.post(
        f"/api/v1/ingest-runs/{run['id']}/discard", headers=cast.headers("steward_of_publisher")
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "discarded"
    assert _held_files(app) == []
    assert _objects(app) == objects_before
    latest = api.get("/api/v1/datasets/power").json()["latest"]
    assert (latest["number"], latest["parquet_sha256"]) == (1, first["parquet_sha256"])
    assert db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.version_discarded")
    ).one()


def test_a_held_upload_changed_in_the_store_is_not_published(
    app: FastAPI, api: TestClient, cast: Cast, make_dataset: MakeDataset, settings: Settings
) -> None:
    make_dataset(slug="power")
    run = _upload(api, cast, BAD).json()
    [held] = _held_files(app)
    other = settings.resolved_data_dir / "other.parquet"
    other.write_bytes(b"PAR1 not the staged rows PAR1")
    app.state.store.put_file(held, other)
    refused = api.post(
        f"/api/v1/ingest-runs/{run['id']}/publish", headers=cast.headers("steward_of_publisher")
    )
    assert refused.status_code == 409, refused.text
    assert "upload the file again" in refused.json()["detail"]
    assert api.get("/api/v1/datasets/power").json()["latest"] is None
    assert not [key for key in _objects(app) if key.startswith("parquet/")]


def test_a_choice_is_made_once(api: TestClient, cast: Cast, make_dataset: MakeDataset) -> None:
    make_dataset(slug="power")
    run = _upload(api, cast, BAD).json()
    headers = cast.headers("steward_of_publisher")
    assert api.post(f"/api/v1/ingest-runs/{run['id']}/discard", headers=headers).status_code == 200
    again = api.post(f"/api/v1/ingest-runs/{run['id']}/publish", headers=headers)
    assert again.status_code == 409
    assert "not waiting for a choice" in again.json()["detail"]
    assert api.get("/api/v1/datasets/power").json()["latest"] is None


def test_only_the_publishers_stewards_may_choose(
    app: FastAPI, api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    run = _upload(api, cast, BAD).json()
    for who in ("steward_of_other_org", "member"):
        for choice in ("publish", "discard"):
            answer = api.post(
                f"/api/v1/ingest-runs/{run['id']}/{choice}", headers=cast.headers(who)
            )
            assert answer.status_code == 403, (who, choice, answer.text)
    assert db.get(IngestRun, run["id"]).status == IngestStatus.awaiting_choice  # type: ignore[union-attr]
    assert len(_held_files(app)) == 1


def test_accept_text_publishes_at_once(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    response = _upload(api, cast, BAD, accept_text="true")
    assert response.status_code == 201, response.text
    assert response.json()["number"] == 1


def test_a_column_that_is_mostly_text_is_not_held(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    response = _upload(api, cast, "name,code\nkim,007\nlee,x1\npark,y2\n")
    assert response.status_code == 201, response.text


def test_an_identical_upload_says_so_and_makes_no_version(
    api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    assert _upload(api, cast, GOOD).status_code == 201
    response = _upload(api, cast, GOOD)
    assert response.status_code == 409
    assert "identical to version 1" in response.json()["detail"]["message"]
    assert [v.number for v in db.scalars(select(DatasetVersion))] == [1]
    changed = _upload(api, cast, GOOD + "2026-12-03,1.0\n")
    assert (changed.status_code, changed.json()["number"]) == (201, 2)


def test_the_same_file_with_other_column_classes_is_a_new_version(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    assert _upload(api, cast, GOOD).status_code == 201
    response = _upload(api, cast, GOOD, column_classes='{"kwh": "quasi_identifier"}')
    assert response.status_code == 201, response.text


def test_a_browser_session_chooses_with_its_csrf_token(
    api: TestClient, cast: Cast, make_dataset: MakeDataset, browser: Browser
) -> None:
    make_dataset(slug="power")
    run = _upload(api, cast, BAD).json()
    token = browser("steward_of_publisher")
    refused = api.post(f"/api/v1/ingest-runs/{run['id']}/publish")
    assert refused.status_code == 403
    done = api.post(f"/api/v1/ingest-runs/{run['id']}/publish", headers={"X-CSRF-Token": token})
    assert done.status_code == 201, done.text


def test_a_failed_upload_report_is_read_back_in_korean(
    api: TestClient, cast: Cast, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    failed = _upload(api, cast, "", schema="")
    assert failed.status_code == 422
    runs = api.get(
        "/api/v1/datasets/power/ingest-runs", headers=cast.headers("steward_of_publisher")
    ).json()
    korean = api.get(
        f"/api/v1/ingest-runs/{runs[0]['id']}",
        headers={**cast.headers("steward_of_publisher"), "Accept-Language": "ko"},
    ).json()
    message = korean["error_report"]["errors"][0]["message"]
    assert "비어" in message, message


# Column classes set after the columns are known --------------------------------------------


def _classes(version: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["classification"] for f in version["table_schema"]["fields"]}


def test_changing_column_classes_publishes_the_same_rows_as_the_next_version(
    api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    first = _upload(api, cast, GOOD).json()
    response = api.post(
        "/api/v1/datasets/power/column-classes",
        json={"classes": {"kwh": "sensitive"}},
        headers=cast.headers("steward_of_publisher"),
    )
    assert response.status_code == 201, response.text
    second = response.json()
    assert second["number"] == 2
    assert _classes(second) == {**_classes(first), "kwh": "sensitive"}
    assert second["row_count"] == first["row_count"]
    types = [(f["name"], f["type"]) for f in second["table_schema"]["fields"]]
    assert types == [(f["name"], f["type"]) for f in first["table_schema"]["fields"]]
    preview = api.get(
        "/api/v1/datasets/power/preview", headers=cast.headers("steward_of_publisher")
    ).json()
    assert len(preview["rows"]) == 4
    again = api.post(
        "/api/v1/datasets/power/column-classes",
        json={"classes": {"kwh": "sensitive"}},
        headers=cast.headers("steward_of_publisher"),
    )
    assert (again.status_code, again.json()["number"]) == (200, 2)
    assert [v.number for v in db.scalars(select(DatasetVersion))] == [1, 2]


def test_column_classes_are_refused_to_others_and_for_unknown_columns(
    api: TestClient, cast: Cast, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power")
    _upload(api, cast, GOOD)
    for who in ("steward_of_other_org", "member"):
        refused = api.post(
            "/api/v1/datasets/power/column-classes",
            json={"classes": {"kwh": "sensitive"}},
            headers=cast.headers(who),
        )
        assert refused.status_code == 403, who
    unknown = api.post(
        "/api/v1/datasets/power/column-classes",
        json={"classes": {"phone": "direct_identifier"}},
        headers=cast.headers("steward_of_publisher"),
    )
    assert unknown.status_code == 422
    assert "no column named 'phone'" in unknown.json()["detail"]
    bad_class = api.post(
        "/api/v1/datasets/power/column-classes",
        json={"classes": {"kwh": "secret"}},
        headers=cast.headers("steward_of_publisher"),
    )
    assert bad_class.status_code == 422
    assert [v.number for v in db.scalars(select(DatasetVersion))] == [1]
