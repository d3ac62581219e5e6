"""The DP pages: a researcher composes a request, sees its accuracy and cost before spending,
then releases it; a steward reads and sets a dataset's ε budgets.

The pages call ``dp.actions`` (quote, release, read_budgets, set_budget), the same calls the
API and the CLI make: the decision point, the ledger and the audit log apply unchanged.  A
refusal is shown above the form with its reason; the form keeps what was asked.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.dp import actions, queries
from bitgoeul.dp.schemas import (
    Balance,
    DpRequest,
    ProfilePublic,
    Quote,
    Release,
    parse_measure,
)
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance import queries as governance_queries
from bitgoeul.messages import joined, validation_problems
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)


def _project_id(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _exhaustion(session: Session, slug: str, balances: list[Balance]) -> dict[str, date | None]:
    return {b.scope: queries.projected_exhaustion(session, slug, b) for b in balances}


def _dp_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    dataset: str = "",
    project: int | None = None,
    asked: dict[str, Any] | None = None,
    quote: Quote | None = None,
    release: Release | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    datasets = queries.dp_datasets(session)
    if not dataset and datasets:
        dataset = datasets[0][0]
    profile: ProfilePublic | None = None
    if any(slug == dataset for slug, _title in datasets):
        profile = queries.public_profile(session, dataset)
    balances = release.balances if release else quote.balances if quote else []
    return page(
        request,
        "dp.html",
        status_code=status_code,
        datasets=datasets,
        dataset=dataset,
        profile=profile,
        project=project,
        projects=(
            governance_queries.list_projects(session, actor=actor) if not actor.is_anonymous else []
        ),
        asked=asked or {"group_by": [], "measures": ["count"], "epsilon": "1.0", "partition": ""},
        quote=quote,
        release=release,
        exhaustion=_exhaustion(session, dataset, balances) if balances else {},
        error=error,
        no_store=True,
    )


@router.get("/dp", response_class=HTMLResponse)
def dp_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    dataset: Annotated[str, Query(max_length=100)] = "",
    project: Annotated[int | None, Query()] = None,
) -> Response:
    return _dp_page(request, session, actor, dataset=dataset, project=project)


@router.post("/dp/quote", response_class=HTMLResponse)
def dp_quote(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    dataset: Annotated[str, Form(max_length=100)] = "",
    project: Annotated[str, Form(max_length=12)] = "",
    group_by: Annotated[list[str] | None, Form(max_length=200)] = None,
    measure: Annotated[list[str] | None, Form(max_length=300)] = None,
    epsilon: Annotated[str, Form(max_length=20)] = "",
    partition: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    project_id = _project_id(project)
    asked = {
        "group_by": group_by or [],
        "measures": measure or [],
        "epsilon": epsilon,
        "partition": partition,
    }
    try:
        request_ = DpRequest.model_validate(
            {
                "dataset": dataset,
                "project": project_id,
                "partition": partition or None,
                "group_by": group_by or [],
                "measures": [parse_measure(m) for m in measure or []],
                "epsilon": epsilon,
            }
        )
        quote = actions.quote(session, settings=settings, actor=actor, request=request_)
    except ValidationError as exc:
        problems = joined(validation_problems(exc, whole="request"))
        return _dp_page(
            request,
            session,
            actor,
            dataset=dataset,
            project=project_id,
            asked=asked,
            error=problems,
            status_code=422,
        )
    except BitgoeulError as exc:
        return _dp_page(
            request,
            session,
            actor,
            dataset=dataset,
            project=project_id,
            asked=asked,
            error=exc.message,
            status_code=exc.status_code,
        )
    return _dp_page(
        request, session, actor, dataset=dataset, project=project_id, asked=asked, quote=quote
    )


@router.post("/dp/release", response_class=HTMLResponse)
def dp_release(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    token: Annotated[str, Form(max_length=8000)] = "",
    dataset: Annotated[str, Form(max_length=100)] = "",
    project: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    project_id = _project_id(project)
    try:
        release = actions.release(session, settings=settings, store=store, actor=actor, token=token)
    except BitgoeulError as exc:
        return _dp_page(
            request,
            session,
            actor,
            dataset=dataset,
            project=project_id,
            error=exc.message,
            status_code=exc.status_code,
        )
    return _dp_page(
        request, session, actor, dataset=release.dataset, project=project_id, release=release
    )


@router.get("/dp/budgets/{slug}", response_class=HTMLResponse)
def dp_budgets_page(
    request: Request, slug: str, session: SessionDep, actor: CurrentActor
) -> Response:
    ledger = actions.read_budgets(session, actor=actor, slug=slug)
    balances = [Balance.model_validate(b.model_dump()) for b in ledger]
    return page(
        request,
        "dp_budgets.html",
        slug=slug,
        ledger=ledger,
        partitions=queries.partitions(session, slug),
        exhaustion=_exhaustion(session, slug, balances),
        no_store=True,
    )


@router.post("/dp/budgets/{slug}", response_class=HTMLResponse)
def dp_set_budget(
    request: Request,
    slug: str,
    session: SessionDep,
    actor: CsrfChecked,
    project: Annotated[str, Form(max_length=12)] = "",
    partition: Annotated[str, Form(max_length=40)] = "",
    epsilon: Annotated[float, Form(gt=0, le=1000)] = 1.0,
    delta: Annotated[float | None, Form(ge=0, le=0.01)] = None,
) -> Response:
    actions.set_budget(
        session,
        actor=actor,
        slug=slug,
        project_id=_project_id(project),
        partition=partition.strip() or None,
        epsilon=epsilon,
        delta=delta,
    )
    return redirect_to(f"/dp/budgets/{slug}")
