"""Objects in an S3 bucket (Amazon S3, MinIO, Ceph RGW...), through boto3.

A ``PUT`` is atomic on S3, so a reader never sees part of an object.  DuckDB and PyArrow read
files: ``local_file`` downloads the object once into a cache directory on the hub's disk
(``<data>/object-cache``), named by the object's key and ETag, written under a temporary name
and renamed, then made read-only.  The door checks the copy's SHA-256 against the published one
before every read, as it does for the local store, so a changed bucket or cache is never read.
The locked engine is opened on those cached files only; it never reaches the network (its
``enable_external_access`` stays off).

DuckDB's own S3 support (the ``httpfs`` extension) is not used: no ``httpfs`` build for the
DuckDB version the hub pins can be installed from PyPI, and loading extensions would have to be
allowed in the locked engine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bitgoeul.errors import NotFound
from bitgoeul.messages import msg
from bitgoeul.storage.base import normalised_key

_MISSING = {"404", "NoSuchKey", "NotFound"}
_BLOCK = 1024 * 1024


class S3Store:
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        cache_dir: Path,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.cache_dir = cache_dir.resolve()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        return self.prefix + normalised_key(key)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise
        return head

    def put_file(self, key: str, source: Path) -> None:
        with source.open("rb") as stream:  # a missing source fails before anything is sent
            self.client.upload_fileobj(stream, self.bucket, self._key(key))

    def open(self, key: str) -> BinaryIO:
        return self.local_file(key).open("rb")

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise NotFound(msg("object {key} is not in the store", key=key))
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        folder = self.cache_dir / normalised_key(key)
        shutil.rmtree(folder, ignore_errors=True)

    def local_file(self, key: str) -> Path:
        head = self._head(key)
        if head is None:
            raise NotFound(msg("object {key} is not in the store", key=key))
        etag = str(head["ETag"]).strip('"').replace("/", "_")
        # One folder per key; the file in it is named by the object's ETag, so a replaced
        # object is fetched again and the copy of the old one removed.
        folder = self.cache_dir / normalised_key(key)
        cached = folder / etag
        if cached.is_file() and cached.stat().st_size == int(head["ContentLength"]):
            return cached
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        try:
            # The bytes of the version the ETag names (a 412 if it was replaced meanwhile).
            body = self.client.get_object(
                Bucket=self.bucket, Key=self._key(key), IfMatch=head["ETag"]
            )["Body"]
            with os.fdopen(fd, "wb") as sink, body:
                shutil.copyfileobj(body, sink, _BLOCK)
            os.chmod(tmp, 0o444)
            os.replace(tmp, cached)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for stale in folder.iterdir():
            if stale.name != etag and not stale.name.startswith(".incoming-"):
                stale.unlink(missing_ok=True)
        return cached
