"""Local-directory object store: each object is a file, written via rename for atomicity.

Stored objects are made read-only (mode 0444): nothing that reads them (the locked query
engine, job inputs, the testbed's scorer) opens them for writing, and every door checks a
version's SHA-256 before reading it (``storage.integrity``).  Run the hub as a user other than
root, so that the mode also stops writes at the operating system."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from bitgoeul.errors import NotFound
from bitgoeul.messages import msg
from bitgoeul.storage.base import normalised_key


class LocalStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / normalised_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"object key {key!r} escapes the store")
        return path

    def put_file(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(msg("object {key} is not in the store", key=key))
        return path.open("rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(msg("object {key} is not in the store", key=key))
        return path.stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_file(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(msg("object {key} is not in the store", key=key))
        return path
