"""The append-only, hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.db.base import Base, utcnow


class AuditAction(StrEnum):
    """What an audit event records, named ``<thing>.<what happened>``.

    Each package that audits names its actions in its own subclass (``ComputeAudit`` in
    ``compute/models.py``...), and ``record_event`` takes only those, so a name is written in
    one place.  The values are what the log stores: never change one, or the entries already
    written stop matching it.
    """


class AuditEvent(Base):
    """One event.  ``hash`` = SHA-256 over the previous hash and this event's canonical JSON."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_name: Mapped[str] = mapped_column(String(64), default="anonymous")
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    resource_type: Mapped[str] = mapped_column(String(32), default="")
    resource_id: Mapped[str] = mapped_column(String(128), default="", index=True)
    organization_id: Mapped[int | None] = mapped_column(index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
