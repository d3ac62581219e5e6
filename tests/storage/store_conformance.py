"""What every object store does, as one suite: a backend's module subclasses
``ObjectStoreConformance`` and overrides the ``store`` fixture (``test_local_store.py``,
``test_s3_store.py``)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bitgoeul.errors import NotFound
from bitgoeul.storage.base import ObjectStore


class ObjectStoreConformance:
    name: str

    @pytest.fixture
    def store(self) -> ObjectStore:
        raise NotImplementedError("a backend's suite overrides the store fixture")

    def test_it_names_itself(self, store: ObjectStore) -> None:
        assert store.name == self.name

    def test_a_stored_file_reads_back_byte_for_byte(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        source = tmp_path / "in.bin"
        source.write_bytes(b"\x00\x01parquet" * 100)
        store.put_file("parquet/abc.parquet", source)
        assert store.exists("parquet/abc.parquet")
        assert store.size("parquet/abc.parquet") == source.stat().st_size
        with store.open("parquet/abc.parquet") as handle:
            assert handle.read() == source.read_bytes()

    def test_a_large_file_round_trips(self, store: ObjectStore, tmp_path: Path) -> None:
        source = tmp_path / "large.bin"
        source.write_bytes(os.urandom(9 * 1024 * 1024))  # past boto3's multipart threshold
        store.put_file("parquet/large.parquet", source)
        local = store.local_file("parquet/large.parquet")
        assert (
            hashlib.sha256(local.read_bytes()).digest()
            == hashlib.sha256(source.read_bytes()).digest()
        )

    def test_the_local_file_holds_the_bytes_and_is_read_only(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        source = tmp_path / "in.bin"
        source.write_bytes(b"version one")
        store.put_file("parquet/v.parquet", source)
        local = store.local_file("parquet/v.parquet")
        assert local.read_bytes() == b"version one"
        assert local.stat().st_mode & 0o222 == 0

    def test_a_missing_object_is_a_clear_not_found(self, store: ObjectStore) -> None:
        assert not store.exists("parquet/none.parquet")
        for read in (store.open, store.size, store.local_file):
            with pytest.raises(NotFound, match=r"parquet/none\.parquet"):
                read("parquet/none.parquet")

    @pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a/../../b", "", "."])
    def test_keys_cannot_escape_the_store(self, store: ObjectStore, key: str) -> None:
        with pytest.raises(ValueError, match="escapes"):
            store.exists(key)

    def test_replacing_an_object_is_read_as_the_new_one(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        source = tmp_path / "in.bin"
        source.write_bytes(b"one")
        store.put_file("k/v", source)
        assert store.local_file("k/v").read_bytes() == b"one"
        source.write_bytes(b"two!")
        store.put_file("k/v", source)
        with store.open("k/v") as handle:
            assert handle.read() == b"two!"
        assert store.local_file("k/v").read_bytes() == b"two!"

    def test_a_failed_copy_leaves_the_previous_object_intact(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        source = tmp_path / "in.bin"
        source.write_bytes(b"original")
        store.put_file("k/v", source)
        with pytest.raises(FileNotFoundError):
            store.put_file("k/v", tmp_path / "does-not-exist")
        with store.open("k/v") as handle:
            assert handle.read() == b"original"

    def test_delete_removes_the_object(self, store: ObjectStore, tmp_path: Path) -> None:
        source = tmp_path / "in.bin"
        source.write_bytes(b"x")
        store.put_file("k/v", source)
        store.local_file("k/v")
        store.delete("k/v")
        assert not store.exists("k/v")
        with pytest.raises(NotFound):
            store.local_file("k/v")
        store.delete("k/v")  # deleting twice is not an error
