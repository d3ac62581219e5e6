"""A user's query history and saved queries.

``QueryRun`` is written by the gateway in the same transaction as the query's audit entries,
one row per query or export a signed-in user runs (allowed, refused or failed).  It is the
user's own view of their work; the audit log stays the record of truth.  ``SavedQuery`` is a
named SQL text a user keeps for later, optionally tied to one of their projects.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.db.base import Base, str_enum, utcnow


class QueryAudit(AuditAction):
    """The SQL gateway: queries, exports and their door (``dataset.query_decision``)."""

    query_run = "query.run"
    query_exported = "query.exported"
    query_refused = "query.refused"
    query_export_refused = "query.export_refused"
    dataset_query_decision = "dataset.query_decision"


class RunStatus(StrEnum):
    ok = "ok"
    refused = "refused"  # the decision point or the disclosure rules said no
    failed = "failed"  # the SQL was invalid, or hit a limit


class RunKind(StrEnum):
    query = "query"
    export = "export"


class QueryRun(Base):
    __tablename__ = "query_runs"
    __table_args__ = (Index("ix_query_runs_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    kind: Mapped[RunKind] = mapped_column(str_enum(RunKind, "query_run_kind", length=20))
    sql: Mapped[str] = mapped_column(Text)
    sql_sha256: Mapped[str] = mapped_column(String(64))
    datasets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "query_run_status", length=20))
    rows_returned: Mapped[int | None]
    suppressed_groups: Mapped[int | None]
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedQuery(Base):
    __tablename__ = "saved_queries"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_queries_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    sql: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
