"""The S3 store passes the stores' conformance suite against a real S3-compatible server, and
its local copies are a cache that a changed bucket cannot poison."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from tests.storage.s3_server import CREDENTIALS, REGION, S3Server, s3_server  # noqa: F401
from tests.storage.store_conformance import ObjectStoreConformance

from bitgoeul.config import Settings
from bitgoeul.storage import make_store
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.s3 import S3Store


def _store(server: S3Server, tmp_path: Path, *, prefix: str = "") -> S3Store:
    return S3Store(
        bucket=server.new_bucket(),
        prefix=prefix,
        cache_dir=tmp_path / "cache",
        endpoint_url=server.endpoint_url,
        region=REGION,
        access_key_id=CREDENTIALS["aws_access_key_id"],
        secret_access_key=CREDENTIALS["aws_secret_access_key"],
    )


class TestS3Store(ObjectStoreConformance):
    name = "s3"

    @pytest.fixture
    def store(self, s3_server: S3Server, tmp_path: Path) -> ObjectStore:  # noqa: F811
        return _store(s3_server, tmp_path, prefix="hub")


def test_objects_live_in_the_bucket_under_the_prefix(
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = _store(s3_server, tmp_path, prefix="/hub/")
    source = tmp_path / "in.bin"
    source.write_bytes(b"rows")
    store.put_file("parquet/a.parquet", source)
    listed = store.client.list_objects_v2(Bucket=store.bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["hub/parquet/a.parquet"]


def test_an_object_changed_in_the_bucket_is_fetched_again(
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = _store(s3_server, tmp_path)
    source = tmp_path / "in.bin"
    source.write_bytes(b"published")
    store.put_file("parquet/a.parquet", source)
    first = store.local_file("parquet/a.parquet")
    assert store.local_file("parquet/a.parquet") == first  # cached, not fetched twice
    store.client.put_object(Bucket=store.bucket, Key="parquet/a.parquet", Body=b"changed!")
    second = store.local_file("parquet/a.parquet")
    assert second.read_bytes() == b"changed!"
    assert not first.exists()  # the old copy is gone, not left for a reader


def test_the_settings_choose_s3_and_a_bucket_is_required(
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    bucket = s3_server.new_bucket()
    settings = Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=s3_server.endpoint_url,
        s3_region=REGION,
        s3_access_key_id=CREDENTIALS["aws_access_key_id"],
        s3_secret_access_key=CREDENTIALS["aws_secret_access_key"],  # type: ignore[arg-type]
    )
    store = make_store(settings)
    assert isinstance(store, S3Store)
    assert store.bucket == bucket
    assert store.cache_dir == (tmp_path / "object-cache").resolve()
    with pytest.raises(ValueError, match="BITGOEUL_S3_BUCKET"):
        Settings(data_dir=tmp_path, storage_backend="s3")
    client = boto3.client("s3", endpoint_url=s3_server.endpoint_url, region_name=REGION)
    assert client.meta.endpoint_url == s3_server.endpoint_url
