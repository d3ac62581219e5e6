"""Object storage behind a small protocol, chosen by ``BITGOEUL_STORAGE_BACKEND``."""

from __future__ import annotations

from bitgoeul.config import Settings
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.local import LocalStore


def make_store(settings: Settings) -> ObjectStore:
    # ``Settings`` types the backend as a ``Literal``: any other name fails at start-up.
    return LocalStore(settings.ensure_data_dir() / "objects")


__all__ = ["LocalStore", "ObjectStore", "make_store"]
