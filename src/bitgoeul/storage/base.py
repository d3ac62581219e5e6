"""The object-store protocol.  Backends: ``local`` (a directory) and ``s3`` (a bucket).

Every byte of a stored object is reached through a store: a door reads a version from
``local_file`` (the object itself for the local store, a verified cached copy for S3), after
checking its SHA-256 (``storage.integrity``).  The conformance suite every backend passes is
``tests/storage/store_conformance.py``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import BinaryIO, Protocol


class ObjectStore(Protocol):
    """Content-addressed blobs.  Keys are chosen by the caller (e.g. ``parquet/<sha256>``)."""

    name: str

    def put_file(self, key: str, source: Path) -> None:
        """Store ``source`` under ``key`` atomically (readers never see a partial object)."""

    def open(self, key: str) -> BinaryIO:
        """The object's bytes, seekable (a job's log is read from an offset); ``NotFound`` when
        there is no such object."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """The object's size in bytes; ``NotFound`` when there is no such object."""

    def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is not an error."""

    def local_file(self, key: str) -> Path:
        """A read-only local file holding the object's bytes, for readers that need a path
        (DuckDB, PyArrow); ``NotFound`` when there is no such object.  Whoever reads it checks
        its SHA-256 first (``Door.read_path``)."""


def normalised_key(key: str) -> str:
    """``key`` written one way (``a/./b`` is ``a/b``); ``ValueError`` for a key that is empty,
    absolute or climbs out of the store (``../x``)."""
    normal = posixpath.normpath(key) if key else ""
    if not normal or normal in (".", "..") or normal.startswith(("/", "../")):
        raise ValueError(f"object key {key!r} escapes the store")
    return normal
