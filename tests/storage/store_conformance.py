"""What every object store does, as one suite: a backend's module subclasses
``ObjectStoreConformance`` and overrides the ``store`` fixture (``test_local_store.py``,
``test_s3_store.py``)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bitgoeul.config import Settings
from bitgoeul.errors import NotFound
from bitgoeul.storage.adopt import adopt_data_dir_files
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

    def test_files_an_earlier_hub_kept_in_the_data_directory_move_into_the_store(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        settings = Settings(data_dir=tmp_path / "data")
        data = settings.resolved_data_dir
        (data / "held").mkdir(parents=True)
        (data / "held" / "run-7.parquet").write_bytes(b"staged rows")
        kept = data / "testbed" / "submissions" / "12"
        kept.mkdir(parents=True)
        (kept / "predictions.csv").write_bytes(b"id,prediction\n1,2.5\n")
        (data / "testbed" / "splits").mkdir()
        (data / "testbed" / "splits" / "3-v1-abc.npy").write_bytes(b"cache")
        already = tmp_path / "already.bin"
        already.write_bytes(b"the store's own copy")
        store.put_file("testbed/submissions/12/predictions.csv", already)

        moved = adopt_data_dir_files(settings, store)

        assert moved == ["held/run-7.parquet", "testbed/submissions/12/predictions.csv"]
        with store.open("held/run-7.parquet") as handle:
            assert handle.read() == b"staged rows"
        with store.open("testbed/submissions/12/predictions.csv") as handle:
            assert handle.read() == b"the store's own copy"  # an object already there stays
        assert not (data / "held").exists()
        assert not (data / "testbed" / "submissions").exists()
        assert not (data / "testbed" / "splits").exists()
        assert adopt_data_dir_files(settings, store) == []  # the next start finds nothing

    def test_an_opened_object_reads_from_any_offset(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        source = tmp_path / "log.txt"
        source.write_bytes(b"first line\nsecond line\n")
        store.put_file("jobs/1/log.txt", source)
        with store.open("jobs/1/log.txt") as handle:
            handle.seek(11)
            assert handle.read() == b"second line\n"
