"""The control tower's one table: a snapshot of every indicator, one row per day.

The indicators themselves are computed from the other packages' tables (``tower.indicators``);
a snapshot keeps their values as they were on a day, so the tower can draw them over time
without recomputing the past (which the tables no longer hold: a withdrawn consent or a
deleted job changes today's counts, not last month's).  ``values`` maps an indicator's key to
its number, or to null when the indicator was not available (or had nothing to measure) that
day; ``bases`` maps it to the number of records the value rested on, so that a past value about
a few people is suppressed on the public page just as today's is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.db.base import Base, utcnow


class TowerAudit(AuditAction):
    """The control tower's one write."""

    snapshot_taken = "tower.snapshot_taken"


class TowerSnapshot(Base):
    __tablename__ = "tower_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    bases: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
