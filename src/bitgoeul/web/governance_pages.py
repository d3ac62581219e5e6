"""Pages for sharing governance: projects, access requests, the steward's queue and
agreements.

Like ``views.py`` these pages are a peer of the REST API: they read through
``governance.queries`` and ``audit.queries`` and change state only through
``governance.actions``, so every rule (who may approve, nobody approves their own request,
revocation is immediate) is the one the API enforces.  A refused or invalid form is shown
again with the reason; nothing is half-done.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, SessionDep, SettingsDep, SignedInActor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.errors import (
    AccessDenied,
    BitgoeulError,
    Conflict,
    ValidationFailed,
)
from bitgoeul.governance import actions, queries
from bitgoeul.governance.models import ProjectRole, Purpose, RequestStatus
from bitgoeul.governance.schemas import (
    AccessRequestCreate,
    ApprovalConditions,
    MemberAdd,
    ProjectCreate,
)
from bitgoeul.messages import joined, msg, validation_problems
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)


def form_errors(exc: ValidationError) -> str:
    """Pydantic's complaints as one line a person can act on: ``field: message; ...`` (a
    message, so it is said in the page's language)."""
    return joined(validation_problems(exc))


def _names(text: str) -> list[str] | None:
    """A comma-separated list of column names from a form field; empty means "all"."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names or None


def _optional_date(text: str) -> date | None:
    return date.fromisoformat(text) if text.strip() else None


# Projects --------------------------------------------------------------------------------


def _projects_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "projects.html",
        status_code=status_code,
        projects=[
            queries.project_public(session, p) for p in queries.list_projects(session, actor=actor)
        ],
        purposes=[p.value for p in Purpose],
        values=values or {},
        error=error,
    )


@router.get("/projects", response_class=HTMLResponse)
def projects(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _projects_page(request, session, actor)


@router.post("/projects", response_class=HTMLResponse)
def create_project(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    title: Annotated[str, Form(max_length=300)] = "",
    purpose: Annotated[str, Form(max_length=60)] = "",
    justification: Annotated[str, Form(max_length=20_000)] = "",
    starts_on: Annotated[str, Form(max_length=10)] = "",
    ends_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    values = {
        "title": title,
        "purpose": purpose,
        "justification": justification,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    try:
        data = ProjectCreate(
            title=title.strip(),
            purpose=purpose,
            justification=justification.strip(),
            starts_on=_optional_date(starts_on),
            ends_on=_optional_date(ends_on),
        )
        project = actions.create_project(session, actor=actor, data=data)
    except ValidationError as exc:
        error = form_errors(exc)
    except ValueError as exc:  # a date that is not YYYY-MM-DD
        error = msg("dates: {problem}", problem=str(exc))
    except (ValidationFailed, AccessDenied) as exc:
        error = exc.message
    else:
        return redirect_to(f"/projects/{project.id}")
    return _projects_page(request, session, actor, values=values, error=error, status_code=422)


def _project_page(
    request: Request,
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    project = queries.project_for(session, actor=actor, project_id=project_id)
    role = queries.member_role(project, actor)
    requests = [
        queries.request_public(session, r)
        for r in queries.request_queue(session, actor=actor)
        if r.project_id == project.id
    ]
    agreements = [
        queries.agreement_public(a)
        for a in queries.list_agreements(session, actor=actor, project_id=project.id)
    ]
    requestable = []
    if role is not None:
        results = catalog_queries.search_datasets(session, q="", limit=500, offset=0)
        requestable = [
            d
            for d in results.items
            if d.access_level in (AccessLevel.restricted, AccessLevel.secure)
        ]
    return page(
        request,
        "project.html",
        status_code=status_code,
        project=queries.project_public(session, project),
        role=role,
        is_lead=role == ProjectRole.lead,
        requests=requests,
        agreements=agreements,
        requestable=requestable,
        values=values or {},
        error=error,
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_detail(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    project_id: int,
    dataset: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The project; ``?dataset=`` fills in the request form (the dataset page's "Request
    access" link)."""
    values = {"dataset": dataset} if dataset else None
    return _project_page(request, session, actor, project_id, values=values)


@router.post("/projects/{project_id}/members", response_class=HTMLResponse)
def add_member(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    project_id: int,
    username: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=20)] = ProjectRole.member.value,
) -> Response:
    try:
        data = MemberAdd(username=username.strip(), role=role)
        actions.add_project_member(session, actor=actor, project_id=project_id, data=data)
    except ValidationError as exc:
        error = form_errors(exc)
    except (ValidationFailed, Conflict, AccessDenied) as exc:
        error = exc.message
    else:
        return redirect_to(f"/projects/{project_id}")
    return _project_page(
        request,
        session,
        actor,
        project_id,
        values={"username": username},
        error=error,
        status_code=422,
    )


@router.post("/projects/{project_id}/requests", response_class=HTMLResponse)
def request_access(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    project_id: int,
    dataset: Annotated[str, Form(max_length=100)] = "",
    columns: Annotated[str, Form(max_length=20_000)] = "",
    days: Annotated[str, Form(max_length=5)] = "90",
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    values = {"dataset": dataset, "columns": columns, "days": days, "note": note}
    try:
        data = AccessRequestCreate(
            project=project_id,
            dataset=dataset,
            columns=_names(columns),
            days=days.strip() or 90,  # a number in text; pydantic validates it
            note=note.strip(),
        )
        actions.request_access(session, actor=actor, data=data)
    except ValidationError as exc:
        error = form_errors(exc)
    except (ValidationFailed, Conflict, AccessDenied) as exc:
        error = exc.message
    else:
        return redirect_to(f"/projects/{project_id}#requests")
    return _project_page(
        request, session, actor, project_id, values=values, error=error, status_code=422
    )


@router.post("/requests/{request_id}/withdraw")
def withdraw_request(session: SessionDep, actor: CsrfChecked, request_id: int) -> Response:
    withdrawn = actions.withdraw_request(session, actor=actor, request_id=request_id)
    return redirect_to(f"/projects/{withdrawn.project_id}#requests")


# The steward's queue -----------------------------------------------------------------------


def _queue_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    error: str = "",
    failed_request: int | None = None,
    approved: int | None = None,
    status_code: int = 200,
) -> Response:
    if actor.role not in (Role.steward, Role.operator):
        raise AccessDenied(
            msg(
                "The request queue is for the stewards of publishing organizations and "
                "operators; your own requests are on your project pages."
            )
        )
    visible = queries.request_queue(session, actor=actor)
    reviewable = [
        r for r in visible if actor.is_operator or actor.is_steward_of(r.dataset.publisher_id)
    ]
    pending = [
        queries.request_public(session, r) for r in reviewable if r.status == RequestStatus.pending
    ]
    decided = [
        queries.request_public(session, r) for r in reviewable if r.status != RequestStatus.pending
    ][:50]
    agreements = [
        queries.agreement_public(a)
        for a in queries.list_agreements(session, actor=actor)
        if actor.is_operator or actor.is_steward_of(a.dataset.publisher_id)
    ]
    return page(
        request,
        "requests.html",
        status_code=status_code,
        pending=pending,
        decided=decided,
        agreements=agreements,
        error=error,
        failed_request=failed_request,
        approved=next((a for a in agreements if a.id == approved), None),
        dataset_columns=_column_names(session, {r.dataset for r in reviewable}),
    )


def _column_names(session: Session, datasets: set[Dataset]) -> dict[str, list[str]]:
    """Each dataset's columns in its latest version, for the steward's column conditions."""
    latest = catalog_queries.latest_versions(session, sorted(d.id for d in datasets))
    return {
        d.slug: [str(f["name"]) for f in latest[d.id].table_schema.get("fields", [])]
        for d in datasets
        if d.id in latest
    }


@router.get("/requests", response_class=HTMLResponse)
def request_queue(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    approved: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The queue; ``?approved=<agreement>`` confirms the approval just made."""
    return _queue_page(request, session, actor, approved=approved)


@router.post("/requests/{request_id}/approve", response_class=HTMLResponse)
def approve_request(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    request_id: int,
    columns: Annotated[str, Form(max_length=20_000)] = "",
    expires_in_days: Annotated[str, Form(max_length=5)] = "",
    row_filter: Annotated[str, Form(max_length=2000)] = "",
    grants_identifiers: Annotated[str, Form(max_length=5)] = "",
    confirm_test_set: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        conditions = ApprovalConditions(
            columns=_names(columns),
            expires_in_days=expires_in_days.strip() or None,
            row_filter=row_filter.strip() or None,
            grants_identifiers=grants_identifiers == "yes",
            confirm_test_set=confirm_test_set == "yes",
        )
        agreement = actions.approve_request(
            session, actor=actor, request_id=request_id, conditions=conditions
        )
    except ValidationError as exc:
        error = form_errors(exc)
    except BitgoeulError as exc:
        error = exc.message
    else:
        return redirect_to(f"/requests?approved={agreement.id}#approved-confirmation")
    return _queue_page(
        request, session, actor, error=error, failed_request=request_id, status_code=422
    )


@router.post("/requests/{request_id}/reject", response_class=HTMLResponse)
def reject_request(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    request_id: int,
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    if not reason.strip():
        return _queue_page(
            request,
            session,
            actor,
            error=msg("Give the requester a reason they can act on."),
            failed_request=request_id,
            status_code=422,
        )
    actions.reject_request(session, actor=actor, request_id=request_id, reason=reason.strip())
    return redirect_to("/requests")


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    agreement_id: int,
) -> Response:
    """One agreement: its project, dataset, terms and state, and its ODRL policy (shown to its
    project's members, the publisher's stewards and operators, as on the API)."""
    agreement = queries.get_agreement(session, actor=actor, agreement_id=agreement_id)
    policy = queries.agreement_odrl(session, agreement, base_url=settings.base_url)
    return page(
        request,
        "agreement.html",
        agreement=queries.agreement_public(agreement),
        project=queries.project_public(session, queries.get_project(session, agreement.project_id)),
        may_revoke=actor.is_operator or actor.is_steward_of(agreement.dataset.publisher_id),
        odrl=json.dumps(policy, ensure_ascii=False, indent=2),
    )


@router.post("/agreements/{agreement_id}/revoke", response_class=HTMLResponse)
def revoke_agreement(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    agreement_id: int,
    reason: Annotated[str, Form(max_length=5000)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=200)] = "/requests",
) -> Response:
    if not reason.strip():
        return _queue_page(
            request,
            session,
            actor,
            error=msg("Say why the agreement is revoked; the project's members are told."),
            status_code=422,
        )
    revoked = actions.revoke_agreement(
        session, actor=actor, agreement_id=agreement_id, reason=reason.strip()
    )
    if next_page == "project":
        return redirect_to(f"/projects/{revoked.project_id}#agreements")
    return redirect_to("/requests#agreements")
