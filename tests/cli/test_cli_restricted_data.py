"""The catalog's doors and the steward's edits from the shell: ``dataset preview`` and
``dataset download`` under a project's agreement (what it changed said), a folder made only
once the download is allowed, and ``dataset update`` for metadata, access and thresholds."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.cli.outcomes import ok, refused
from typer.testing import Result

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import AccessLevel, Dataset

Invoke = Callable[..., Result]
STEWARD, RESEARCHER, RESTRICTED, OPEN = (
    "kepco-steward",
    "researcher",
    "clinic-visits",
    "district-population",
)
pytestmark = pytest.mark.usefixtures("city")


@pytest.fixture
def agreed(invoke: Invoke) -> int:
    """The researcher's project with an agreement: three columns, patients over 35."""
    ok(
        invoke(
            "project", "create", "--as", RESEARCHER, "--title", "Flu season",
            "--purpose", "health-research", "--justification", "Plan clinic staffing.",
        )
    )  # fmt: skip
    ok(
        invoke(
            "request", "create", "--as", RESEARCHER, "--project", "1", "--dataset", RESTRICTED,
            "--column", "patient_id", "--column", "district", "--column", "age",
        )
    )  # fmt: skip
    ok(invoke("request", "approve", "1", "--as", STEWARD, "--row-filter", "age > 35"))
    return 1


def test_open_data_previews_for_anyone(invoke: Invoke) -> None:
    shown = ok(invoke("dataset", "preview", OPEN))
    assert "430000" in shown
    assert "Under agreement" not in shown


def test_restricted_data_without_a_project_is_refused_saying_why(invoke: Invoke) -> None:
    error = refused(invoke("dataset", "preview", RESTRICTED, "--as", RESEARCHER))
    assert "agreement" in error


def test_a_preview_under_the_agreement_says_what_it_changed(invoke: Invoke, agreed: int) -> None:
    shown = ok(
        invoke("dataset", "preview", RESTRICTED, "--as", RESEARCHER, "--project", str(agreed))
    )
    flat = " ".join(shown.split())
    assert "Under agreement 1 of project 1:" in flat
    assert "columns left out: name" in flat
    assert "only the rows where age > 35" in flat
    assert "identifiers replaced by this project's pseudonyms: patient_id" in flat
    assert "P0001" not in shown  # pseudonymised
    assert "Kim Patient" not in shown  # a column left out
    assert "│ 31 " not in shown  # a row filtered out


def test_a_download_into_a_new_folder_writes_only_what_the_agreement_allows(
    invoke: Invoke, agreed: int, tmp_path: Path
) -> None:
    folder = tmp_path / "out" / "visits"
    said = ok(
        invoke(
            "dataset", "download", RESTRICTED, f"{folder}/", "--format", "csv",
            "--as", RESEARCHER, "--project", str(agreed),
        )
    )  # fmt: skip
    (written,) = folder.iterdir()
    assert written.name in " ".join(said.split())
    with written.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert set(rows[0]) == {"patient_id", "district", "age"}
    assert {int(r["age"]) for r in rows} == set(range(36, 39))
    assert not any(r["patient_id"].startswith("P0") for r in rows)


def test_a_refused_download_makes_no_folder(invoke: Invoke, tmp_path: Path) -> None:
    refused(invoke("dataset", "download", RESTRICTED, f"{tmp_path}/never/", "--as", RESEARCHER))
    assert not (tmp_path / "never").exists()


def test_a_download_to_a_file_name_writes_that_file(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "population.parquet"
    ok(invoke("dataset", "download", OPEN, str(target)))
    assert target.read_bytes()[:4] == b"PAR1"
    assert not list(tmp_path.glob("*.part"))


def test_an_unknown_format_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    assert "parquet or csv" in refused(
        invoke("dataset", "download", OPEN, str(tmp_path), "--format", "xlsx")
    )


def test_a_steward_updates_metadata_access_licence_and_thresholds(
    invoke: Invoke, db: Session
) -> None:
    said = ok(
        invoke(
            "dataset", "update", RESTRICTED, "--as", STEWARD, "--title", "Clinic visits 2026",
            "--licence", "LicenseRef-KOGL-Type1", "--access-level", "secure",
            "--min-group-size", "15", "--dominance-n", "3", "--dominance-k", "0.8",
        )
    )  # fmt: skip
    assert "Updated dataset clinic-visits" in " ".join(said.split())
    dataset = db.scalars(select(Dataset).where(Dataset.slug == RESTRICTED)).one()
    db.refresh(dataset)
    assert dataset.title == "Clinic visits 2026"
    assert dataset.licence == "LicenseRef-KOGL-Type1"
    assert dataset.access_level == AccessLevel.secure
    assert (dataset.min_group_size, dataset.dominance_n, dataset.dominance_k) == (15, 3, 0.8)
    audited = db.scalars(
        select(AuditEvent).where(AuditEvent.resource_id == RESTRICTED).order_by(AuditEvent.seq)
    ).all()
    assert audited[-1].detail["fields"] == [
        "access_level", "dominance_k", "dominance_n", "licence", "min_group_size", "title",
    ]  # fmt: skip


def test_only_the_publishers_stewards_update_a_dataset(invoke: Invoke) -> None:
    refused(invoke("dataset", "update", RESTRICTED, "--as", RESEARCHER, "--title", "Mine"))


def test_an_update_needs_something_to_change_and_valid_values(invoke: Invoke) -> None:
    assert "Name something to change" in refused(
        invoke("dataset", "update", RESTRICTED, "--as", STEWARD)
    )
    assert "--min-group-size" in refused(
        invoke("dataset", "update", RESTRICTED, "--as", STEWARD, "--min-group-size", "0")
    )
