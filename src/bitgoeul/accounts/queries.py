"""Reads for accounts: users, organizations, tokens, session cookies and login throttling.

Secrets (API tokens, session ids) are looked up by their SHA-256; the plaintext never reaches
the database.  Writes, including "this token was just used", live in ``actions``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, Signer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import (
    ApiToken,
    LoginFailure,
    Organization,
    Role,
    User,
    WebSession,
)
from bitgoeul.accounts.throttling import LoginDelays, wait_before_sign_in
from bitgoeul.audit.models import AuditEvent
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, NotAuthenticated
from bitgoeul.messages import msg

API_TOKEN_PREFIX = "bgt_"  # noqa: S105 - a public marker, not a secret
_SESSION_SALT = "bitgoeul.web-session"
_LONGEST_TOKEN = 200


def secret_digest(secret: str) -> str:
    """How a token or session id is stored: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def session_signer(settings: Settings) -> Signer:
    return Signer(settings.secret(), salt=_SESSION_SALT, digest_method=hashlib.sha256)


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(
        select(User).options(joinedload(User.organization)).where(User.username == username)
    )


def get_organization(session: Session, slug: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.slug == slug))


def list_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.slug)))


def find_api_token(session: Session, token: str) -> ApiToken | None:
    """The token row for ``token`` in any state (revoked and expired too), with its user."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > _LONGEST_TOKEN:
        return None
    return session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == secret_digest(token))
    )


def api_token_problem(token: ApiToken, *, now: datetime | None = None) -> str | None:
    """Why ``token`` may not be used now (a message for its holder), or None."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return msg("This API token was revoked; create a new one.")
    if token.expires_at is not None and token.expires_at <= now:
        return msg(
            "This API token expired at {expired}; create a new one.",
            expired=token.expires_at.isoformat(timespec="seconds"),
        )
    if not token.user.is_active:
        return msg("The account this API token belongs to is deactivated; ask an operator.")
    return None


def actor_from_token(session: Session, token: str) -> Actor | None:
    """The actor a bearer token stands for, or None when it is unknown, revoked or expired."""
    found = find_api_token(session, token)
    if found is None or api_token_problem(found) is not None:
        return None
    return Actor.for_user(found.user, via="token")


def web_session_from_cookie(
    session: Session, cookie: str, *, settings: Settings
) -> tuple[Actor, str] | None:
    """The signed-in actor and the session's CSRF token, or None for a bad or stale cookie."""
    try:
        session_id = session_signer(settings).unsign(cookie).decode("utf-8")
    except (BadSignature, UnicodeDecodeError):
        return None
    row = session.scalar(
        select(WebSession)
        .options(joinedload(WebSession.user))
        .where(WebSession.session_hash == secret_digest(session_id))
    )
    if row is None or row.expires_at <= utcnow() or not row.user.is_active:
        return None
    return Actor.for_user(row.user, via="session"), row.csrf_token


def list_api_tokens(
    session: Session, *, actor: Actor, username: str | None = None
) -> list[ApiToken]:
    """The actor's own tokens, newest first; operators may ask for another user's."""
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to list your API tokens."))
    owner_id = actor.user_id
    if username is not None and username != actor.username:
        if not actor.is_operator:
            raise AccessDenied(msg("Only operators may list another user's API tokens."))
        owner = get_user(session, username)
        if owner is None:
            return []
        owner_id = owner.id
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == owner_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def login_retry_after(
    session: Session, *, settings: Settings, username: str, client: str, now: datetime
) -> int | None:
    """Seconds before ``client`` may try to sign in as ``username`` again; None if now.

    The schedule is ``throttling``'s; this counts the recent failures it needs.
    """
    delays = LoginDelays.from_settings(settings)
    recent = (LoginFailure.username == username) & (LoginFailure.at > now - delays.window)
    from_address, last_from_address = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(recent, LoginFailure.client == client)
    ).one()
    if not from_address:
        return None
    for_account = session.scalar(select(func.count()).where(recent)) or 0
    return wait_before_sign_in(
        delays,
        failures_from_address=from_address,
        last_failure_from_address=last_from_address,
        failures_for_account=for_account,
        now=now,
    )


USERS_SHOWN = 100


def users_per_organization(session: Session) -> dict[int, int]:
    """How many accounts each organization has (organization id → count)."""
    rows = session.execute(
        select(User.organization_id, func.count())
        .where(User.organization_id.is_not(None))
        .group_by(User.organization_id)
    )
    return {int(org): int(count) for org, count in rows if org is not None}


def list_users(
    session: Session,
    *,
    actor: Actor,
    search: str = "",
    organization: str = "",
    limit: int = USERS_SHOWN,
    offset: int = 0,
) -> list[User]:
    """Operators: accounts by username, matching ``search`` (username, display name or
    e-mail, case-insensitive) and, when named, one organization's."""
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to list accounts."))
    if not actor.is_operator:
        raise AccessDenied(msg("Only operators may list accounts."))
    statement = select(User).options(joinedload(User.organization))
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            func.lower(User.username).like(pattern, escape="\\")
            | func.lower(User.display_name).like(pattern, escape="\\")
            | func.lower(User.email).like(pattern, escape="\\")
        )
    if organization:
        statement = statement.join(Organization, Organization.id == User.organization_id).where(
            Organization.slug == organization
        )
    return list(session.scalars(statement.order_by(User.username).limit(limit).offset(offset)))


@dataclass(frozen=True)
class PersonRecord:
    """What the hub's accounts and audit log hold about one person (their ``/me`` page)."""

    user: User
    sessions: int
    tokens: int
    failed_sign_ins: int
    actions: int
    first_action: datetime | None
    last_action: datetime | None
    action_families: dict[str, int]
    about_them: int


def person_record(session: Session, *, actor: Actor) -> PersonRecord:
    """The signed-in person's own record: account, sign-ins, tokens and audit entries."""
    if actor.user_id is None:
        raise NotAuthenticated(msg("Sign in to see what the hub holds about you."))
    user = session.scalar(
        select(User).options(joinedload(User.organization)).where(User.id == actor.user_id)
    )
    if user is None:
        raise NotAuthenticated(msg("Sign in to see what the hub holds about you."))
    now = utcnow()
    sessions = session.scalar(
        select(func.count())
        .select_from(WebSession)
        .where(WebSession.user_id == user.id, WebSession.expires_at > now)
    )
    tokens = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    failures = session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.username == user.username)
    )
    count, first, last = session.execute(
        select(func.count(), func.min(AuditEvent.at), func.max(AuditEvent.at)).where(
            AuditEvent.actor_id == user.id
        )
    ).one()
    families: dict[str, int] = {}
    for action, n in session.execute(
        select(AuditEvent.action, func.count())
        .where(AuditEvent.actor_id == user.id)
        .group_by(AuditEvent.action)
    ):
        family = action.split(".", 1)[0]
        families[family] = families.get(family, 0) + int(n)
    about = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.resource_type == "user",
            AuditEvent.resource_id == user.username,
            or_(AuditEvent.actor_id.is_(None), AuditEvent.actor_id != user.id),
        )
    )
    return PersonRecord(
        user=user,
        sessions=int(sessions or 0),
        tokens=int(tokens or 0),
        failed_sign_ins=int(failures or 0),
        actions=int(count or 0),
        first_action=first,
        last_action=last,
        action_families=dict(sorted(families.items())),
        about_them=int(about or 0),
    )


def list_audit_events(
    session: Session,
    *,
    actor: Actor,
    dataset: str | None = None,
    action: str | None = None,
    actor_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEvent]:
    """The events ``actor`` may read, newest first.

    Operators read everything; stewards read the events about their organization's data (the
    event's ``organization_id``) and their own; everyone else reads their own events.
    Filters: the dataset (slug), the action or its family (``dataset`` matches
    ``dataset.query_decision``), who acted (username), and ``since <= at < until``.
    """
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to read the audit log."))
    statement = select(AuditEvent)
    if not actor.is_operator:
        own = AuditEvent.actor_id == actor.user_id
        if actor.role == Role.steward and actor.organization_id is not None:
            statement = statement.where(
                or_(AuditEvent.organization_id == actor.organization_id, own)
            )
        else:
            statement = statement.where(own)
    if dataset:
        statement = statement.where(
            AuditEvent.resource_type == "dataset", AuditEvent.resource_id == dataset
        )
    if action:
        statement = statement.where(
            or_(AuditEvent.action == action, AuditEvent.action.startswith(f"{action}."))
        )
    if actor_name:
        statement = statement.where(AuditEvent.actor_name == actor_name)
    if since is not None:
        statement = statement.where(AuditEvent.at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.at < until)
    statement = statement.order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)
    return list(session.scalars(statement))
