"""The query page: write SQL against datasets, browse their schemas, see the result, export it,
keep queries and look back at past runs.

The page runs queries through ``query.actions.run_query`` and ``export_query``, the same calls
the API makes, so the decision point, the rewriter, the disclosure rules and the audit log
apply unchanged.  A refusal is shown above the editor with the gateway's reason; the SQL stays
in the editor.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.dp import queries as dp_queries
from bitgoeul.errors import BitgoeulError, NotFound
from bitgoeul.governance import queries as governance_queries
from bitgoeul.messages import msg
from bitgoeul.query import actions
from bitgoeul.query import queries as query_queries
from bitgoeul.query.actions import QueryResult
from bitgoeul.query.rewrite import MAX_SQL_CHARS
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

SCHEMA_BROWSER_SIZE = 50
HISTORY_SHOWN = 20

# Examples a click puts in the editor (``/query?example=<key>``), over open datasets of the
# demo city, so that anyone, signed in or not, can run them; one is offered only where its
# dataset exists.  Labels are ``query.example.<key>`` in ``locales/*/query.json``;
# ``tests/test_documented_examples.py`` runs every one against the demo city.
EXAMPLES: dict[str, str] = {
    "districts": (
        "SELECT district, sum(households) AS households, round(sum(total_kwh)) AS kwh\n"
        'FROM "kepco-dong-electricity-daily"\n'
        "GROUP BY district\n"
        "ORDER BY kwh DESC"
    ),
    "bus": (
        "SELECT hour, sum(boardings) AS boardings\n"
        'FROM "gwangju-bus-ridership-hourly"\n'
        "GROUP BY hour\n"
        "ORDER BY hour"
    ),
    "demand": (
        "SELECT hour(hour_start) AS hour, round(avg(system_demand_mw)) AS demand_mw,\n"
        "       round(avg(smp_krw_per_kwh), 1) AS price_krw_per_kwh\n"
        'FROM "kpx-system-demand-smp-hourly"\n'
        "GROUP BY 1\n"
        "ORDER BY 1"
    ),
    "outages": (
        "SELECT cause, count(*) AS outages, round(avg(duration_min)) AS minutes\n"
        'FROM "kdn-outage-events"\n'
        "GROUP BY cause\n"
        "ORDER BY outages DESC"
    ),
    "places": (
        "SELECT category, count(*) AS places\n"
        'FROM "naver-places"\n'
        "GROUP BY category\n"
        "ORDER BY places DESC"
    ),
}
_EXAMPLE_DATASET = re.compile(r'FROM "([a-z0-9-]+)"')


def example_dataset(key: str) -> str:
    """The dataset an example reads."""
    found = _EXAMPLE_DATASET.search(EXAMPLES[key])
    if found is None:  # pragma: no cover - every example names its dataset
        raise AssertionError(key)
    return found.group(1)


def _examples(session: Session) -> list[str]:
    """The examples whose dataset this hub holds."""
    offered = []
    for key in EXAMPLES:
        try:
            catalog_queries.get_dataset(session, example_dataset(key), publisher=False)
        except NotFound:
            continue
        offered.append(key)
    return offered


def _project_id(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _schema_browser(session: Session, q: str) -> list[dict[str, Any]]:
    """The datasets matching ``q`` (all, when empty), each with its latest columns."""
    results = catalog_queries.search_datasets(session, q=q, limit=SCHEMA_BROWSER_SIZE)
    slugs = [item.slug for item in results.items]
    datasets = {slug: catalog_queries.get_dataset(session, slug) for slug in slugs}
    latest = catalog_queries.latest_versions(session, [d.id for d in datasets.values()])
    browser = []
    for item in results.items:
        version = latest.get(datasets[item.slug].id)
        if version is None:
            continue
        browser.append(
            {
                "summary": item,
                "version": version.number,
                "fields": list(version.table_schema.get("fields", [])),
            }
        )
    return browser


def _query_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    sql: str = "",
    project: int | None = None,
    q: str = "",
    result: QueryResult | None = None,
    error: str = "",
    error_where: Any = None,
    notice: str = "",
    save_name: str = "",
    status_code: int = 200,
) -> Response:
    signed_in = not actor.is_anonymous
    return page(
        request,
        "query.html",
        status_code=status_code,
        sql=sql,
        project=project,
        q=q,
        result=result,
        error=error,
        error_where=error_where,
        notice=notice,
        save_name=save_name,
        max_sql=MAX_SQL_CHARS,
        projects=governance_queries.list_projects(session, actor=actor) if signed_in else [],
        browser=_schema_browser(session, q),
        # Secure datasets a steward approved DP settings for: the query page's DP tab.
        dp_datasets={slug for slug, _title in dp_queries.dp_datasets(session)},
        examples=_examples(session),
        saved_queries=query_queries.saved_queries(session, actor=actor) if signed_in else [],
        history=query_queries.history(session, actor=actor, limit=HISTORY_SHOWN)
        if signed_in
        else [],
        no_store=True,
    )


@router.get("/query", response_class=HTMLResponse)
def query_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=200)] = "",
    saved_id: Annotated[int | None, Query(alias="saved")] = None,
    run_id: Annotated[int | None, Query(alias="run")] = None,
    project: Annotated[int | None, Query()] = None,
    example: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    sql = EXAMPLES.get(example, "")
    if saved_id is not None:
        kept = query_queries.get_saved_query(session, actor=actor, saved_id=saved_id)
        sql, project = kept.sql, kept.project_id
    elif run_id is not None:
        past = next(
            (r for r in query_queries.history(session, actor=actor, limit=200) if r.id == run_id),
            None,
        )
        if past is None:
            raise NotFound(msg("Query {run_id} is not in your history.", run_id=run_id))
        sql, project = past.sql, past.project_id
    return _query_page(request, session, actor, sql=sql, project=project, q=q.strip())


@router.post("/query", response_class=HTMLResponse)
def run_query(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    sql: Annotated[str, Form(max_length=MAX_SQL_CHARS)] = "",
    project: Annotated[str, Form(max_length=12)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    project_id = _project_id(project)
    try:
        result = actions.run_query(
            session, settings=settings, store=store, actor=actor, sql=sql, project_id=project_id
        )
    except BitgoeulError as exc:
        return _query_page(
            request,
            session,
            actor,
            sql=sql,
            project=project_id,
            q=q,
            error=exc.message,
            error_where=exc.where,
            status_code=exc.status_code,
        )
    return _query_page(request, session, actor, sql=sql, project=project_id, q=q, result=result)


@router.post("/query/export", response_class=HTMLResponse)
def export_query(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    sql: Annotated[str, Form(max_length=MAX_SQL_CHARS)] = "",
    project: Annotated[str, Form(max_length=12)] = "",
    file_format: Annotated[str, Form(alias="format", max_length=10)] = "csv",
) -> Response:
    project_id = _project_id(project)
    try:
        export = actions.export_query(
            session,
            settings=settings,
            store=store,
            actor=actor,
            sql=sql,
            file_format="parquet" if file_format == "parquet" else "csv",
            project_id=project_id,
        )
    except BitgoeulError as exc:
        return _query_page(
            request,
            session,
            actor,
            sql=sql,
            project=project_id,
            error=exc.message,
            error_where=exc.where,
            status_code=exc.status_code,
        )
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@router.post("/query/saved", response_class=HTMLResponse)
def save_query(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    name: Annotated[str, Form(max_length=200)] = "",
    sql: Annotated[str, Form(max_length=MAX_SQL_CHARS)] = "",
    project: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    project_id = _project_id(project)
    if not name.strip():
        error = "Give the query a name to save it under."
    else:
        try:
            kept = actions.save_query(
                session, actor=actor, name=name, sql=sql, project_id=project_id
            )
        except BitgoeulError as exc:
            error = exc.message
        else:
            return redirect_to(f"/query?saved={kept.id}")
    return _query_page(
        request,
        session,
        actor,
        sql=sql,
        project=project_id,
        save_name=name,
        error=error,
        status_code=422,
    )


@router.post("/query/saved/{saved_id}/delete")
def delete_saved_query(session: SessionDep, actor: CsrfChecked, saved_id: int) -> Response:
    actions.delete_saved_query(session, actor=actor, saved_id=saved_id)
    return redirect_to("/query")
