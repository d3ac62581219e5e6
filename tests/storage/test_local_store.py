"""Conformance tests for object stores; every backend runs this suite (local for now)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitgoeul.errors import NotFound
from bitgoeul.storage import LocalStore, ObjectStore


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return LocalStore(tmp_path / "objects")


def test_a_stored_file_reads_back_byte_for_byte(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"\x00\x01parquet" * 100)
    store.put_file("parquet/abc.parquet", source)
    assert store.exists("parquet/abc.parquet")
    assert store.size("parquet/abc.parquet") == source.stat().st_size
    with store.open("parquet/abc.parquet") as handle:
        assert handle.read() == source.read_bytes()


def test_a_missing_object_is_a_clear_not_found(store: ObjectStore) -> None:
    assert not store.exists("parquet/none.parquet")
    with pytest.raises(NotFound, match=r"parquet/none\.parquet"):
        store.open("parquet/none.parquet")


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a/../../b", ""])
def test_keys_cannot_escape_the_store(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="escapes"):
        store.exists(key)


def test_replacing_an_object_leaves_no_temporary_files(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"one")
    store.put_file("k/v", source)
    source.write_bytes(b"two")
    store.put_file("k/v", source)
    with store.open("k/v") as handle:
        assert handle.read() == b"two"
    root = tmp_path / "objects"
    assert sorted(p.name for p in (root / "k").iterdir()) == ["v"]


def test_a_failed_copy_leaves_the_previous_object_intact(
    store: ObjectStore, tmp_path: Path
) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"original")
    store.put_file("k/v", source)
    with pytest.raises(FileNotFoundError):
        store.put_file("k/v", tmp_path / "does-not-exist")
    with store.open("k/v") as handle:
        assert handle.read() == b"original"
    assert sorted(p.name for p in (tmp_path / "objects" / "k").iterdir()) == ["v"]


def test_delete_removes_the_object(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"x")
    store.put_file("k/v", source)
    store.delete("k/v")
    assert not store.exists("k/v")
    store.delete("k/v")  # deleting twice is not an error
