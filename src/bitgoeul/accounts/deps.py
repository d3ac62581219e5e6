"""FastAPI dependencies, declared once as ``Annotated`` aliases.

Who is asking: a bearer token (``Authorization: Bearer bgt_…``) first, then the signed session
cookie a browser got at sign-in, anonymous otherwise.  Form posts from pages carry the session's
CSRF token (``CsrfChecked``); bearer-token requests carry no cookies and need none.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator, Sequence
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied, NotAuthenticated
from bitgoeul.messages import msg
from bitgoeul.storage.base import ObjectStore

SESSION_COOKIE = "bitgoeul_session"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Declared for the OpenAPI document (the "Authorize" button); both are optional here because
# anonymous visitors may read public pages and endpoints.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token (bgt_…) from POST /api/v1/auth/token or POST /api/v1/tokens.",
)
session_cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The browser session set by the sign-in page.",
)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]


def get_actor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(session_cookie_scheme)],
) -> Actor:
    """Bearer token first, then the session cookie; anonymous otherwise.

    A bad bearer token is an error (401 saying why); a bad or stale cookie just means the
    browser is no longer signed in.
    """
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    actor = ANONYMOUS
    if bearer is not None:
        actor = account_actions.use_api_token(session, bearer.credentials.strip())
    elif cookie:
        web = account_queries.web_session_from_cookie(session, cookie, settings=settings)
        if web is not None:
            actor, request.state.csrf_token = web
    request.state.actor = actor
    return actor


def require_signed_in(request: Request, actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    if actor.is_anonymous:
        if request.url.path.startswith("/api/"):
            raise NotAuthenticated(msg("Sign in, or send 'Authorization: Bearer <token>'."))
        raise NotAuthenticated(msg("Sign in to see this page."))
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]
SignedInActor = Annotated[Actor, Depends(require_signed_in)]


def get_csrf_token(request: Request, actor: CurrentActor) -> str | None:
    """The CSRF token pages put in their forms (``<input name="csrf_token">``); None if none."""
    token: str | None = getattr(request.state, "csrf_token", None)
    return token if actor.via == "session" else None


CsrfToken = Annotated[str | None, Depends(get_csrf_token)]


async def check_csrf(request: Request, actor: CurrentActor) -> Actor:
    """Refuse a state-changing request that rides a session cookie without its CSRF token.

    The token comes from the ``X-CSRF-Token`` header or the ``csrf_token`` form field.
    Bearer-token and anonymous requests pass: no cookie lends them anyone's authority.  An
    endpoint that streams its raw body must take the header, since reading the form would
    consume the body.
    """
    if request.method in _SAFE_METHODS or actor.via != "session":
        return actor
    expected: str = request.state.csrf_token
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "").lower()
    if sent is None and content_type.startswith(_FORM_TYPES):
        form = await request.form()  # a malformed body is answered 400 by Starlette
        field = form.get(CSRF_FORM_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent:
        raise AccessDenied(
            msg(
                "This form was sent without its CSRF token (field 'csrf_token' or header "
                "'X-CSRF-Token'); reload the page and submit it again."
            )
        )
    if not secrets.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        raise AccessDenied(
            msg(
                "This form's CSRF token does not match your session; reload the page and "
                "submit it again."
            )
        )
    return actor


CsrfChecked = Annotated[Actor, Depends(check_csrf)]


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(request: Request) -> str:
    """The caller's address, for login throttling and the audit log ('' when unknown).

    The direct peer, unless it is one of ``BITGOEUL_TRUSTED_PROXIES``: then X-Forwarded-For
    is read from the right (the entries a trusted proxy added) to the first address that is
    not itself a trusted proxy.  Anything left of that was written by the client and is
    never believed.
    """
    peer = request.client.host if request.client else ""
    return address_behind_proxies(
        peer,
        request.headers.getlist("x-forwarded-for"),
        trusted_proxies=get_settings(request).trusted_proxy_networks,
    )


def address_behind_proxies(
    peer: str, forwarded_for: Sequence[str], *, trusted_proxies: Sequence[IPNetwork]
) -> str:
    """The client's address, given the direct ``peer`` and the X-Forwarded-For header lines.

    An entry that is not an IP address (``unknown``, garbage, an empty item) ends the walk:
    the answer is then the trusted proxy that passed it on, never something a client chose.
    """
    address = _ip_address(peer)
    if address is None:
        return peer
    if not _is_trusted(address, trusted_proxies):
        return str(address)
    hops = [hop for line in forwarded_for for hop in line.split(",")]
    for hop in reversed(hops):
        forwarded = _ip_address(hop)
        if forwarded is None:
            break
        address = forwarded
        if not _is_trusted(address, trusted_proxies):
            break
    return str(address)


def _ip_address(text: str) -> IPAddress | None:
    """An address as proxies write it: ``203.0.113.7``, ``203.0.113.7:5123``, ``2001:db8::7``
    or ``[2001:db8::7]:5123``; an IPv4 address mapped into IPv6 is read as IPv4."""
    host, port = text.strip(), None
    if host.startswith("["):
        host, bracket, rest = host[1:].partition("]")
        if not bracket or rest[:1] not in ("", ":"):
            return None
        port = rest[1:] if rest else None
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    if port is not None and not (port.isascii() and port.isdigit()):
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, trusted_proxies: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in trusted_proxies)


def set_session_cookie(response: Response, cookie: str, *, settings: Settings) -> None:
    """Give a browser its session after sign-in (HttpOnly, SameSite=Lax, Secure on https)."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )


def clear_session_cookie(response: Response, *, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )
