"""The local store (a directory) passes the stores' conformance suite, and leaves no temporary
files behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.storage.store_conformance import ObjectStoreConformance

from bitgoeul.config import Settings
from bitgoeul.storage import LocalStore, ObjectStore, make_store


class TestLocalStore(ObjectStoreConformance):
    name = "local"

    @pytest.fixture
    def store(self, tmp_path: Path) -> ObjectStore:
        return LocalStore(tmp_path / "objects")


def test_the_settings_choose_a_folder_in_the_data_dir(tmp_path: Path) -> None:
    store = make_store(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "objects").resolve()


def test_replacing_an_object_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    source = tmp_path / "in.bin"
    source.write_bytes(b"one")
    store.put_file("k/v", source)
    source.write_bytes(b"two")
    store.put_file("k/v", source)
    with pytest.raises(FileNotFoundError):
        store.put_file("k/v", tmp_path / "does-not-exist")
    assert sorted(p.name for p in (tmp_path / "objects" / "k").iterdir()) == ["v"]
