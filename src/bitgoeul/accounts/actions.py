"""Writes for accounts: organizations, users, sign-in, web sessions and API tokens.

Every function here is one thing a person does.  It checks who may do it, validates, writes,
appends to the audit log and commits, in one transaction.  ``actor=None`` means the hub itself
(the CLI's bootstrap commands and the demo loader), which needs no permission.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bitgoeul.accounts import passwords, queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import (
    AccountAudit,
    ApiToken,
    LoginFailure,
    Organization,
    OrganizationKind,
    Role,
    User,
    WebSession,
)
from bitgoeul.accounts.schemas import (
    EMAIL_PATTERN,
    SLUG_PATTERN,
    SLUG_RULE,
    TOKEN_MAX_DAYS,
    TOKEN_NAME_MAX_LENGTH,
    USERNAME_PATTERN,
    USERNAME_RULE,
)
from bitgoeul.audit.actions import record_event
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import (
    AccessDenied,
    Conflict,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from bitgoeul.messages import Message, joined, msg

API_LOGIN_TOKEN_DAYS = 30
BAD_CREDENTIALS = msg("The username or password is wrong.")
# Writing last_used_at on every request would make each API call a write; once a minute is
# precise enough to tell a live token from a forgotten one.
_TOKEN_USE_RESOLUTION = timedelta(seconds=60)
_SIGN_IN_LOCK_SPACE = 0x6C6F_6769  # "logi"; PostgreSQL's two-key advisory lock space


class _Problems:
    """Collects field problems so one error names all of them, like a 422 from the API."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: str, message: str | Message) -> None:
        self.items.append({"loc": [field], "msg": message, "type": "value_error"})

    def check_text(self, field: str, value: str, *, max_length: int, required: bool) -> None:
        if required and not value.strip():
            self.add(field, msg("{field} must not be empty.", field=field))
        elif len(value) > max_length:
            self.add(
                field,
                msg(
                    "{field} is longer than {max_length} characters.",
                    field=field,
                    max_length=max_length,
                ),
            )

    def raise_if_any(self, what: Message) -> None:
        if self.items:
            summary = joined((item["msg"] for item in self.items), " ")
            raise ValidationFailed(
                msg("Cannot {what}: {summary}", what=what, summary=summary), detail=self.items
            )


def _audit_actor(actor: Actor | None) -> dict[str, Any]:
    if actor is None:
        return {"actor_id": None, "actor_name": "system"}
    return {"actor_id": actor.user_id, "actor_name": actor.username}


def _require_signed_in(actor: Actor, doing: Message) -> int:
    if actor.user_id is None:
        raise NotAuthenticated(msg("Sign in to {doing}.", doing=doing))
    return actor.user_id


# Organizations and users -----------------------------------------------------------------


def create_organization(
    session: Session,
    *,
    slug: str,
    name: str,
    kind: OrganizationKind | str,
    name_ko: str = "",
    description: str = "",
    website: str = "",
    actor: Actor | None = None,
) -> Organization:
    """An operator registers an institution (agency, company, research group or the operator)."""
    if actor is not None:
        _require_signed_in(actor, msg("create an organization"))
        if not actor.is_operator:
            raise AccessDenied(msg("Only operators may create organizations."))
    problems = _Problems()
    if not (2 <= len(slug) <= 64 and re.fullmatch(SLUG_PATTERN, slug)):
        problems.add(
            "slug", msg("slug '{slug}' is not valid: use {rule}.", slug=slug, rule=SLUG_RULE)
        )
    problems.check_text("name", name, max_length=200, required=True)
    problems.check_text("name_ko", name_ko, max_length=200, required=False)
    problems.check_text("website", website, max_length=300, required=False)
    if kind not in set(OrganizationKind):
        choices = ", ".join(OrganizationKind)
        problems.add(
            "kind", msg("kind '{kind}' is not one of: {choices}.", kind=kind, choices=choices)
        )
    problems.raise_if_any(msg("create the organization"))
    if queries.get_organization(session, slug) is not None:
        raise Conflict(
            msg(
                "An organization with slug '{slug}' already exists; choose another slug.", slug=slug
            )
        )

    organization = Organization(
        slug=slug,
        name=name.strip(),
        name_ko=name_ko.strip(),
        kind=OrganizationKind(kind),
        description=description,
        website=website.strip(),
    )
    session.add(organization)
    _flush_or_conflict(
        session,
        msg("An organization with slug '{slug}' already exists; choose another slug.", slug=slug),
    )
    record_event(
        session,
        action=AccountAudit.organization_create,
        **_audit_actor(actor),
        resource_type="organization",
        resource_id=organization.slug,
        organization_id=organization.id,
        detail={"kind": organization.kind.value, "name": organization.name},
    )
    session.commit()
    return organization


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    organization_id: int | None = None,
    display_name: str = "",
    email: str = "",
    actor: Actor | None = None,
    settings: Settings | None = None,
) -> User:
    """An operator (or a steward, for members of their organization) creates an account.

    ``settings`` decides the hash parameters and whether the demo password is allowed; it is
    read from the environment when not given.
    """
    settings = settings or Settings()
    if actor is not None:
        _require_signed_in(actor, msg("create users"))
        if actor.role == Role.steward:
            if role != Role.member or organization_id != actor.organization_id:
                raise AccessDenied(
                    msg("Stewards may create only 'member' users of their own organization.")
                )
        elif not actor.is_operator:
            raise AccessDenied(msg("Only operators and stewards may create users."))

    problems = _Problems()
    if not re.fullmatch(USERNAME_PATTERN, username):
        problems.add(
            "username",
            msg(
                "username '{username}' is not valid: use {rule}.",
                username=username,
                rule=USERNAME_RULE,
            ),
        )
    password_problem = passwords.password_problem(password, settings=settings)
    if password_problem:
        problems.add("password", password_problem)
    if role not in set(Role):
        problems.add(
            "role", msg("role '{role}' is not one of: {roles}.", role=role, roles=", ".join(Role))
        )
    problems.check_text("display_name", display_name, max_length=200, required=False)
    if len(email) > 254 or not re.fullmatch(EMAIL_PATTERN, email):
        problems.add("email", msg("email is not a valid address (name@example.org)."))
    organization = None
    if organization_id is not None:
        organization = session.get(Organization, organization_id)
        if organization is None:
            problems.add(
                "organization",
                msg(
                    "There is no organization with id {organization_id}.",
                    organization_id=organization_id,
                ),
            )
    if role == Role.steward and organization_id is None:
        problems.add("organization", msg("A steward must belong to an organization."))
    if role == Role.citizen and organization_id is not None:
        problems.add("organization", msg("A citizen account does not belong to an organization."))
    problems.raise_if_any(msg("create user '{username}'", username=username))
    if queries.get_user(session, username) is not None:
        raise Conflict(
            msg("The username '{username}' is taken; choose another.", username=username)
        )

    user = User(
        username=username,
        password_hash=passwords.hash_password(password, settings=settings),
        role=Role(role),
        organization_id=organization_id,
        display_name=display_name.strip(),
        email=email.strip(),
    )
    session.add(user)
    _flush_or_conflict(
        session, msg("The username '{username}' is taken; choose another.", username=username)
    )
    record_event(
        session,
        action=AccountAudit.user_create,
        **_audit_actor(actor),
        resource_type="user",
        resource_id=user.username,
        organization_id=organization_id,
        detail={"role": user.role.value, "organization": organization and organization.slug},
    )
    session.commit()
    return user


def _operator_changing(actor: Actor | None, username: str, *, refused: Message) -> None:
    """Only operators change others' accounts, and never their own (so the hub always keeps
    an operator who can undo a mistake)."""
    if actor is None:
        return
    _require_signed_in(actor, msg("manage accounts"))
    if not actor.is_operator:
        raise AccessDenied(refused)
    if actor.username == username:
        raise Conflict(msg("You cannot change your own account here; ask another operator."))


def _existing_user(session: Session, username: str) -> User:
    user = queries.get_user(session, username)
    if user is None:
        raise NotFound(msg("There is no user '{username}'.", username=username))
    return user


def deactivate_user(session: Session, *, actor: Actor | None, username: str) -> User:
    """An operator closes an account: its sessions end and its tokens stop working at once."""
    _operator_changing(actor, username, refused=msg("Only operators may deactivate accounts."))
    user = _existing_user(session, username)
    user.is_active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    record_event(
        session,
        action=AccountAudit.user_deactivate,
        **_audit_actor(actor),
        resource_type="user",
        resource_id=user.username,
        organization_id=user.organization_id,
    )
    session.commit()
    return user


def reactivate_user(session: Session, *, actor: Actor | None, username: str) -> User:
    """An operator opens a closed account again; its owner signs in anew (no session of the
    old one came back), and its unexpired tokens work again."""
    _operator_changing(actor, username, refused=msg("Only operators may reactivate accounts."))
    user = _existing_user(session, username)
    if user.is_active:
        return user
    user.is_active = True
    record_event(
        session,
        action=AccountAudit.user_reactivate,
        **_audit_actor(actor),
        resource_type="user",
        resource_id=user.username,
        organization_id=user.organization_id,
    )
    session.commit()
    return user


def change_user(
    session: Session,
    *,
    actor: Actor | None,
    username: str,
    role: Role | str,
    organization_slug: str | None,
) -> User:
    """An operator changes a user's role or organization (audited with before and after)."""
    _operator_changing(
        actor, username, refused=msg("Only operators may change roles and organizations.")
    )
    user = _existing_user(session, username)
    problems = _Problems()
    if role not in set(Role):
        problems.add(
            "role", msg("role '{role}' is not one of: {roles}.", role=role, roles=", ".join(Role))
        )
    organization = None
    if organization_slug:
        organization = queries.get_organization(session, organization_slug)
        if organization is None:
            problems.add(
                "organization",
                msg("There is no organization '{slug}'.", slug=organization_slug),
            )
    if role == Role.steward and not organization_slug:
        problems.add("organization", msg("A steward must belong to an organization."))
    if role == Role.citizen and organization_slug:
        problems.add("organization", msg("A citizen account does not belong to an organization."))
    if problems.items:
        raise ValidationFailed(
            msg(
                "Cannot change user '{username}': {problems}",
                username=username,
                problems=joined((item["msg"] for item in problems.items), " "),
            ),
            detail=problems.items,
        )
    before = {
        "role": user.role.value,
        "organization": user.organization.slug if user.organization else None,
    }
    user.role = Role(role)
    user.organization_id = organization.id if organization else None
    after = {"role": user.role.value, "organization": organization.slug if organization else None}
    if before == after:
        return user
    session.flush()
    record_event(
        session,
        action=AccountAudit.user_change,
        **_audit_actor(actor),
        resource_type="user",
        resource_id=user.username,
        organization_id=user.organization_id,
        detail={"before": before, "after": after},
    )
    session.commit()
    return user


def update_organization(
    session: Session,
    *,
    actor: Actor | None,
    slug: str,
    name: str,
    kind: OrganizationKind | str,
    name_ko: str = "",
    description: str = "",
    website: str = "",
) -> Organization:
    """An operator corrects an organization's names, kind, description or website (the slug,
    which links and datasets use, stays)."""
    if actor is not None:
        _require_signed_in(actor, msg("edit an organization"))
        if not actor.is_operator:
            raise AccessDenied(msg("Only operators may edit organizations."))
    organization = queries.get_organization(session, slug)
    if organization is None:
        raise NotFound(msg("There is no organization '{slug}'.", slug=slug))
    problems = _Problems()
    problems.check_text("name", name, max_length=200, required=True)
    problems.check_text("name_ko", name_ko, max_length=200, required=False)
    problems.check_text("description", description, max_length=5000, required=False)
    problems.check_text("website", website, max_length=300, required=False)
    if kind not in set(OrganizationKind):
        choices = ", ".join(OrganizationKind)
        problems.add(
            "kind", msg("kind '{kind}' is not one of: {choices}.", kind=kind, choices=choices)
        )
    problems.raise_if_any(msg("edit the organization"))
    changed = {
        field: value
        for field, value in {
            "name": name.strip(),
            "name_ko": name_ko.strip(),
            "kind": OrganizationKind(kind),
            "description": description,
            "website": website.strip(),
        }.items()
        if getattr(organization, field) != value
    }
    if not changed:
        return organization
    for field, value in changed.items():
        setattr(organization, field, value)
    record_event(
        session,
        action=AccountAudit.organization_update,
        **_audit_actor(actor),
        resource_type="organization",
        resource_id=organization.slug,
        organization_id=organization.id,
        detail={"changed": sorted(changed)},
    )
    session.commit()
    return organization


def _flush_or_conflict(session: Session, message: Message) -> None:
    """A concurrent create of the same name loses here rather than with a 500."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(message) from None


# Signing in ------------------------------------------------------------------------------


def authenticate(
    session: Session,
    *,
    settings: Settings,
    username: str,
    password: str,
    client: str = "",
    now: datetime | None = None,
) -> User:
    """Check a username and password, with throttling; every outcome is audited.

    Unknown users and wrong passwords get the same answer in the same time.  While
    ``throttling`` says this address must wait for this account, the attempt is refused with
    ``RateLimited`` before the password is looked at (even the right one); a refusal adds no
    failure.  An address with no recent failure for the account is never refused.  ``now``
    is the clock, for tests.
    """
    name = username.strip().lower()[:64]
    client = client[:64]
    now = now or utcnow()

    # The attempt is written down as a failure before the password is checked, under a lock
    # per account name, so parallel guesses each see the ones before them; the right password
    # takes it back.
    _hold_sign_in_lock(session, name)
    retry_after = queries.login_retry_after(
        session, settings=settings, username=name, client=client, now=now
    )
    if retry_after is not None:
        _audit_login(
            session,
            name,
            None,
            outcome="denied",
            reason="throttled",
            client=client,
            retry_after=retry_after,
        )
        session.commit()
        raise RateLimited(
            msg(
                "Too many failed sign-ins to this account from your address; "
                "try again in {retry_after} seconds.",
                retry_after=retry_after,
            ),
            retry_after=retry_after,
        )
    attempt = LoginFailure(username=name, client=client, at=now)
    session.add(attempt)
    # Failures older than the window no longer count; drop them as new ones arrive.
    window = timedelta(seconds=settings.login_failure_window_seconds)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - window))
    session.commit()

    user = queries.get_user(session, name)
    if user is None:
        passwords.spend_verification_time(password, settings=settings)
        raise _failed_login(session, name, None, reason="unknown user", client=client)
    if not passwords.verify_password(user.password_hash, password, settings=settings):
        raise _failed_login(session, name, user, reason="wrong password", client=client)

    if not user.is_active:
        session.delete(attempt)  # the right password: no guess, though it does not sign in
        _audit_login(session, name, user, outcome="denied", reason="inactive", client=client)
        session.commit()
        raise NotAuthenticated(msg("This account is deactivated; ask an operator to reopen it."))
    if passwords.needs_rehash(user.password_hash, settings=settings):
        user.password_hash = passwords.hash_password(password, settings=settings)
    # This attempt and the address's earlier failures are forgiven; a stranger's elsewhere
    # still count.
    session.execute(
        delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.client == client)
    )
    _audit_login(session, name, user, outcome="ok", reason="", client=client)
    session.commit()
    return user


def _hold_sign_in_lock(session: Session, name: str) -> None:
    """Serialise sign-in checks for one account name until this transaction ends.

    PostgreSQL: a transaction-level advisory lock in the two-key space (which never meets the
    audit log's one-key lock), keyed by a stable hash of the name.  SQLite: its write lock,
    taken by a write that changes no row.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _SIGN_IN_LOCK_SPACE, "key": int.from_bytes(digest[:4], "big", signed=True)},
        )
    elif dialect == "sqlite":
        session.execute(text("UPDATE login_failures SET id = id WHERE id < 0"))


def _failed_login(
    session: Session, name: str, user: User | None, *, reason: str, client: str
) -> NotAuthenticated:
    """Audit one failure (its ``login_failures`` row is already written), commit, and return
    the error to raise."""
    _audit_login(session, name, user, outcome="denied", reason=reason, client=client)
    session.commit()
    return NotAuthenticated(BAD_CREDENTIALS)


def _audit_login(
    session: Session,
    name: str,
    user: User | None,
    *,
    outcome: str,
    reason: str,
    client: str,
    retry_after: int | None = None,
) -> None:
    detail: dict[str, Any] = {"client": client}
    if reason:
        detail["reason"] = reason
    if retry_after is not None:
        detail["retry_after"] = retry_after
    record_event(
        session,
        action=AccountAudit.login,
        outcome=outcome,
        actor_id=user.id if user else None,
        actor_name=name or "anonymous",
        resource_type="user",
        resource_id=name,
        organization_id=user.organization_id if user else None,
        detail=detail,
    )


# Web sessions ----------------------------------------------------------------------------


def start_web_session(session: Session, *, settings: Settings, user: User) -> tuple[str, str]:
    """A browser signs in: returns the signed cookie value and the session's CSRF token."""
    session_id = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.add(
        WebSession(
            session_hash=queries.secret_digest(session_id),
            user_id=user.id,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.session_max_age_seconds),
        )
    )
    session.commit()
    cookie = queries.session_signer(settings).sign(session_id).decode("utf-8")
    return cookie, csrf_token


def end_web_session(session: Session, *, cookie: str) -> None:
    """A browser signs out: its session row is deleted, so the cookie is worthless.

    The signature is not checked: whoever holds a session id may end that session.
    """
    session_id = cookie.rsplit(".", 1)[0]
    found = session.scalar(
        select(WebSession).where(WebSession.session_hash == queries.secret_digest(session_id))
    )
    if found is None:
        return
    user = found.user
    session.delete(found)
    record_event(
        session,
        action=AccountAudit.logout,
        actor_id=user.id,
        actor_name=user.username,
        resource_type="user",
        resource_id=user.username,
        organization_id=user.organization_id,
    )
    session.commit()


# API tokens ------------------------------------------------------------------------------


def create_api_token(
    session: Session, *, actor: Actor, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A signed-in user makes a bearer token; the plaintext is returned once, never stored."""
    user_id = _require_signed_in(actor, msg("create API tokens"))
    problems = _Problems()
    problems.check_text("name", name, max_length=TOKEN_NAME_MAX_LENGTH, required=True)
    if expires_in_days is not None and not 1 <= expires_in_days <= TOKEN_MAX_DAYS:
        problems.add(
            "expires_in_days",
            msg("expires_in_days must be between 1 and {most}.", most=TOKEN_MAX_DAYS),
        )
    problems.raise_if_any(msg("create the API token"))

    plaintext = queries.API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user_id,
        name=name.strip(),
        token_hash=queries.secret_digest(plaintext),
        prefix=plaintext[:12],
        created_at=now,
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        action=AccountAudit.token_create,
        **_audit_actor(actor),
        resource_type="api_token",
        resource_id=token.id,
        organization_id=actor.organization_id,
        detail={"name": token.name, "prefix": token.prefix, "expires_at": token.expires_at},
    )
    session.commit()
    return token, plaintext


def create_login_token(session: Session, *, user: User) -> tuple[ApiToken, str]:
    """``POST /auth/token``: a user who just gave their password gets a 30-day token."""
    stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    return create_api_token(
        session,
        actor=Actor.for_user(user, via="password"),
        name=f"api login {stamp}",
        expires_in_days=API_LOGIN_TOKEN_DAYS,
    )


def revoke_api_token(session: Session, *, actor: Actor, token_id: int) -> ApiToken:
    """The owner (or an operator) revokes a token; it stops working with the next request."""
    user_id = _require_signed_in(actor, msg("revoke API tokens"))
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user_id and not actor.is_operator):
        # Someone else's token is "not found" for you: ids do not reveal other accounts.
        raise NotFound(msg("You have no API token with id {token_id}.", token_id=token_id))
    if token.revoked_at is not None:
        return token
    token.revoked_at = utcnow()
    record_event(
        session,
        action=AccountAudit.token_revoke,
        **_audit_actor(actor),
        resource_type="api_token",
        resource_id=token.id,
        organization_id=token.user.organization_id,
        detail={"name": token.name, "prefix": token.prefix, "owner": token.user.username},
    )
    session.commit()
    return token


def use_api_token(session: Session, token: str) -> Actor:
    """A request arrives with a bearer token: who it stands for, noting when it was used.

    Raises NotAuthenticated, saying why, for unknown, revoked or expired tokens and for tokens
    of deactivated accounts.
    """
    found = queries.find_api_token(session, token)
    if found is None:
        raise NotAuthenticated(
            msg("The bearer token is not recognised; create one with POST /api/v1/auth/token.")
        )
    now = utcnow()
    problem = queries.api_token_problem(found, now=now)
    if problem is not None:
        raise NotAuthenticated(problem)
    if found.last_used_at is None or now - found.last_used_at >= _TOKEN_USE_RESOLUTION:
        found.last_used_at = now
        session.commit()
    return Actor.for_user(found.user, via="token")
