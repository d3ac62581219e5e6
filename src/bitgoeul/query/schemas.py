"""What crosses the query API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bitgoeul.query.actions import DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT, QueryResult
from bitgoeul.query.models import QueryRun, RunKind, RunStatus, SavedQuery
from bitgoeul.query.rewrite import MAX_SQL_CHARS


class QueryRequest(BaseModel):
    sql: str = Field(max_length=MAX_SQL_CHARS, description="One DuckDB SELECT query.")
    project: int | None = Field(
        default=None, description="The project whose agreement the query runs under."
    )
    limit: int = Field(default=DEFAULT_ROW_LIMIT, ge=1, le=MAX_ROW_LIMIT)


class DatasetUsed(BaseModel):
    slug: str
    version: int


class QueryResponse(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    suppressed_groups: int
    datasets: list[DatasetUsed]
    elapsed_ms: float

    @classmethod
    def of(cls, result: QueryResult) -> QueryResponse:
        return cls(
            columns=result.columns,
            rows=result.rows,
            row_count=result.row_count,
            truncated=result.truncated,
            suppressed_groups=result.suppressed_groups,
            datasets=[DatasetUsed(**d) for d in result.datasets],
            elapsed_ms=result.elapsed_ms,
        )


class QueryRunPublic(BaseModel):
    """One entry of a user's query history."""

    id: int
    kind: RunKind
    sql: str
    sql_sha256: str
    project: int | None
    datasets: list[str]
    status: RunStatus
    rows_returned: int | None
    suppressed_groups: int | None
    duration_ms: int
    error: str | None
    created_at: datetime

    @classmethod
    def of(cls, run: QueryRun) -> QueryRunPublic:
        return cls(
            id=run.id,
            kind=run.kind,
            sql=run.sql,
            sql_sha256=run.sql_sha256,
            project=run.project_id,
            datasets=[str(d["slug"]) for d in run.datasets],
            status=run.status,
            rows_returned=run.rows_returned,
            suppressed_groups=run.suppressed_groups,
            duration_ms=run.duration_ms,
            error=run.error,
            created_at=run.created_at,
        )


class SavedQueryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    sql: str = Field(max_length=MAX_SQL_CHARS)
    project: int | None = None


class SavedQueryUpdate(BaseModel):
    """Only the fields given change; ``"project": null`` detaches the query from its project."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    sql: str | None = Field(default=None, max_length=MAX_SQL_CHARS)
    project: int | None = None


class SavedQueryPublic(BaseModel):
    id: int
    name: str
    sql: str
    project: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, saved: SavedQuery) -> SavedQueryPublic:
        return cls(
            id=saved.id,
            name=saved.name,
            sql=saved.sql,
            project=saved.project_id,
            created_at=saved.created_at,
            updated_at=saved.updated_at,
        )
