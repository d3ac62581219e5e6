"""The SDK against a running hub: each method once, errors as the classes users catch."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.ingest.workbooks import METER_ROWS, xlsx_bytes

from bitgoeul.client import (
    AccessDenied,
    Client,
    Conflict,
    NotAuthenticated,
    NotFound,
    UploadHeld,
    ValidationFailed,
)

PASSWORD = "correct-horse-battery"  # the password conftest gives its people


def test_a_client_without_a_token_is_anonymous(hub: Client) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        hub.me()
    assert caught.value.status == 401
    assert "Sign in" in caught.value.message


def test_login_keeps_the_token_and_me_says_who_you_are(hub: Client, people: None) -> None:
    user = hub.login("kepco", PASSWORD)
    assert hub.token is not None
    assert hub.token.startswith("bgt_")
    assert user.username == "kepco"
    assert user.role == "steward"
    assert user.organization is not None
    assert user.organization.slug == "kepco"


def test_a_wrong_password_raises_not_authenticated_and_keeps_no_token(
    hub: Client, people: None
) -> None:
    with pytest.raises(NotAuthenticated, match="username or password is wrong"):
        hub.login("kepco", "not-the-password")
    assert hub.token is None


def test_an_invalid_token_is_refused_not_ignored(hub_url: str) -> None:
    with Client(hub_url, token="bgt_not-a-token") as client, pytest.raises(NotAuthenticated):
        client.me()


def test_a_new_token_works_until_it_is_revoked(researcher: Client, hub_url: str) -> None:
    created = researcher.create_token("notebook", expires_in_days=7)
    assert created.token.startswith("bgt_")
    listed = researcher.tokens()
    assert "notebook" in [token.name for token in listed]
    assert all(not hasattr(token, "token") for token in listed)
    with Client(hub_url, token=created.token) as notebook:
        assert notebook.me().username == "researcher"
        researcher.revoke_token(created.id)
        with pytest.raises(NotAuthenticated, match="revoked"):
            notebook.me()


def test_revoking_a_token_that_is_not_yours_is_not_found(researcher: Client) -> None:
    with pytest.raises(NotFound):
        researcher.revoke_token(999_999)


def test_organizations_are_listed_by_slug(hub: Client, people: None) -> None:
    assert [org.slug for org in hub.organizations()] == ["kepco"]


def test_an_unknown_dataset_raises_not_found_with_the_hubs_message(hub: Client) -> None:
    with pytest.raises(NotFound) as caught:
        hub.dataset("no-such-dataset")
    assert caught.value.status == 404
    assert caught.value.message


def test_a_researcher_may_not_create_datasets(researcher: Client) -> None:
    with pytest.raises(AccessDenied) as caught:
        researcher.create_dataset(title="Mine", sector="energy", publisher="kepco")
    assert caught.value.status == 403


def test_a_published_dataset_is_found_by_its_korean_title(hub: Client, published: str) -> None:
    found = hub.datasets(q="전력")
    assert found.total == 1
    assert [d.slug for d in found.items] == [published]
    assert found.items[0].latest_version == 1
    assert hub.datasets(sector="healthcare").total == 0


def test_dataset_shows_the_metadata_and_versions(hub: Client, published: str) -> None:
    dataset = hub.dataset(published)
    assert dataset.title_ko == "가정용 전력 사용량"
    assert dataset.publisher == "kepco"
    assert [v["number"] for v in dataset.versions] == [1]  # type: ignore[attr-defined]


def test_preview_returns_the_first_rows(hub: Client, published: str) -> None:
    preview = hub.preview(published)
    assert preview.columns == ["meter_id", "day", "kwh"]
    assert preview.rows[0][0] == "M-001"
    assert len(preview.rows) == 3


def test_download_streams_parquet_to_a_file(hub: Client, published: str, tmp_path: Path) -> None:
    path = hub.download(published, tmp_path / "meters.parquet")
    table = pq.read_table(path)
    assert table.num_rows == 3
    assert table.column_names == ["meter_id", "day", "kwh"]
    assert not list(tmp_path.glob("*.part"))


def test_download_into_a_directory_names_the_file(
    hub: Client, published: str, tmp_path: Path
) -> None:
    path = hub.download(published, tmp_path, format="csv")
    assert path.parent == tmp_path
    assert path.suffix == ".csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["meter_id", "day", "kwh"]
    assert len(rows) == 4


def test_the_catalog_is_exported_as_dcat_json_ld(hub: Client, published: str) -> None:
    catalog = hub.catalog_jsonld()
    assert "@context" in catalog
    assert published in str(catalog)


def test_an_xlsx_workbook_is_uploaded_as_a_version_with_its_rows(
    steward: Client, tmp_path: Path
) -> None:
    steward.create_dataset(slug="meters", title="Meters", sector="energy", access_level="open")
    workbook = tmp_path / "meters.xlsx"
    workbook.write_bytes(xlsx_bytes(METER_ROWS))
    version = steward.upload("meters", workbook, note="from Excel")
    assert (version.number, version.source_filename, version.row_count) == (1, "meters.xlsx", 3)
    preview = steward.preview("meters")
    assert preview.columns == ["meter_id", "district", "kwh"]
    assert preview.rows == [
        ["M-001", "북구", 12.5],
        ["M-002", "동구", 8.0],
        ["M-003", "광산구", 0.25],
    ]


def test_an_invalid_upload_raises_validation_failed_with_the_report(
    steward: Client, tmp_path: Path
) -> None:
    steward.create_dataset(slug="meters", title="Meters", sector="energy")
    bad = tmp_path / "bad.csv"
    bad.write_text("meter_id,day,kwh\nM-001,2026-01-01,-3\nM-002,2026-01-01,abc\n")
    schema = {
        "fields": [
            {"name": "meter_id", "type": "string"},
            {"name": "day", "type": "date"},
            {"name": "kwh", "type": "number", "constraints": {"minimum": 0}},
        ]
    }
    with pytest.raises(ValidationFailed) as caught:
        steward.upload("meters", bad, schema=schema)
    report = caught.value.report
    assert report is not None
    assert report["valid"] is False
    assert report["error_count"] == 2
    assert {(e["row"], e["field"]) for e in report["errors"]} == {(2, "kwh"), (3, "kwh")}


HELD = "day,kwh\n2026-11-29,1.5\n2026-11-31,2.5\n2026-12-01,not-a-number\n2026-12-02,0.5\n"


def test_an_upload_with_bad_cells_raises_upload_held_naming_them(
    steward: Client, tmp_path: Path
) -> None:
    steward.create_dataset(slug="meters", title="Meters", sector="energy", access_level="open")
    path = tmp_path / "meters.csv"
    path.write_text(HELD)
    with pytest.raises(UploadHeld) as caught:
        steward.upload("meters", path)
    held = caught.value
    assert held.status == 202
    assert {c["field"]: c["cells"] for c in held.columns} == {
        "day": [{"row": 3, "value": "2026-11-31"}],
        "kwh": [{"row": 4, "value": "not-a-number"}],
    }
    assert "2026-11-31" in held.message
    run = steward.ingest_run(held.run_id)
    assert run.status == "awaiting_choice"
    assert steward.dataset("meters").latest_version is None
    version = steward.publish_ingest_run(held.run_id)
    assert version.number == 1
    with pytest.raises(Conflict):
        steward.discard_ingest_run(held.run_id)


def test_a_held_upload_can_be_discarded(steward: Client, tmp_path: Path) -> None:
    steward.create_dataset(slug="meters", title="Meters", sector="energy", access_level="open")
    path = tmp_path / "meters.csv"
    path.write_text(HELD)
    with pytest.raises(UploadHeld) as caught:
        steward.upload("meters", path)
    run = steward.discard_ingest_run(caught.value.run_id)
    assert (run.status, run.version) == ("discarded", None)
    accepted = steward.upload("meters", path, accept_text=True)
    assert accepted.number == 1


def test_an_identical_upload_raises_conflict(steward: Client, tmp_path: Path) -> None:
    steward.create_dataset(slug="meters", title="Meters", sector="energy", access_level="open")
    path = tmp_path / "meters.csv"
    path.write_text("day,kwh\n2026-11-29,1.5\n")
    assert steward.upload("meters", path).number == 1
    with pytest.raises(Conflict) as caught:
        steward.upload("meters", path)
    assert "identical to version 1" in caught.value.message


def test_column_classes_are_set_after_the_columns_are_known(
    steward: Client, tmp_path: Path
) -> None:
    steward.create_dataset(slug="meters", title="Meters", sector="energy", access_level="open")
    path = tmp_path / "meters.csv"
    path.write_text("meter_id,kwh\nM-1,1.5\nM-2,2.5\n")
    steward.upload("meters", path)
    version = steward.set_column_classes("meters", {"meter_id": "direct_identifier"})
    assert version.number == 2
    fields = version.model_extra["table_schema"]["fields"]  # type: ignore[index]
    assert fields[0]["classification"] == "direct_identifier"
    unchanged = steward.set_column_classes("meters", {"meter_id": "direct_identifier"})
    assert unchanged.number == 2
