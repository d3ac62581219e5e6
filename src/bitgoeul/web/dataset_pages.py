"""The dataset page: metadata, versions, profile, preview and the ways to get the data.

Preview goes through ``catalog.actions.preview_version`` (a door: decided and audited).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.schemas import UpdateFrequency
from bitgoeul.deps import (
    CurrentActor,
    SessionDep,
    StoreDep,
)
from bitgoeul.governance.decision import DataAction, decide
from bitgoeul.web.views import (
    page,
)

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 20


@router.get("/datasets/{slug}", response_class=HTMLResponse)
def dataset_page(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    actor: CurrentActor,
    slug: str,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    dataset = catalog_queries.get_dataset(session, slug)
    public = catalog_queries.dataset_public(session, actor=actor, slug=slug)
    shown = None
    preview = None
    row = None
    if public.versions:
        row = catalog_queries.get_version(session, slug, version)
        shown = catalog_queries.version_public(actor, dataset, row)
    preview_decision = decide(actor, DataAction.preview, dataset)
    download_decision = decide(actor, DataAction.download, dataset)
    publish_decision = decide(actor, DataAction.publish_version, dataset)
    if row is not None and preview_decision.allowed:
        # Through the action, so the preview is audited like the API's.
        preview = catalog_actions.preview_version(
            session, store=store, actor=actor, slug=slug, number=row.number, limit=PREVIEW_ROWS
        )
    return page(
        request,
        "dataset.html",
        dataset=public,
        version=shown,
        preview=preview,
        preview_decision=preview_decision,
        download_decision=download_decision,
        can_publish=publish_decision.allowed,
        frequencies=[f.value for f in UpdateFrequency],
        ingest_runs=(
            catalog_queries.list_ingest_runs(session, slug=slug, limit=5)
            if publish_decision.allowed
            else []
        ),
    )
