"""FastAPI dependencies, declared once as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.config import Settings
from bitgoeul.errors import NotAuthenticated
from bitgoeul.storage.base import ObjectStore

SESSION_COOKIE = "bitgoeul_session"


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


def get_actor(request: Request, session: SessionDep, settings: SettingsDep) -> Actor:
    """Bearer token first, then the session cookie; anonymous otherwise."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    actor = ANONYMOUS
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = account_queries.actor_from_token(session, header[7:].strip())
        if found is None:
            raise NotAuthenticated("The bearer token is invalid, expired or revoked.")
        actor = found
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            web = account_queries.web_session_from_cookie(session, cookie, settings=settings)
            if web is not None:
                actor, request.state.csrf_token = web
    request.state.actor = actor
    return actor


def require_signed_in(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    if actor.is_anonymous:
        raise NotAuthenticated("Sign in, or send 'Authorization: Bearer <token>'.")
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]
SignedInActor = Annotated[Actor, Depends(require_signed_in)]
