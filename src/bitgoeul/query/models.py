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

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.db.base import Base, utcnow


class RunStatus(StrEnum):
    ok = "ok"
    refused = "refused"  # the decision point or the disclosure rules said no
    failed = "failed"  # the SQL was invalid, or hit a limit


class RunKind(StrEnum):
    query = "query"
    export = "export"


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=20,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )


class QueryRun(Base):
    __tablename__ = "query_runs"
    __table_args__ = (Index("ix_query_runs_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    kind: Mapped[RunKind] = mapped_column(_enum(RunKind, "query_run_kind"))
    sql: Mapped[str] = mapped_column(Text)
    sql_sha256: Mapped[str] = mapped_column(String(64))
    datasets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus, "query_run_status"))
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
