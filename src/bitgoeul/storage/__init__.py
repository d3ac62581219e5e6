"""Object storage behind a small protocol, chosen by ``BITGOEUL_STORAGE_BACKEND``."""

from __future__ import annotations

from bitgoeul.config import Settings
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.local import LocalStore


def make_store(settings: Settings) -> ObjectStore:
    if settings.storage_backend == "local":
        return LocalStore(settings.ensure_data_dir() / "objects")
    raise ValueError(
        f"BITGOEUL_STORAGE_BACKEND={settings.storage_backend!r} is not available; use 'local'."
    )


__all__ = ["LocalStore", "ObjectStore", "make_store"]
