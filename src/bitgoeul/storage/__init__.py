"""Object storage behind a small protocol, chosen by ``BITGOEUL_STORAGE_BACKEND``."""

from __future__ import annotations

from bitgoeul.config import Settings
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.local import LocalStore


def make_store(settings: Settings) -> ObjectStore:
    """The store the settings name (``Settings`` refuses any other name at start-up)."""
    if settings.storage_backend == "s3":
        try:
            from bitgoeul.storage.s3 import S3Store
        except ImportError as error:  # pragma: no cover - boto3 is in the test extra
            raise RuntimeError(
                f"BITGOEUL_STORAGE_BACKEND=s3 needs boto3 ({error}); pip install 'bitgoeul[s3]'."
            ) from None
        secret = settings.s3_secret_access_key
        return S3Store(
            bucket=settings.s3_bucket or "",  # Settings refuses s3 without a bucket
            prefix=settings.s3_prefix,
            cache_dir=settings.ensure_data_dir() / "object-cache",
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
        )
    return LocalStore(settings.ensure_data_dir() / "objects")


__all__ = ["LocalStore", "ObjectStore", "make_store"]
