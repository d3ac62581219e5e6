"""Linkage projects through the API: proposed, approved by every publisher, run by the key
custodian through the decision point, published as a new governed dataset, audited under
every publisher, intermediates deleted."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from linkage_city import LinkCity, project_body
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.config import Settings


def propose(api: TestClient, city: LinkCity, method: str = "bloom", **extra: Any) -> int:
    response = api.post(
        "/api/v1/linkage/projects",
        json=project_body(method, **extra),
        headers=city.headers("researcher"),
    )
    assert response.status_code == 201, response.text
    project_id: int = response.json()["id"]
    return project_id


def approve(api: TestClient, city: LinkCity, project_id: int, steward: str) -> None:
    response = api.post(
        f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(steward)
    )
    assert response.status_code == 200, response.text


def approve_all(api: TestClient, city: LinkCity, project_id: int) -> None:
    for steward in ("kepco_steward", "hospital_steward"):
        response = api.post(
            f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(steward)
        )
        assert response.status_code == 200, response.text


def run(api: TestClient, city: LinkCity, project_id: int, who: str = "custodian") -> Any:
    return api.post(f"/api/v1/linkage/projects/{project_id}/runs", headers=city.headers(who))


def test_a_proposed_project_waits_for_every_publisher(api: TestClient, city: LinkCity) -> None:
    project_id = propose(api, city)
    shown = api.get(f"/api/v1/linkage/projects/{project_id}", headers=city.headers("researcher"))
    assert shown.json()["awaiting"] == ["cnuh", "kepco"]
    approve(api, city, project_id, "kepco_steward")
    shown = api.get(f"/api/v1/linkage/projects/{project_id}", headers=city.headers("researcher"))
    assert shown.json()["awaiting"] == ["cnuh"]
    assert [a["organization"] for a in shown.json()["approvals"]] == ["kepco"]


def test_only_a_publishers_steward_approves(api: TestClient, city: LinkCity) -> None:
    project_id = propose(api, city)
    for who in ("researcher", "custodian"):
        response = api.post(
            f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(who)
        )
        assert response.status_code == 403, who


def test_a_run_before_every_approval_is_refused_by_the_decision_point(
    api: TestClient, city: LinkCity, db: Session
) -> None:
    project_id = propose(api, city)
    approve(api, city, project_id, "kepco_steward")
    response = run(api, city, project_id)
    assert response.status_code == 403
    assert "has not approved linkage project" in response.json()["detail"]
    refused = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.linkage_decision")
    ).all()
    by_dataset = {(e.resource_id, e.outcome) for e in refused}
    assert ("cnuh-patients", "denied") in by_dataset
    assert ("kepco-customers", "ok") in by_dataset
    assert not db.scalars(select(Dataset).where(Dataset.slug.like("linked-%"))).all()


def test_only_the_custodian_runs_an_approved_project(api: TestClient, city: LinkCity) -> None:
    project_id = propose(api, city)
    approve_all(api, city, project_id)
    for who in ("researcher", "kepco_steward"):
        response = run(api, city, project_id, who)
        assert response.status_code == 403, who
        assert "key custodian" in response.json()["detail"]


@pytest.mark.parametrize("method", ["bloom", "exact", "probabilistic"])
def test_a_run_publishes_the_linked_dataset_under_the_strictest_policy(
    api: TestClient, city: LinkCity, db: Session, settings: Settings, method: str
) -> None:
    project_id = propose(api, city, method)
    approve_all(api, city, project_id)
    response = run(api, city, project_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    linked = db.scalars(select(Dataset).where(Dataset.slug == body["linked_dataset"])).one()
    assert linked.access_level == AccessLevel.secure  # the hospital's level, the stricter
    assert linked.publisher.slug == "kisa"
    version = db.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == linked.id)).one()
    table = pq.read_table(app_store_path(settings, version.object_key))
    assert table.column_names == [
        "person_key", "kepco_customers_serial", "kepco_customers_kwh",
        "cnuh_patients_serial", "cnuh_patients_진단",
    ]  # fmt: skip
    found = {
        (a - 1, b - 1)
        for a, b in zip(
            table.column("kepco_customers_serial").to_pylist(),
            table.column("cnuh_patients_serial").to_pylist(),
            strict=True,
        )
    }
    correct = len(found & city.truth)
    assert correct / len(found) >= 0.98  # precision
    assert correct / len(city.truth) >= (0.4 if method == "exact" else 0.9)
    assert len(set(table.column("person_key").to_pylist())) == table.num_rows
    report = body["report"]
    assert report["persons"] == table.num_rows
    assert report["sources"][1]["linked"] == table.num_rows


def app_store_path(settings: Settings, key: str) -> Any:
    from bitgoeul.storage import make_store

    return make_store(settings).local_file(key)


def test_a_run_is_audited_under_every_publisher_and_deletes_its_intermediates(
    api: TestClient, city: LinkCity, db: Session, settings: Settings
) -> None:
    project_id = propose(api, city)
    approve_all(api, city, project_id)
    run_id = run(api, city, project_id).json()["id"]
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    publishers = {city.kepco.publisher_id, city.hospital.publisher_id}
    for action in ("linkage.run_finished", "linkage.intermediates_deleted"):
        under = {e.organization_id for e in events if e.action == action}
        assert publishers <= under, action
    deleted = next(e for e in events if e.action == "linkage.intermediates_deleted")
    names = {f["name"] for f in deleted.detail["files"]}
    assert {"encodings-0.npy", "encodings-1.npy", "candidates-1.npy"} <= names
    assert not list(settings.resolved_data_dir.glob(f"linkage-{run_id}-*"))
    secret_file = settings.resolved_data_dir / "custodians" / "kisa.key"
    assert all(secret_file.read_bytes().hex() not in str(e.detail) for e in events)


def test_the_report_suppresses_small_counts(api: TestClient, city: LinkCity, db: Session) -> None:
    project_id = propose(api, city, "exact", key_definitions=[
        {"name": "name_birth_phone", "fields": ["name", "birth_date", "phone"]}
    ])  # fmt: skip
    approve_all(api, city, project_id)
    report = run(api, city, project_id).json()["report"]
    assert report["suppressed_below"] == 5
    counts = list(report["sources"][1]["by_key"].values())
    assert all(n is None or n == 0 or n >= 5 for n in counts)


def test_a_run_is_seen_by_those_involved_only(api: TestClient, city: LinkCity) -> None:
    project_id = propose(api, city)
    approve_all(api, city, project_id)
    run_id = run(api, city, project_id).json()["id"]
    for who, status in (("researcher", 200), ("kepco_steward", 200), ("outsider", 404)):
        response = api.get(f"/api/v1/linkage/runs/{run_id}", headers=city.headers(who))
        assert response.status_code == status, who
    assert api.get(f"/api/v1/linkage/runs/{run_id}").status_code == 401


def test_a_source_column_that_does_not_exist_is_refused_by_name(
    api: TestClient, city: LinkCity
) -> None:
    body = project_body()
    body["sources"][0]["attributes"] = ["kwh", "income"]
    response = api.post("/api/v1/linkage/projects", json=body, headers=city.headers("researcher"))
    assert response.status_code == 422
    assert "'income'" in str(response.json()["detail"])


def test_a_probabilistic_run_reports_the_models_estimate_and_deletes_what_it_scored(
    api: TestClient, city: LinkCity, db: Session, settings: Settings
) -> None:
    project_id = propose(api, city, "probabilistic")
    shown = api.get(f"/api/v1/linkage/projects/{project_id}", headers=city.headers("researcher"))
    assert shown.json()["threshold"] == 0.9  # a match probability, the method's default
    approve_all(api, city, project_id)
    body = run(api, city, project_id).json()
    quality = body["report"]["quality"]
    assert 0.9 <= quality["precision"] <= 1.0
    assert 0.8 <= quality["recall"] <= 1.0
    assert "Fellegi" in quality["note"]
    assert body["report"]["sources"][1]["comparisons"] < 240 * 200 / 10
    deleted = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "linkage.intermediates_deleted")
    ).first()
    assert deleted is not None
    names = {f["name"] for f in deleted.detail["files"]}
    assert {"normalised-0.parquet", "normalised-1.parquet", "scored-1.npy"} <= names
    assert not list(settings.resolved_data_dir.glob(f"linkage-{body['id']}-*"))
