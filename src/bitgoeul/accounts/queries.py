"""Reads for accounts: resolving tokens and session cookies to an Actor."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.config import Settings


def actor_from_token(session: Session, token: str) -> Actor | None:
    return None


def web_session_from_cookie(
    session: Session, cookie: str, *, settings: Settings
) -> tuple[Actor, str] | None:
    return None
