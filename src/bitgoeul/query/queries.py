"""Reading the query package's own tables: each user's query history and saved queries, read
only by their owner.  History rows are written by ``actions.run_query`` and
``actions.export_query``; saved queries by ``actions.save_query`` and its siblings.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.errors import NotFound
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.query.models import QueryRun, SavedQuery

MAX_HISTORY_PAGE = 200


def user_id_of(actor: Actor) -> int:
    require_signed_in(actor)
    assert actor.user_id is not None  # noqa: S101 - require_signed_in guarantees it
    return actor.user_id


def history(session: Session, *, actor: Actor, limit: int = 50, offset: int = 0) -> list[QueryRun]:
    """The actor's own queries and exports, newest first."""
    query = (
        select(QueryRun)
        .where(QueryRun.user_id == user_id_of(actor))
        .order_by(QueryRun.id.desc())
        .limit(max(1, min(limit, MAX_HISTORY_PAGE)))
        .offset(max(0, offset))
    )
    return list(session.scalars(query))


def saved_queries(session: Session, *, actor: Actor) -> list[SavedQuery]:
    query = (
        select(SavedQuery).where(SavedQuery.user_id == user_id_of(actor)).order_by(SavedQuery.name)
    )
    return list(session.scalars(query))


def get_saved_query(session: Session, *, actor: Actor, saved_id: int) -> SavedQuery:
    """One of the actor's saved queries; someone else's is reported as missing, not forbidden."""
    saved = session.get(SavedQuery, saved_id)
    if saved is None or saved.user_id != user_id_of(actor):
        raise NotFound(msg("You have no saved query {id}.", id=saved_id))
    return saved
