"""Every door, as the trust core promises it: each version decided on its own columns, a file
that is not the published one never read (and reported), deep or huge queries refused with a
clear status, and every refusal or crash audited."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.query.conftest import Ask, City, Grant

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.queries import get_version
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied, TooLarge, ValidationFailed
from bitgoeul.governance.models import Notification
from bitgoeul.governance.schemas import ApprovalConditions
from bitgoeul.privacy.pseudonyms import pseudonym_key, pseudonymise
from bitgoeul.query import actions as query_actions
from bitgoeul.storage.integrity import IntegrityFailed

OPEN = '"household-electricity"'


def _last(db: Session, action: str | None = None) -> AuditEvent:
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return db.scalars(query.limit(1)).one()


# --- Decisions per version -------------------------------------------------------------------


@pytest.fixture
def renamed(db: Session, settings: Settings, app: Any, city: City, tmp_path: Path) -> str:
    """Restricted patient records whose version 1 has a direct identifier that version 2
    dropped."""
    steward = city.cast.actors["steward_of_publisher"]
    dataset = catalog_actions.create_dataset(
        db,
        actor=steward,
        data=DatasetCreate(
            title="Patient records", sector=Sector.healthcare, access_level=AccessLevel.restricted
        ),
    )
    for number, header in ((1, ["patient_id", "age"]), (2, ["age"])):
        source = tmp_path / f"records-{number}.csv"
        with source.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for p in range(1, 6):
                writer.writerow([f"P{p:04d}", 30 + p] if number == 1 else [30 + p])
        catalog_actions.publish_version(
            db,
            settings=settings,
            store=app.state.store,
            actor=steward,
            slug=dataset.slug,
            source=source,
            filename=source.name,
            column_classes={"patient_id": "direct_identifier"} if number == 1 else {},
        )
    return dataset.slug


def test_a_pinned_old_version_is_decided_on_its_own_identifiers(
    ask: Ask, grant: Grant, renamed: str, settings: Settings, db: Session, app: Any, city: City
) -> None:
    project = grant({renamed: ApprovalConditions()})
    key = pseudonym_key(settings.secret(), f"project:{project}")
    queried = ask(f'SELECT patient_id FROM "{renamed}@1" ORDER BY age', project=project)
    assert queried.rows == [[pseudonymise(key, f"P{p:04d}")] for p in range(1, 6)]
    preview = catalog_actions.preview_version(
        db,
        store=app.state.store,
        actor=city.cast.actors["member"],
        slug=renamed,
        number=1,
        project_id=project,
        secret=settings.secret(),
    )
    assert "P0001" not in str(preview.rows)
    assert preview.rows[0][0] == pseudonymise(key, "P0001")


# --- Integrity -------------------------------------------------------------------------------


def _tamper(db: Session, app: Any, slug: str) -> None:
    """Change one byte of the latest version's stored file, as a broken disk or an intruder
    would."""
    version = get_version(db, slug, None)
    path = Path(app.state.store.local_file(version.object_key))
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _assert_reported(db: Session, city: City, slug: str) -> None:
    event = _last(db, "dataset.integrity_failed")
    assert event.resource_id == slug
    assert event.outcome == "failed"
    assert event.organization_id == city.electricity.publisher_id
    operator = city.cast.actors["operator"].user_id
    notes = db.scalars(select(Notification).where(Notification.user_id == operator)).all()
    assert any(n.kind == "dataset.integrity_failed" and slug in n.text for n in notes)


def test_a_changed_file_is_never_queried_and_operators_are_told(
    ask: Ask, db: Session, app: Any, city: City
) -> None:
    ask(f"SELECT count(*) FROM {OPEN}")
    _tamper(db, app, "household-electricity")
    with pytest.raises(IntegrityFailed) as refused:
        ask(f"SELECT count(*) FROM {OPEN}")
    assert refused.value.status_code == 503
    assert "not the one that was published" in refused.value.message
    assert _last(db, "query.refused").outcome == "denied"
    _assert_reported(db, city, "household-electricity")


@pytest.mark.parametrize("door", ["preview", "download"])
def test_a_changed_file_is_never_previewed_or_downloaded(
    api: TestClient, db: Session, app: Any, city: City, door: str
) -> None:
    _tamper(db, app, "household-electricity")
    response = api.get(f"/api/v1/datasets/household-electricity/{door}")
    assert response.status_code == 503
    assert "operators have been told" in response.json()["detail"]
    assert _last(db, f"dataset.{door}_decision").detail["door_outcome"] == "refused"
    _assert_reported(db, city, "household-electricity")


# --- Limits, nesting, crashes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        "SELECT {open_} {close} FROM " + OPEN,
        "SELECT kwh FROM " + OPEN + " WHERE {nots} kwh > 1",
        "SELECT {negs} kwh FROM " + OPEN,
        "SELECT kwh FROM " + OPEN + " WHERE kwh IN ({deep})",
    ],
)
def test_a_query_nested_thousands_deep_is_a_422_and_audited(
    ask: Ask, db: Session, shape: str
) -> None:
    sql = shape.format(
        open_="(" * 3000 + "1",
        close=")" * 3000,
        nots="NOT " * 3000,
        negs="- " * 3000,
        deep=("SELECT kwh FROM " + OPEN + " WHERE kwh IN (") * 200 + "1" + ")" * 200,
    )
    with pytest.raises(ValidationFailed) as refused:
        ask(sql)
    assert "nested" in refused.value.message
    assert _last(db).action == "query.refused"


def test_a_result_past_the_byte_cap_is_a_413_and_audited(
    db: Session, settings: Settings, app: Any, city: City
) -> None:
    small = settings.model_copy(update={"query_max_result_bytes": 50_000})
    with pytest.raises(TooLarge) as refused:
        query_actions.run_query(
            db,
            settings=small,
            store=app.state.store,
            actor=city.cast.actors["anonymous"],
            sql=f"SELECT repeat(district, 30000) FROM {OPEN}",
        )
    assert refused.value.status_code == 413
    assert "limit" in refused.value.message
    assert _last(db).action == "query.refused"


def test_the_byte_cap_is_a_setting_with_a_64_mib_default(settings: Settings) -> None:
    assert Settings().query_max_result_bytes == 64 * 1024 * 1024
    assert query_actions.limits_of(settings).max_result_bytes == settings.query_max_result_bytes


def test_a_crash_inside_a_door_is_audited_without_its_message(
    ask: Ask, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing in the gateway is known to crash; a fault is injected to show the record."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail /srv/secret/path")

    monkeypatch.setattr(query_actions.engine, "run", broken)
    with pytest.raises(RuntimeError):
        ask(f"SELECT count(*) FROM {OPEN}")
    summary = _last(db, "query.refused")
    assert summary.outcome == "failed"
    assert summary.detail["reason"] == "internal error (RuntimeError)"
    decision = _last(db, "dataset.query_decision")
    assert decision.detail["door_outcome"] == "failed"


def test_a_refused_dataset_is_named_and_every_decision_of_the_query_audited(
    ask: Ask, db: Session
) -> None:
    with pytest.raises(AccessDenied) as refused:
        ask(f'SELECT * FROM {OPEN} JOIN "clinic-visits" USING (district)')
    assert "Dataset 'clinic-visits'" in refused.value.message
    entries = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.query_decision")
    ).all()
    assert {(e.resource_id, e.outcome) for e in entries[-2:]} == {
        ("household-electricity", "ok"),
        ("clinic-visits", "denied"),
    }
    assert all(e.detail["door_outcome"] == "refused" for e in entries[-2:])
