"""The hub on an S3 store: versions are published into the bucket, and the gateway, previews
and downloads read them through the same door, on the same locked engine, from verified local
copies (``storage/s3.py``).  The bucket is a real S3-compatible server (moto's, over HTTP)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.query.conftest import Ask, City
from tests.storage.s3_server import CREDENTIALS, REGION, S3Server, s3_server  # noqa: F401

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.queries import get_version
from bitgoeul.config import Settings
from bitgoeul.storage.integrity import IntegrityFailed
from bitgoeul.storage.s3 import S3Store

OPEN = '"household-electricity"'


@pytest.fixture
def settings(settings: Settings, s3_server: S3Server) -> Settings:  # noqa: F811
    return settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_bucket": s3_server.new_bucket(),
            "s3_endpoint_url": s3_server.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": CREDENTIALS["aws_access_key_id"],
            "s3_secret_access_key": SecretStr(CREDENTIALS["aws_secret_access_key"]),
        }
    )


def test_published_versions_are_objects_in_the_bucket(db: Session, app: Any, city: City) -> None:
    store = app.state.store
    assert isinstance(store, S3Store)
    keys = {item["Key"] for item in store.client.list_objects_v2(Bucket=store.bucket)["Contents"]}
    version = get_version(db, city.electricity.slug, None)
    assert version.object_key in keys
    assert not (app.state.settings.resolved_data_dir / "objects").exists()


def test_a_query_reads_an_s3_version_through_the_locked_engine(api: TestClient, city: City) -> None:
    response = api.post(
        "/api/v1/query",
        json={"sql": f"SELECT district, count(*) AS n FROM {OPEN} GROUP BY district ORDER BY 1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["Buk", 20], ["Nam", 20], ["Seo", 20]]


def test_a_preview_and_a_download_read_from_the_bucket(api: TestClient, city: City) -> None:
    preview = api.get(f"/api/v1/datasets/{city.electricity.slug}/preview")
    assert preview.status_code == 200, preview.text
    download = api.get(f"/api/v1/datasets/{city.electricity.slug}/download")
    assert download.status_code == 200, download.text
    assert download.content.startswith(b"PAR1")


def test_an_object_changed_in_the_bucket_is_never_queried(
    ask: Ask, db: Session, app: Any, city: City
) -> None:
    assert ask(f"SELECT count(*) FROM {OPEN}").rows == [[60]]
    store: S3Store = app.state.store
    version = get_version(db, city.electricity.slug, None)
    stored = store.local_file(version.object_key).read_bytes()
    changed = bytearray(stored)
    changed[len(changed) // 2] ^= 0xFF
    store.client.put_object(Bucket=store.bucket, Key=version.object_key, Body=bytes(changed))
    with pytest.raises(IntegrityFailed, match="not the one that was published"):
        ask(f"SELECT count(*) FROM {OPEN}")
    event = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "dataset.integrity_failed")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None
    assert event.resource_id == city.electricity.slug
