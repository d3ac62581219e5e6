"""A stored file is checked against its published SHA-256 before any door reads it."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from bitgoeul.storage.integrity import IntegrityFailed, verify_file


def _file(tmp_path: Path, content: bytes = b"PAR1 published bytes PAR1") -> tuple[Path, str]:
    path = tmp_path / "v.parquet"
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


def test_the_published_file_passes(tmp_path: Path) -> None:
    path, digest = _file(tmp_path)
    verify_file(path, digest, what="dataset 'x' version 1")
    verify_file(path, digest, what="dataset 'x' version 1")  # remembered, and still right


def test_a_changed_file_is_refused_without_naming_its_path(tmp_path: Path) -> None:
    path, digest = _file(tmp_path)
    verify_file(path, digest, what="dataset 'x' version 1")
    path.write_bytes(b"PAR1 forged bytes!!!! PAR1")
    with pytest.raises(IntegrityFailed) as failed:
        verify_file(path, digest, what="dataset 'x' version 1")
    assert failed.value.status_code == 503
    assert "dataset 'x' version 1" in failed.value.message
    assert str(tmp_path) not in failed.value.message
    assert failed.value.found == hashlib.sha256(b"PAR1 forged bytes!!!! PAR1").hexdigest()


def test_a_rewrite_that_keeps_size_and_modification_time_is_still_caught(tmp_path: Path) -> None:
    path, digest = _file(tmp_path)
    verify_file(path, digest, what="v1")
    before = path.stat()
    time.sleep(0.02)  # past the file system's timestamp granularity
    path.write_bytes(b"PAR1 forged bytes!!!!!PAR1"[: before.st_size])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    with pytest.raises(IntegrityFailed):
        verify_file(path, digest, what="v1")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IntegrityFailed, match="missing"):
        verify_file(tmp_path / "gone.parquet", "0" * 64, what="v1")
