"""The dataset page: metadata, versions, profile, preview and the ways to get the data.

Restricted and secure data are used for a project: a signed-in user picks one of their
projects on the page (remembered per user, ``governance.actions.choose_project``), and the page
decides, previews and downloads under that project's agreement.  Preview and download go
through ``catalog.actions.preview_version`` and ``download_version``, the very doors the API
uses (decided and audited there); the page only shows what the decision obliged (columns
hidden, rows filtered, identifiers pseudonymised) and, where no agreement allows the data yet,
a "Request access" link to the project's request form, filled in.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import (
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.catalog.schemas import AppliedObligations, UpdateFrequency
from bitgoeul.governance import actions as governance_actions
from bitgoeul.governance import queries as governance_queries
from bitgoeul.governance.decision import DataAction, decide
from bitgoeul.governance.models import Project
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 20
_PROJECT_LEVELS = (AccessLevel.restricted, AccessLevel.secure)


def needs_project(dataset: Dataset, actor: Actor) -> bool:
    """Whether the actor uses this dataset for a project: restricted and secure data, unless
    they govern it (stewards of the publisher, operators) or it is a hidden test set."""
    governs = actor.is_operator or actor.is_steward_of(dataset.publisher_id)
    return (
        not actor.is_anonymous
        and not governs
        and not dataset.holdout
        and dataset.access_level in _PROJECT_LEVELS
    )


def _working_project(
    session: Session, actor: Actor, dataset: Dataset, asked: int | None
) -> tuple[list[Project], Project | None]:
    """The actor's projects, and the one this page works for: ``?project=`` when it is one of
    them, else the remembered choice, else the only project the actor has."""
    if not needs_project(dataset, actor):
        return [], None
    projects = governance_queries.list_projects(session, actor=actor)
    mine = [p for p in projects if governance_queries.member_role(p, actor) is not None]
    if asked is not None:
        chosen = next((p for p in mine if p.id == asked), None)
        if chosen is not None:
            return mine, chosen
    remembered = governance_queries.chosen_project(session, actor=actor)
    if remembered is not None:
        return mine, remembered
    return mine, mine[0] if len(mine) == 1 else None


@router.get("/datasets/{slug}", response_class=HTMLResponse)
def dataset_page(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    actor: CurrentActor,
    slug: str,
    version: Annotated[int | None, Query(ge=1)] = None,
    project: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    dataset = catalog_queries.get_dataset(session, slug)
    public = catalog_queries.dataset_public(session, actor=actor, slug=slug)
    projects, working = _working_project(session, actor, dataset, project)
    project_id = working.id if working is not None else None
    shown = None
    preview = None
    row = None
    if public.versions:
        row = catalog_queries.get_version(session, slug, version)
        shown = catalog_queries.version_public(actor, dataset, row)
    # Decided here only to choose what to show; every read below is decided and audited at
    # its door, as the API's are.
    context = governance_queries.decision_context(
        session, actor=actor, dataset=dataset, version=row, project_id=project_id
    )
    preview_decision = decide(actor, DataAction.preview, dataset, context=context)
    download_decision = decide(actor, DataAction.download, dataset, context=context)
    publish_decision = decide(actor, DataAction.publish_version, dataset)
    if row is not None and preview_decision.allowed:
        preview = catalog_actions.preview_version(
            session,
            store=store,
            actor=actor,
            slug=slug,
            number=row.number,
            limit=PREVIEW_ROWS,
            project_id=project_id,
            secret=settings.secret(),
        )
    applied: AppliedObligations | None = None
    if preview is not None:
        applied = preview.applied
    elif row is not None and download_decision.allowed:
        applied = catalog_queries.applied_obligations(
            download_decision.obligations, row, project_id=project_id
        )
    has_agreement = context.agreement is not None and context.is_project_member
    pending = (
        governance_queries.pending_request(session, project_id=project_id, dataset_id=dataset.id)
        if project_id is not None and not has_agreement
        else None
    )
    may_request = needs_project(dataset, actor) and not has_agreement and pending is None
    return page(
        request,
        "dataset.html",
        dataset=public,
        version=shown,
        preview=preview,
        applied=applied,
        preview_decision=preview_decision,
        download_decision=download_decision,
        # The reasons on their own, so the page says them in its language.
        preview_reason=preview_decision.reason,
        download_reason=download_decision.reason,
        profile_reason=decide(actor, DataAction.preview, dataset).reason,
        download_link=lambda file_format: _download_link(
            slug, file_format, shown.number if shown else None, project_id
        ),
        can_publish=publish_decision.allowed,
        frequencies=[f.value for f in UpdateFrequency],
        needs_project=needs_project(dataset, actor),
        projects=projects,
        working=working,
        has_agreement=has_agreement,
        pending_request=pending,
        may_request=may_request,
        ingest_runs=(
            catalog_queries.list_ingest_runs(session, slug=slug, limit=5)
            if publish_decision.allowed
            else []
        ),
    )


def _download_link(slug: str, file_format: str, number: int | None, project: int | None) -> str:
    params: dict[str, str | int] = {"format": file_format}
    if number is not None:
        params["version"] = number
    if project is not None:
        params["project"] = project
    return f"/datasets/{slug}/download?{urlencode(params)}"


@router.post("/datasets/{slug}/project")
def choose_project(
    session: SessionDep,
    actor: CsrfChecked,
    slug: str,
    project: Annotated[int, Form(ge=1)],
) -> Response:
    """Remember the project the user works for, and show the dataset under it."""
    catalog_queries.get_dataset(session, slug, publisher=False)
    governance_actions.choose_project(session, actor=actor, project_id=project)
    return redirect_to(f"/datasets/{slug}#data")


@router.get("/datasets/{slug}/download", response_class=StreamingResponse)
def download(
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    actor: CurrentActor,
    slug: str,
    version: Annotated[int | None, Query(ge=1)] = None,
    format: Annotated[catalog_actions.DownloadFormat, Query()] = "parquet",
    project: Annotated[int | None, Query(ge=1)] = None,
) -> StreamingResponse:
    """The page's download: the API's door (decided, audited, obligations applied), under
    ``?project=`` or the project the user chose on the dataset page."""
    if project is None:
        dataset = catalog_queries.get_dataset(session, slug)
        _projects, working = _working_project(session, actor, dataset, None)
        project = working.id if working is not None else None
    found = catalog_actions.download_version(
        session,
        store=store,
        actor=actor,
        slug=slug,
        number=version,
        file_format=format,
        project_id=project,
        secret=settings.secret(),
    )
    return StreamingResponse(
        found.chunks,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
