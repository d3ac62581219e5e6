"""The SQL gateway's routes: run a query, export its result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bitgoeul.deps import CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.query import actions
from bitgoeul.query.schemas import DatasetUsed, QueryRequest, QueryResponse

router = APIRouter(tags=["query"])


@router.post("/query", response_model=QueryResponse)
def run_query(
    body: QueryRequest,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
) -> QueryResponse:
    result = actions.run_query(
        session,
        settings=settings,
        store=store,
        actor=actor,
        sql=body.sql,
        project_id=body.project,
        limit=body.limit,
    )
    return QueryResponse(
        columns=result.columns,
        rows=result.rows,
        row_count=result.row_count,
        truncated=result.truncated,
        suppressed_groups=result.suppressed_groups,
        datasets=[DatasetUsed(**d) for d in result.datasets],
        elapsed_ms=result.elapsed_ms,
    )


@router.post("/query/export")
def export_query(
    body: QueryRequest,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
    file_format: Annotated[actions.ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    export = actions.export_query(
        session,
        settings=settings,
        store=store,
        actor=actor,
        sql=body.sql,
        file_format=file_format,
        project_id=body.project,
    )
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
