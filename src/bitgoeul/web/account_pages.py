"""Account pages: organizations, signing in and out, API tokens."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import (
    SESSION_COOKIE,
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    SignedInActor,
    client_address,
    set_session_cookie,
)
from bitgoeul.accounts.models import Role
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.errors import (
    AccessDenied,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from bitgoeul.messages import msg
from bitgoeul.web.views import (
    page,
    redirect_to,
    safe_next,
)

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "bitgoeul_login_csrf"


# Organizations ---------------------------------------------------------------------------


@router.get("/organizations", response_class=HTMLResponse)
def organizations(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    counts = {
        facet.value: facet.count
        for facet in catalog_queries.search_datasets(session, limit=1).facets["publisher"]
    }
    return page(
        request,
        "organizations.html",
        organizations=account_queries.list_organizations(session),
        counts=counts,
    )


@router.get("/organizations/{slug}", response_class=HTMLResponse)
def organization_page(
    request: Request, session: SessionDep, actor: CurrentActor, slug: str
) -> Response:
    organization = account_queries.get_organization(session, slug)
    if organization is None:
        raise NotFound(
            msg("There is no organization '{slug}'; see the list of organizations.", slug=slug)
        )
    results = catalog_queries.search_datasets(
        session, publisher=slug, limit=catalog_queries.MAX_PAGE
    )
    return page(request, "organization.html", organization=organization, results=results)


# Signing in and out ----------------------------------------------------------------------


def _login_form(
    request: Request, *, next_url: str, username: str = "", error: str = "", status_code: int = 200
) -> Response:
    # Before sign-in there is no session to hold a CSRF token, so the login form uses a
    # double-submit cookie: a cross-site page can neither read the cookie nor set the field.
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status_code=status_code,
        next_url=next_url,
        username=username,
        error=error,
        login_csrf=token,
        no_store=True,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, actor: CurrentActor, next: str | None = None) -> Response:
    return _login_form(request, next_url=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    next_url = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise AccessDenied(msg("This sign-in form has expired; reload the page and sign in again."))
    try:
        user = account_actions.authenticate(
            session,
            settings=settings,
            username=username,
            password=password,
            client=client_address(request),
        )
    except NotAuthenticated as exc:
        return _login_form(
            request, next_url=next_url, username=username, error=exc.message, status_code=401
        )
    except RateLimited as exc:
        refused = _login_form(
            request, next_url=next_url, username=username, error=exc.message, status_code=429
        )
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    if next_url == "/" and user.role is Role.operator:
        # The operators' home is the hub's state (what waits for them), not the catalog.
        next_url = "/hub"
    cookie, _csrf = account_actions.start_web_session(session, settings=settings, user=user)
    response = redirect_to(next_url)
    set_session_cookie(response, cookie, settings=settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: CsrfChecked) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        account_actions.end_web_session(session, cookie=cookie)
    response = redirect_to("/")
    response.delete_cookie(SESSION_COOKIE)
    return response


# API tokens ------------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    created: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "tokens.html",
        status_code=status_code,
        tokens=account_queries.list_api_tokens(session, actor=actor),
        created=created,
        error=error,
        no_store=True,
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _tokens_page(request, session, actor)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    name: Annotated[str, Form(max_length=200)] = "",
    expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    days = int(expires_in_days) if expires_in_days.strip().isdigit() else None
    try:
        _token, plaintext = account_actions.create_api_token(
            session, actor=actor, name=name, expires_in_days=days
        )
    except ValidationFailed as exc:
        return _tokens_page(request, session, actor, error=exc.message, status_code=422)
    # Shown in this response only; the page is not cached and a reload shows no secret.
    return _tokens_page(request, session, actor, created=plaintext)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(session: SessionDep, actor: CsrfChecked, token_id: int) -> Response:
    account_actions.revoke_api_token(session, actor=actor, token_id=token_id)
    return redirect_to("/tokens")
