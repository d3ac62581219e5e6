"""Files that hubs of earlier versions kept in the data directory, moved into the object store.

Held uploads (``<data>/held/<name>``) and the predictions files of testbed submissions
(``<data>/testbed/submissions/<id>/<file>``) used to live beside the store; they are objects
now (``held/<name>``, ``testbed/submissions/<id>/<file>``).  ``adopt_data_dir_files`` runs when
the app starts: each file is stored under its key (an object already there is kept) and only
then deleted from the data directory, so a start that is interrupted loses nothing and the next
one finishes the move.  Testbed splits are a cache and are made again; they are only removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bitgoeul.config import Settings
from bitgoeul.storage.base import ObjectStore

# Data-directory folder -> the key prefix its files take in the store.
MOVED = {"held": "held", "testbed/submissions": "testbed/submissions"}
DROPPED = ("testbed/splits",)


def adopt_data_dir_files(settings: Settings, store: ObjectStore) -> list[str]:
    """Move the earlier versions' files into ``store``; the keys moved."""
    root = settings.resolved_data_dir
    moved: list[str] = []
    for folder, prefix in MOVED.items():
        source = root / folder
        if not source.is_dir():
            continue
        for path in sorted(source.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            key = f"{prefix}/{path.relative_to(source).as_posix()}"
            if not store.exists(key):
                store.put_file(key, path)
            path.unlink()
            moved.append(key)
        _remove_empty(source)
    for folder in DROPPED:
        shutil.rmtree(root / folder, ignore_errors=True)
    return moved


def _remove_empty(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()
