"""REST routes for accounts: sign-in for API clients, API tokens, organizations and users.

Routes parse and answer; ``actions`` decide and write.  Write routes take ``check_csrf`` so a
browser session cannot be ridden cross-site; bearer-token clients are unaffected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel

from bitgoeul.accounts import actions, queries
from bitgoeul.accounts.deps import (
    SessionDep,
    SettingsDep,
    SignedInActor,
    check_csrf,
    client_address,
)
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.accounts.schemas import (
    USERNAME_PATTERN,
    AccessToken,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    LoginRequest,
    Me,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
    UserChange,
    UserCreate,
    UserPublic,
)
from bitgoeul.audit.queries import verify_chain
from bitgoeul.audit.schemas import AuditEventPublic, ChainReportPublic
from bitgoeul.errors import AccessDenied, NotFound, ValidationFailed
from bitgoeul.messages import msg

router = APIRouter(tags=["accounts"])
# The audit log as the signed-in reader may read it (``queries.list_audit_events`` scopes it by
# role); the log itself, its writer and its verifier, is ``bitgoeul.audit``, below accounts.
audit_router = APIRouter(tags=["audit"])
_csrf = [Depends(check_csrf)]


class ErrorBody(BaseModel):
    detail: Any


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


def _user_public(user: User) -> UserPublic:
    return UserPublic(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organization=user.organization.slug if user.organization else None,
        is_active=user.is_active,
        created_at=user.created_at,
    )


@router.post(
    "/auth/token",
    response_model=AccessToken,
    responses=_errors(401, 429),
    summary="Exchange a username and password for a bearer token",
)
def issue_token(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> AccessToken:
    """The token is named "api login <time>", expires in 30 days, and is listed under /tokens."""
    user = actions.authenticate(
        session,
        settings=settings,
        username=body.username,
        password=body.password,
        client=client_address(request),
    )
    token, plaintext = actions.create_login_token(session, user=user)
    return AccessToken(access_token=plaintext, expires_at=token.expires_at)


@router.get("/me", response_model=Me, responses=_errors(401))
def read_me(actor: SignedInActor, session: SessionDep) -> Me:
    user = queries.get_user(session, actor.username)
    if user is None:  # deleted between the token check and now
        raise NotFound(msg("Your account no longer exists."))
    organization = (
        OrganizationPublic.model_validate(user.organization) if user.organization else None
    )
    return Me(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        organization=organization,
        locale=user.locale,
        signed_in_via=actor.via,
    )


@router.get("/tokens", response_model=list[ApiTokenPublic], responses=_errors(401, 403))
def list_tokens(
    actor: SignedInActor,
    session: SessionDep,
    username: Annotated[
        str | None,
        Query(
            pattern=USERNAME_PATTERN,
            description="Operators only: list this user's tokens instead of your own.",
        ),
    ] = None,
) -> list[ApiTokenPublic]:
    tokens = queries.list_api_tokens(session, actor=actor, username=username)
    return [ApiTokenPublic.model_validate(token) for token in tokens]


@router.post(
    "/tokens",
    response_model=ApiTokenCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=_csrf,
    responses=_errors(401, 403),
)
def create_token(body: ApiTokenCreate, actor: SignedInActor, session: SessionDep) -> Any:
    """The answer carries the token itself, once; only its prefix is shown afterwards."""
    token, plaintext = actions.create_api_token(
        session, actor=actor, name=body.name, expires_in_days=body.expires_in_days
    )
    public = ApiTokenPublic.model_validate(token)
    return ApiTokenCreated(**public.model_dump(), token=plaintext)


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=_csrf,
    responses=_errors(401, 403, 404),
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1)], actor: SignedInActor, session: SessionDep
) -> Response:
    """Your own tokens; operators may revoke anyone's.  It stops working at once."""
    actions.revoke_api_token(session, actor=actor, token_id=token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/organizations", response_model=list[OrganizationPublic])
def list_organizations(session: SessionDep) -> list[Organization]:
    return queries.list_organizations(session)


@router.get("/organizations/{slug}", response_model=OrganizationPublic, responses=_errors(404))
def read_organization(
    slug: Annotated[str, Path(max_length=64)], session: SessionDep
) -> Organization:
    organization = queries.get_organization(session, slug)
    if organization is None:
        raise NotFound(
            msg(
                "There is no organization '{slug}'; GET /api/v1/organizations lists them.",
                slug=slug,
            )
        )
    return organization


@router.post(
    "/organizations",
    response_model=OrganizationPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=_csrf,
    responses=_errors(401, 403, 409),
)
def create_organization(
    body: OrganizationCreate, actor: SignedInActor, session: SessionDep
) -> Organization:
    """Operators only."""
    return actions.create_organization(session, actor=actor, **body.model_dump())


@router.patch(
    "/organizations/{slug}",
    response_model=OrganizationPublic,
    dependencies=_csrf,
    responses=_errors(401, 403, 404, 422),
)
def update_organization(
    slug: Annotated[str, Path(max_length=64)],
    body: OrganizationUpdate,
    actor: SignedInActor,
    session: SessionDep,
) -> Organization:
    """Operators only: an organization's names, kind, description and website (audited)."""
    return actions.update_organization(session, actor=actor, slug=slug, **body.model_dump())


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=_csrf,
    responses=_errors(401, 403, 409),
)
def create_user(
    body: UserCreate, actor: SignedInActor, session: SessionDep, settings: SettingsDep
) -> UserPublic:
    """Operators create any user; a steward creates 'member' users of their organization."""
    organization_id = actor.organization_id if actor.role == Role.steward else None
    if body.organization is not None:
        organization = queries.get_organization(session, body.organization)
        if organization is None:
            raise ValidationFailed(
                msg("There is no organization '{organization}'.", organization=body.organization),
                detail=[
                    {
                        "loc": ["body", "organization"],
                        "msg": f"There is no organization {body.organization!r}; "
                        "GET /api/v1/organizations lists them.",
                        "type": "value_error",
                    }
                ],
            )
        organization_id = organization.id
    user = actions.create_user(
        session,
        actor=actor,
        settings=settings,
        username=body.username,
        password=body.password,
        role=body.role,
        organization_id=organization_id,
        display_name=body.display_name,
        email=body.email,
    )
    return _user_public(user)


@router.post(
    "/users/{username}/deactivate",
    response_model=UserPublic,
    dependencies=_csrf,
    responses=_errors(401, 403, 404, 409),
)
def deactivate_user(
    username: Annotated[str, Path(pattern=USERNAME_PATTERN)],
    actor: SignedInActor,
    session: SessionDep,
) -> UserPublic:
    """Operators only: the account's sessions end and its tokens stop working at once."""
    return _user_public(actions.deactivate_user(session, actor=actor, username=username))


@router.post(
    "/users/{username}/reactivate",
    response_model=UserPublic,
    dependencies=_csrf,
    responses=_errors(401, 403, 404, 409),
)
def reactivate_user(
    username: Annotated[str, Path(pattern=USERNAME_PATTERN)],
    actor: SignedInActor,
    session: SessionDep,
) -> UserPublic:
    """Operators only: a deactivated account may sign in again."""
    return _user_public(actions.reactivate_user(session, actor=actor, username=username))


@router.patch(
    "/users/{username}",
    response_model=UserPublic,
    dependencies=_csrf,
    responses=_errors(401, 403, 404, 409, 422),
)
def change_user(
    username: Annotated[str, Path(pattern=USERNAME_PATTERN)],
    body: UserChange,
    actor: SignedInActor,
    session: SessionDep,
) -> UserPublic:
    """Operators only: a user's role and organization (audited with before and after)."""
    user = actions.change_user(
        session,
        actor=actor,
        username=username,
        role=body.role,
        organization_slug=body.organization,
    )
    return _user_public(user)


def _utc(moment: datetime | None) -> datetime | None:
    """A moment without a zone is taken as UTC, the log's own."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@audit_router.get("/audit", response_model=list[AuditEventPublic])
def list_audit_events(
    session: SessionDep,
    actor: SignedInActor,
    dataset: str | None = None,
    action: str | None = None,
    actor_name: Annotated[
        str | None, Query(alias="actor", max_length=64, description="Who acted (username).")
    ] = None,
    since: Annotated[datetime | None, Query(description="Entries at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Entries before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEventPublic]:
    """The entries you may read, newest first, filtered like the audit page."""
    events = queries.list_audit_events(
        session,
        actor=actor,
        dataset=dataset,
        action=action,
        actor_name=actor_name,
        since=_utc(since),
        until=_utc(until),
        limit=limit,
        offset=offset,
    )
    return [AuditEventPublic.model_validate(event) for event in events]


@audit_router.get("/audit/verify", response_model=ChainReportPublic)
def verify_audit_chain(session: SessionDep, actor: SignedInActor) -> ChainReportPublic:
    if not actor.is_operator:
        raise AccessDenied(msg("Only operators may verify the whole audit chain."))
    report = verify_chain(session)
    return ChainReportPublic(
        ok=report.ok,
        checked=report.checked,
        first_broken_seq=report.first_broken_seq,
        reason=report.reason,
    )
