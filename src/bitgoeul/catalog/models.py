"""Ingest runs and the catalog's audit actions; the dataset and version tables themselves are
``bitgoeul.datasets.models`` (below governance), re-exported here for the catalog's callers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.datasets.models import AccessLevel as AccessLevel
from bitgoeul.datasets.models import Dataset as Dataset
from bitgoeul.datasets.models import DatasetVersion as DatasetVersion
from bitgoeul.datasets.models import Sector as Sector
from bitgoeul.db.base import Base, str_enum, utcnow


class CatalogAudit(AuditAction):
    """Changes to datasets and their versions, and the catalog's two doors (preview, download)."""

    dataset_created = "dataset.created"
    dataset_updated = "dataset.updated"
    dataset_version_failed = "dataset.version_failed"
    dataset_version_published = "dataset.version_published"
    dataset_version_held = "dataset.version_held"
    dataset_version_discarded = "dataset.version_discarded"
    dataset_preview_decision = "dataset.preview_decision"
    dataset_download_decision = "dataset.download_decision"


class IngestStatus(StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    # Read, but some columns fell back to text because of a few cells: the staged file waits
    # for the steward to publish it as it is, or to discard it and upload a fixed file.
    awaiting_choice = "awaiting_choice"
    discarded = "discarded"


class IngestRun(Base):
    """One upload being turned into a version; what the upload page polls for progress."""

    __tablename__ = "ingest_runs"
    __table_args__ = (Index("ix_ingest_runs_dataset_started", "dataset_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    status: Mapped[IngestStatus] = mapped_column(str_enum(IngestStatus, "ingest_status", length=16))
    source_filename: Mapped[str] = mapped_column(String(300))
    bytes_total: Mapped[int] = mapped_column(default=0)
    bytes_done: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    error_report: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # {"columns": [...]}: the columns read as text because of a minority of cells, with those
    # cells (``ingest.pipeline``); kept after the steward's choice, as the record of it.
    text_fallbacks: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # While awaiting a choice: the staged Parquet's name under the data directory and the
    # facts the version will carry.  Cleared once published or discarded.
    staged: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
