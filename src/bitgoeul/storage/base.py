"""The object-store protocol.  Backends: ``local`` (a directory); S3 is one more class."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol


class ObjectStore(Protocol):
    """Content-addressed blobs.  Keys are chosen by the caller (e.g. ``parquet/<sha256>``)."""

    def put_file(self, key: str, source: Path) -> None:
        """Store ``source`` under ``key`` atomically (readers never see a partial object)."""

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path to the object when the backend has one (DuckDB reads it directly)."""
