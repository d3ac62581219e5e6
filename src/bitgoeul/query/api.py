"""The SQL gateway's routes: run a query, export its result, history and saved queries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.query import actions
from bitgoeul.query import queries as query_queries
from bitgoeul.query.schemas import (
    QueryRequest,
    QueryResponse,
    QueryRunPublic,
    SavedQueryCreate,
    SavedQueryPublic,
    SavedQueryUpdate,
)

router = APIRouter(tags=["query"])


@router.post("/query", response_model=QueryResponse)
def run_query(
    body: QueryRequest,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
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
    return QueryResponse.of(result)


@router.post("/query/export")
def export_query(
    body: QueryRequest,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
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


@router.get("/query/history", response_model=list[QueryRunPublic])
def query_history(
    session: SessionDep,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=query_queries.MAX_HISTORY_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[QueryRunPublic]:
    """Your own queries and exports, newest first, including refused and failed ones."""
    runs = query_queries.history(session, actor=actor, limit=limit, offset=offset)
    return [QueryRunPublic.of(run) for run in runs]


@router.get("/saved-queries", response_model=list[SavedQueryPublic])
def list_saved_queries(session: SessionDep, actor: CurrentActor) -> list[SavedQueryPublic]:
    return [SavedQueryPublic.of(q) for q in query_queries.saved_queries(session, actor=actor)]


@router.post("/saved-queries", response_model=SavedQueryPublic, status_code=status.HTTP_201_CREATED)
def create_saved_query(
    body: SavedQueryCreate, session: SessionDep, actor: CsrfChecked
) -> SavedQueryPublic:
    query = actions.save_query(
        session, actor=actor, name=body.name, sql=body.sql, project_id=body.project
    )
    return SavedQueryPublic.of(query)


@router.get("/saved-queries/{saved_id}", response_model=SavedQueryPublic)
def get_saved_query(saved_id: int, session: SessionDep, actor: CurrentActor) -> SavedQueryPublic:
    return SavedQueryPublic.of(
        query_queries.get_saved_query(session, actor=actor, saved_id=saved_id)
    )


@router.patch("/saved-queries/{saved_id}", response_model=SavedQueryPublic)
def update_saved_query(
    saved_id: int, body: SavedQueryUpdate, session: SessionDep, actor: CsrfChecked
) -> SavedQueryPublic:
    query = actions.update_saved_query(
        session,
        actor=actor,
        saved_id=saved_id,
        name=body.name,
        sql=body.sql,
        project_id=body.project,
        clear_project="project" in body.model_fields_set and body.project is None,
    )
    return SavedQueryPublic.of(query)


@router.delete("/saved-queries/{saved_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_saved_query(saved_id: int, session: SessionDep, actor: CsrfChecked) -> Response:
    actions.delete_saved_query(session, actor=actor, saved_id=saved_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
