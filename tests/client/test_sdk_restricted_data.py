"""The SDK reads restricted data under a project's agreement: ``preview(project=)`` says what
the agreement changed, ``download(project=)`` writes only what it allows, and
``download(slug, "dir/")`` makes the folder."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.client import AccessDenied, Client, Conflict, ValidationFailed
from bitgoeul.config import Settings

PASSWORD = "correct-horse-battery"  # the password conftest gives its people
RESTRICTED = "meter-owners"
OWNERS_CSV = (
    "meter_id,owner,district,kwh\n"
    "M-001,Kim Minji,Dong-gu,12.5\n"
    "M-002,Lee Jisoo,Seo-gu,8.25\n"
    "M-003,Park Hana,Buk-gu,3.0\n"
)


@pytest.fixture
def analyst(hub_url: str, db: Session, settings: Settings, people: None) -> Iterator[Client]:
    """A member of a research lab (members of organizations may lead projects)."""
    org = actions.create_organization(db, slug="gist-lab", name="GIST lab", kind="research")
    actions.create_user(
        db,
        username="analyst",
        password=PASSWORD,
        role="member",
        organization_id=org.id,
        settings=settings,
    )
    with Client(hub_url) as client:
        client.login("analyst", PASSWORD)
        yield client


@pytest.fixture
def restricted(steward: Client, tmp_path: Path) -> str:
    source = tmp_path / "owners.csv"
    source.write_text(OWNERS_CSV, encoding="utf-8")
    steward.create_dataset(
        slug=RESTRICTED,
        title="Meter owners",
        sector="energy",
        access_level="restricted",
    )
    steward.upload(
        RESTRICTED,
        source,
        column_classes={"meter_id": "direct_identifier", "owner": "direct_identifier"},
    )
    return RESTRICTED


@pytest.fixture
def agreed(analyst: Client, steward: Client, restricted: str) -> int:
    """The analyst's project, with an agreement: three columns, rows above 5 kWh."""
    project = analyst.create_project(
        title="Energy poverty", purpose="academic-research", justification="Find cold homes."
    )
    asked = analyst.request_access(
        project=project.id, dataset=restricted, columns=["meter_id", "district", "kwh"]
    )
    steward.approve(asked.id, row_filter="kwh > 5")
    return project.id


def test_preview_under_a_project_says_what_the_agreement_changed(
    analyst: Client, agreed: int
) -> None:
    preview = analyst.preview(RESTRICTED, project=agreed)
    assert preview.columns == ["meter_id", "district", "kwh"]
    assert [row[1] for row in preview.rows] == ["Dong-gu", "Seo-gu"]
    assert all(not row[0].startswith("M-") for row in preview.rows)
    assert preview.applied.project == agreed
    assert preview.applied.agreement is not None
    assert preview.applied.hidden_columns == ["owner"]
    assert preview.applied.row_filter == "kwh > 5"
    assert preview.applied.pseudonymised_columns == ["meter_id"]


def test_preview_of_open_data_applies_nothing(hub: Client, published: str) -> None:
    applied = hub.preview(published).applied
    assert applied.hidden_columns == []
    assert applied.pseudonymised_columns == []
    assert applied.row_filter is None
    assert applied.agreement is None


def test_preview_without_the_project_is_refused(analyst: Client, agreed: int) -> None:
    with pytest.raises(AccessDenied, match="name the project you are working for"):
        analyst.preview(RESTRICTED)


def test_download_under_a_project_writes_only_what_the_agreement_allows(
    analyst: Client, agreed: int, tmp_path: Path
) -> None:
    path = analyst.download(RESTRICTED, tmp_path / "owners.csv", format="csv", project=agreed)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["district"] for r in rows] == ["Dong-gu", "Seo-gu"]
    assert set(rows[0]) == {"meter_id", "district", "kwh"}
    assert "Kim Minji" not in path.read_text(encoding="utf-8")


def test_download_into_a_new_folder_makes_it(analyst: Client, agreed: int, tmp_path: Path) -> None:
    path = analyst.download(RESTRICTED, f"{tmp_path}/out/nested/", format="csv", project=agreed)
    assert path.parent == tmp_path / "out" / "nested"
    assert path.name == f"{RESTRICTED}-v1.csv"
    assert path.read_text(encoding="utf-8").startswith("meter_id,district,kwh")


def test_a_refused_download_makes_no_folder(
    analyst: Client, restricted: str, tmp_path: Path
) -> None:
    with pytest.raises(AccessDenied):
        analyst.download(RESTRICTED, f"{tmp_path}/never/")
    assert not (tmp_path / "never").exists()


def test_a_hidden_test_set_cannot_be_requested(analyst: Client, steward: Client) -> None:
    steward.create_dataset(
        slug="demand-test-set", title="Demand test set", sector="energy", holdout=True
    )
    project = analyst.create_project(
        title="Forecasts", purpose="academic-research", justification="Benchmarks."
    )
    with pytest.raises(Conflict, match="hidden test set"):
        analyst.request_access(project=project.id, dataset="demand-test-set")
    listed = analyst.datasets(kind="test_set")
    assert [d.slug for d in listed.items] == ["demand-test-set"]
    assert "demand-test-set" not in [d.slug for d in analyst.datasets().items]


def test_approving_a_request_on_a_test_set_needs_confirm_test_set(
    analyst: Client, steward: Client, restricted: str
) -> None:
    project = analyst.create_project(
        title="Forecasts", purpose="academic-research", justification="Benchmarks."
    )
    asked = analyst.request_access(project=project.id, dataset=restricted)
    steward.update_dataset(restricted, holdout=True)  # a test set after it was requested
    (queued,) = [r for r in steward.access_requests() if r.id == asked.id]
    assert queued.dataset_is_test_set
    with pytest.raises(ValidationFailed, match="hidden test set"):
        steward.approve(asked.id)
    agreement = steward.approve(asked.id, confirm_test_set=True)
    assert agreement.dataset == restricted


def test_a_steward_changes_metadata_access_and_thresholds(steward: Client, restricted: str) -> None:
    changed = steward.update_dataset(
        restricted,
        title="Meter owners by district",
        licence="CC-BY-4.0",
        access_level="secure",
        min_group_size=20,
    )
    assert changed.title == "Meter owners by district"
    assert changed.licence == "CC-BY-4.0"
    assert changed.access_level == "secure"
    assert steward.dataset(restricted).min_group_size == 20
    with pytest.raises(ValidationFailed, match="min_group_size"):
        steward.update_dataset(restricted, min_group_size=0)


def test_only_the_publishers_stewards_change_a_dataset(analyst: Client, restricted: str) -> None:
    with pytest.raises(AccessDenied):
        analyst.update_dataset(restricted, title="Mine now")
