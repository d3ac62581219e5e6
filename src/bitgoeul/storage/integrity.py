"""A version's file is what was published: its SHA-256 is checked whenever a door reads it.

Versions are content-addressed (``parquet/<sha256>.parquet``) and the store keeps them
read-only, but a file can still change on disk: an operator's mistake, a broken disk, or an
attacker with a way in.  Every door verifies the file against the SHA-256 recorded at
publication before reading it.  Hashing costs about a second per gigabyte, so a verified file
is remembered by (device, inode, size, modification and change time): any write to it changes
one of them, and the next read hashes it again.  The change time moves on every write and
cannot be set back, so a file written and then given its old modification time is hashed
again as well.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from bitgoeul.errors import BitgoeulError

_MAX_REMEMBERED = 4096

_verified: dict[tuple[str, int, int, int, int, int], str] = {}
_lock = threading.Lock()


class IntegrityFailed(BitgoeulError):
    """A stored file differs from what was published; nothing is read from it."""

    status_code = 503

    def __init__(self, message: str, *, path: Path, expected: str, found: str) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.found = found


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read in blocks: the one file hash in the platform."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def missing_file(what: str, *, path: Path, expected: str) -> IntegrityFailed:
    """The error for a published file that is no longer in the store."""
    return IntegrityFailed(
        f"The stored file of {what} is missing; the hub's operators have been told.",
        path=path,
        expected=expected,
        found="missing",
    )


def _identity(path: Path) -> tuple[str, int, int, int, int, int]:
    stat = os.stat(path)
    return (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def verify_file(path: Path, expected_sha256: str, *, what: str) -> None:
    """Raise ``IntegrityFailed`` unless ``path`` hashes to ``expected_sha256``.

    ``what`` names the file for people (``dataset 'x' version 2``); the path stays out of the
    message.
    """
    try:
        identity = _identity(path)
    except FileNotFoundError:
        raise missing_file(what, path=path, expected=expected_sha256) from None
    with _lock:
        if _verified.get(identity) == expected_sha256:
            return
    found = file_sha256(path)
    if found != expected_sha256:
        raise IntegrityFailed(
            f"The stored file of {what} is not the one that was published (its SHA-256 "
            "differs), so it is not read; the hub's operators have been told.",
            path=path,
            expected=expected_sha256,
            found=found,
        )
    with _lock:
        if len(_verified) >= _MAX_REMEMBERED:
            _verified.pop(next(iter(_verified)))
        _verified[identity] = expected_sha256
