"""The dataset and version tables, below governance.

The decision point (``governance.decision``) and its doors read a dataset's publisher, access
level and versions; the catalog (search, pages, DCAT, uploads, the doors' callers) sits above
governance.  Keeping the tables here lets governance read them without importing the catalog,
so the package graph has no cycle.  ``catalog.models`` re-exports them for the catalog's
callers.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bitgoeul.accounts.models import Organization
from bitgoeul.db.base import Base, str_enum, utcnow


class AccessLevel(StrEnum):
    open = "open"
    registered = "registered"
    restricted = "restricted"
    secure = "secure"


class Sector(StrEnum):
    energy = "energy"
    healthcare = "healthcare"
    mobility = "mobility"
    public_administration = "public-administration"
    telecom = "telecom"
    consumer_electronics = "consumer-electronics"
    commerce = "commerce"
    security = "security"
    ai_training = "ai-training"
    environment = "environment"


class Dataset(Base):
    __tablename__ = "datasets"
    # One index covers what browsing and facet counting read (facet values, newest first), so
    # they never touch the wide text columns; single-column indexes would tempt the planners
    # into reading whole rows to check the other facets.
    __table_args__ = (
        Index(
            "ix_datasets_browse",
            "sector",
            "access_level",
            "licence",
            "publisher_id",
            "updated_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_ko: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_ko: Mapped[str] = mapped_column(Text, default="")
    publisher_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    sector: Mapped[Sector] = mapped_column(
        str_enum(Sector, "sector", length=32),
    )
    keywords: Mapped[list[str]] = mapped_column(default=list)
    licence: Mapped[str] = mapped_column(String(64))
    access_level: Mapped[AccessLevel] = mapped_column(
        str_enum(AccessLevel, "access_level", length=16)
    )
    temporal_start: Mapped[date | None]
    temporal_end: Mapped[date | None]
    spatial: Mapped[str] = mapped_column(String(200), default="")
    update_frequency: Mapped[str] = mapped_column(String(32), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    min_group_size: Mapped[int] = mapped_column(default=10)
    # The N-K dominance rule for secure aggregates: a sum or mean is suppressed when its
    # ``dominance_n`` largest contributors hold more than ``dominance_k`` of the total.
    dominance_n: Mapped[int] = mapped_column(default=2, server_default="2")
    dominance_k: Mapped[float] = mapped_column(default=0.9, server_default="0.9")
    # A testbed's hidden test set: its rows (the labels) never leave through any door; only its
    # publisher's stewards, operators and the testbed's scorer read them.
    holdout: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What the full-text index reads (see catalog/search_text.py): the titles, and the rest
    # (descriptions, keywords, publisher names, sector, place), each already folded into
    # tokens, with Hangul split into overlapping bigrams so Korean words match inside
    # compounds.  Two columns so a title match ranks above a description match.
    search_title: Mapped[str] = mapped_column(Text, default="")
    search_document: Mapped[str] = mapped_column(Text, default="")
    # PostgreSQL only: the weighted tsvector of the two columns above, kept by a trigger and
    # GIN-indexed (catalog/search_index.py).  Always NULL on SQLite, where FTS5 is the index.
    search_vector: Mapped[str | None] = mapped_column(
        Text().with_variant(TSVECTOR(), "postgresql"), deferred=True
    )

    publisher: Mapped[Organization] = relationship()
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number"
    )


class DatasetVersion(Base):
    """An immutable, numbered version: one content-addressed Parquet file plus its facts."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number", name="uq_dataset_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int]
    source_filename: Mapped[str] = mapped_column(String(300))
    source_format: Mapped[str] = mapped_column(String(16))
    source_encoding: Mapped[str] = mapped_column(String(32), default="")
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_bytes: Mapped[int]
    object_key: Mapped[str] = mapped_column(String(200))
    parquet_sha256: Mapped[str] = mapped_column(String(64))
    parquet_bytes: Mapped[int]
    row_count: Mapped[int]
    table_schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")
