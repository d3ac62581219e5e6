"""What crosses the query API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bitgoeul.query.actions import DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT
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
