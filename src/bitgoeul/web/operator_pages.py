"""The operators' pages: the hub's state (``/hub``), organizations and accounts.

Reads come from ``tower.queries`` and ``accounts.queries``; every change is an
``accounts.actions`` function, which checks that the actor is an operator and audits it.
Forms carry the session's CSRF token (``CsrfChecked``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, SessionDep, SignedInActor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role
from bitgoeul.errors import Conflict, NotFound, ValidationFailed
from bitgoeul.messages import msg
from bitgoeul.tower import queries as tower
from bitgoeul.web.job_pages import hours_text
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

_ORGANIZATION_FIELDS = ("slug", "name", "name_ko", "kind", "description", "website")


# The hub's state -------------------------------------------------------------------------


@router.get("/hub", response_class=HTMLResponse)
def hub(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return page(request, "hub.html", state=tower.hub_state(session, actor=actor), hours=hours_text)


# Organizations ---------------------------------------------------------------------------


def _organizations_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    tower.require_operator(actor)
    organizations = account_queries.list_organizations(session)
    members = account_queries.users_per_organization(session)
    return page(
        request,
        "hub_organizations.html",
        status_code=status_code,
        organizations=organizations,
        members=members,
        kinds=list(OrganizationKind),
        values=values or {},
        error=error,
    )


@router.get("/hub/organizations", response_class=HTMLResponse)
def organizations(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _organizations_page(request, session, actor)


@router.post("/hub/organizations", response_class=HTMLResponse)
def create_organization(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    slug: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    name_ko: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    website: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    values = {
        "slug": slug.strip(),
        "name": name,
        "name_ko": name_ko,
        "kind": kind,
        "description": description,
        "website": website,
    }
    try:
        created = account_actions.create_organization(session, actor=actor, **values)
    except (ValidationFailed, Conflict) as refused:
        session.rollback()
        return _organizations_page(
            request,
            session,
            actor,
            values=values,
            error=refused.message,
            status_code=refused.status_code,
        )
    return redirect_to(f"/hub/organizations/{created.slug}?saved=1")


def _organization(session: Session, slug: str) -> Organization:
    found = account_queries.get_organization(session, slug)
    if found is None:
        raise NotFound(msg("There is no organization '{slug}'.", slug=slug))
    return found


def _organization_page(
    request: Request,
    session: Session,
    actor: Actor,
    organization: Organization,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    tower.require_operator(actor)
    shown = values or {f: str(getattr(organization, f)) for f in _ORGANIZATION_FIELDS}
    return page(
        request,
        "hub_organization.html",
        status_code=status_code,
        organization=organization,
        users=account_queries.list_users(session, actor=actor, organization=organization.slug),
        kinds=list(OrganizationKind),
        values=shown,
        error=error,
        saved=saved,
    )


@router.get("/hub/organizations/{slug}", response_class=HTMLResponse)
def organization(
    request: Request, session: SessionDep, actor: SignedInActor, slug: str, saved: str = ""
) -> Response:
    tower.require_operator(actor)
    return _organization_page(
        request, session, actor, _organization(session, slug), saved=bool(saved)
    )


@router.post("/hub/organizations/{slug}", response_class=HTMLResponse)
def update_organization(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    slug: str,
    name: Annotated[str, Form(max_length=200)] = "",
    name_ko: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    website: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    tower.require_operator(actor)
    found = _organization(session, slug)
    values = {
        "name": name,
        "name_ko": name_ko,
        "kind": kind,
        "description": description,
        "website": website,
    }
    try:
        account_actions.update_organization(session, actor=actor, slug=slug, **values)
    except ValidationFailed as refused:
        session.rollback()
        return _organization_page(
            request,
            session,
            actor,
            found,
            values={"slug": slug, **values},
            error=refused.message,
            status_code=refused.status_code,
        )
    return redirect_to(f"/hub/organizations/{slug}?saved=1")


# Users -----------------------------------------------------------------------------------


def _users_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    q: str = "",
    organization_slug: str = "",
    error: str = "",
    failed_user: str = "",
    saved_user: str = "",
    status_code: int = 200,
) -> Response:
    tower.require_operator(actor)
    return page(
        request,
        "hub_users.html",
        status_code=status_code,
        users=account_queries.list_users(
            session, actor=actor, search=q, organization=organization_slug
        ),
        organizations=account_queries.list_organizations(session),
        roles=list(Role),
        chosen={"q": q, "organization": organization_slug},
        shown=account_queries.USERS_SHOWN,
        error=error,
        failed_user=failed_user,
        saved_user=saved_user,
    )


@router.get("/hub/users", response_class=HTMLResponse)
def users(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    q: Annotated[str, Query(max_length=100)] = "",
    organization: Annotated[str, Query(max_length=64)] = "",
    saved: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    return _users_page(
        request,
        session,
        actor,
        q=q.strip(),
        organization_slug=organization.strip(),
        saved_user=saved,
    )


@router.post("/hub/users/{username}", response_class=HTMLResponse)
def change_user(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    username: str,
    role: Annotated[str, Form(max_length=32)] = "",
    organization: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        account_actions.change_user(
            session,
            actor=actor,
            username=username,
            role=role,
            organization_slug=organization.strip() or None,
        )
    except (ValidationFailed, Conflict) as refused:
        session.rollback()
        return _users_page(
            request,
            session,
            actor,
            error=refused.message,
            failed_user=username,
            status_code=refused.status_code,
        )
    return redirect_to(f"/hub/users?saved={username}#user-{username}")


@router.post("/hub/users/{username}/deactivate", response_class=HTMLResponse)
def deactivate_user(
    request: Request, session: SessionDep, actor: CsrfChecked, username: str
) -> Response:
    try:
        account_actions.deactivate_user(session, actor=actor, username=username)
    except Conflict as refused:
        session.rollback()
        return _users_page(
            request,
            session,
            actor,
            error=refused.message,
            failed_user=username,
            status_code=refused.status_code,
        )
    return redirect_to(f"/hub/users?saved={username}#user-{username}")


@router.post("/hub/users/{username}/reactivate", response_class=HTMLResponse)
def reactivate_user(
    request: Request, session: SessionDep, actor: CsrfChecked, username: str
) -> Response:
    try:
        account_actions.reactivate_user(session, actor=actor, username=username)
    except Conflict as refused:
        session.rollback()
        return _users_page(
            request,
            session,
            actor,
            error=refused.message,
            failed_user=username,
            status_code=refused.status_code,
        )
    return redirect_to(f"/hub/users?saved={username}#user-{username}")
