"""Tables of the differential-privacy door: what a steward approved, the budgets, the releases.

* ``DpProfile``: per dataset, what the steward approved for DP requests: the privacy unit (the
  column naming a person, normally the direct identifier, and the most rows one person may
  contribute), the public key set (each group-by column with the values it may take, published
  in advance so that which groups exist reveals nothing), and per measured column its bounds,
  its decimals and its quantile candidates.
* ``DpBudget``: a cap in ε for one *scope* of one dataset: ``dataset`` (every project
  together, so colluding projects cannot add their budgets up), ``project:<id>``, or, for a
  time-partitioned dataset, ``partition:<value>`` (every project together, releases on that
  partition only: it takes the place of ``dataset`` for them).  Amounts are
  kept in micro-ε (integers), so the sum of debits is exact and "spent never exceeds the cap"
  is checked without rounding.  Each budget has a δ cap beside it, kept the same way in
  units of 10^-15 (``DELTA_UNIT``): only releases grouped by keys released with a threshold
  spend δ, and a budget whose δ cap is 0 (the default) refuses them.
* ``DpRelease``: one release: the request's hash (request + version), its cost, its status
  (``reserved`` while noise is drawn, ``spent`` with the stored noisy answer, or deleted when
  refunded), so a repeated request returns the same answer at no cost.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.db.base import Base, str_enum, utcnow

DATASET_SCOPE = "dataset"
MICRO = 1_000_000  # micro-ε per ε
DELTA_UNIT = 10**15  # δ is kept in units of 10^-15


PARTITION_PREFIX = "partition:"
MAX_PARTITION_LENGTH = 40  # a scope is at most 60 characters


def project_scope(project_id: int) -> str:
    return f"project:{project_id}"


def partition_scope(partition: str) -> str:
    return f"{PARTITION_PREFIX}{partition}"


class DpAudit(AuditAction):
    """The DP door: profiles, budgets, debits, refunds and releases."""

    dp_profile_set = "dp.profile_set"
    dp_budget_set = "dp.budget_set"
    dp_debit = "dp.debit"
    dp_refund = "dp.refund"
    dp_release_repeated = "dp.release_repeated"
    dp_published = "dp.published"
    dataset_dp_budgets_read = "dataset.dp_budgets_read"
    dataset_dp_quote_decision = "dataset.dp_quote_decision"
    dataset_dp_release_decision = "dataset.dp_release_decision"
    dataset_dp_publish = "dataset.dp_publish"


class ReleaseStatus(StrEnum):
    reserved = "reserved"
    spent = "spent"


class DpProfile(Base):
    __tablename__ = "dp_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), unique=True
    )
    person_column: Mapped[str] = mapped_column(String(200))
    max_rows_per_person: Mapped[int]
    # {"district": ["Dong-gu", ...], "age_band": ["0-19", ...]}
    keys: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"cost": {"lower": 0, "upper": 500000, "decimals": 0, "candidates": [0, 1000, ...]}}
    measures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A key column whose values are time partitions ("2026-01", ...): each release reads one
    # partition and is charged on that partition's budget instead of the dataset's.
    partition_column: Mapped[str | None] = mapped_column(String(200), default=None)
    # Key columns without a public key set: their groups are released only above a noisy
    # threshold, each such release spending ``delta`` (set by the steward) beside its ε.
    threshold_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    delta: Mapped[float | None] = mapped_column(default=None)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DpBudget(Base):
    __tablename__ = "dp_budgets"
    __table_args__ = (UniqueConstraint("dataset_id", "scope", name="uq_dp_budgets_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(60))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    cap_micro: Mapped[int] = mapped_column(BigInteger)
    spent_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_cap: Mapped[int] = mapped_column(BigInteger, default=0)  # in DELTA_UNITs
    delta_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def left_micro(self) -> int:
        return self.cap_micro - self.spent_micro - self.reserved_micro

    @property
    def delta_left(self) -> int:
        return self.delta_cap - self.delta_spent - self.delta_reserved


class DpPersonRows(Base):
    """The most rows one person has in a version, as one door's view reads it (``view_sha256``:
    the view's SQL, so a different agreement's row filter is counted on its own).  A version
    never changes, so this is counted once: when it is within the profile's limit, bounding
    contributions would drop nothing, and releases skip it (same answer, much faster)."""

    __tablename__ = "dp_person_rows"
    __table_args__ = (
        UniqueConstraint(
            "version_id", "person_column", "view_sha256", name="uq_dp_person_rows_view"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    person_column: Mapped[str] = mapped_column(String(200))
    view_sha256: Mapped[str] = mapped_column(String(64))
    max_rows: Mapped[int] = mapped_column(BigInteger)
    # True when no two persons share a 64-bit hash(person) in this view: releases may then
    # partition the bounding window by that integer (same rows, much faster); None: not counted.
    person_hash_unique: Mapped[bool | None] = mapped_column(default=None)
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)


class DpRelease(Base):
    __tablename__ = "dp_releases"
    __table_args__ = (Index("ix_dp_releases_dataset_created", "dataset_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    measurement_sha256: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    partition: Mapped[str | None] = mapped_column(String(MAX_PARTITION_LENGTH), default=None)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[ReleaseStatus] = mapped_column(
        str_enum(ReleaseStatus, "dp_release_status", length=20)
    )
    cost_micro: Mapped[int] = mapped_column(BigInteger)
    delta_cost: Mapped[int] = mapped_column(BigInteger, default=0)  # in DELTA_UNITs
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    spent_at: Mapped[datetime | None]


class DpBoundedCopy(Base):
    """A version's rows as one door's view reads them, at most ``max_rows`` per person (per
    person and partition when ``partition_column`` is set): written once, the first time a
    release on the version must drop rows, so later releases aggregate without the
    per-person window.  Which rows are kept depends on each person's own rows only (the
    smallest hashes of the whole row), so every release over the copy keeps the sensitivity
    of ``dp.plan``.  The file is secure data like its source: kept in the object store under
    ``object_key`` and checked against ``sha256`` before every read."""

    __tablename__ = "dp_bounded_copies"
    __table_args__ = (
        UniqueConstraint(
            "version_id",
            "view_sha256",
            "person_column",
            "partition_column",
            "max_rows",
            name="uq_dp_bounded_copies_view",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    view_sha256: Mapped[str] = mapped_column(String(64))
    person_column: Mapped[str] = mapped_column(String(200))
    partition_column: Mapped[str] = mapped_column(String(200))  # "" when not partitioned
    max_rows: Mapped[int]
    object_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
