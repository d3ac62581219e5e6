"""Saved queries and query history: each user's own, read and changed only by them.

A saved query is checked when it is saved (it must parse as one SELECT, and its project must be
one the user belongs to) but it is not a grant: running it later goes through the gateway and
the decision point like any other query.  History rows are written by ``actions.run_query`` and
``actions.export_query``; here they are only read.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, Conflict, NotFound
from bitgoeul.governance.queries import get_project, member_role, require_signed_in
from bitgoeul.messages import msg
from bitgoeul.query.models import QueryRun, SavedQuery
from bitgoeul.query.rewrite import parse_query

MAX_HISTORY_PAGE = 200


def _user_id(actor: Actor) -> int:
    require_signed_in(actor)
    assert actor.user_id is not None  # noqa: S101 - require_signed_in guarantees it
    return actor.user_id


def history(session: Session, *, actor: Actor, limit: int = 50, offset: int = 0) -> list[QueryRun]:
    """The actor's own queries and exports, newest first."""
    query = (
        select(QueryRun)
        .where(QueryRun.user_id == _user_id(actor))
        .order_by(QueryRun.id.desc())
        .limit(max(1, min(limit, MAX_HISTORY_PAGE)))
        .offset(max(0, offset))
    )
    return list(session.scalars(query))


def saved_queries(session: Session, *, actor: Actor) -> list[SavedQuery]:
    query = (
        select(SavedQuery).where(SavedQuery.user_id == _user_id(actor)).order_by(SavedQuery.name)
    )
    return list(session.scalars(query))


def get_saved_query(session: Session, *, actor: Actor, saved_id: int) -> SavedQuery:
    """One of the actor's saved queries; someone else's is reported as missing, not forbidden."""
    saved = session.get(SavedQuery, saved_id)
    if saved is None or saved.user_id != _user_id(actor):
        raise NotFound(msg("You have no saved query {id}.", id=saved_id))
    return saved


def _check_project(session: Session, actor: Actor, project_id: int | None) -> None:
    if project_id is None:
        return
    project = get_project(session, project_id)
    if member_role(project, actor) is None:
        raise AccessDenied(
            msg(
                "You are not a member of project {project}; save the query without a project "
                "or ask the project lead to add you.",
                project=project_id,
            )
        )


def save_query(
    session: Session, *, actor: Actor, name: str, sql: str, project_id: int | None = None
) -> SavedQuery:
    """Keep ``sql`` under ``name`` (unique per user); commits."""
    user_id = _user_id(actor)
    parse_query(sql)  # a saved query must at least be one readable SELECT
    _check_project(session, actor, project_id)
    saved = SavedQuery(user_id=user_id, name=name.strip(), sql=sql, project_id=project_id)
    session.add(saved)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            msg(
                "You already have a saved query named {name}; choose another name, or "
                "update or delete that one.",
                name=repr(name.strip()),
            )
        ) from None
    return saved


def update_saved_query(
    session: Session,
    *,
    actor: Actor,
    saved_id: int,
    name: str | None = None,
    sql: str | None = None,
    project_id: int | None = None,
    clear_project: bool = False,
) -> SavedQuery:
    """Change a saved query's name, SQL or project; commits."""
    saved = get_saved_query(session, actor=actor, saved_id=saved_id)
    if sql is not None:
        parse_query(sql)
        saved.sql = sql
    if name is not None:
        saved.name = name.strip()
    if clear_project:
        saved.project_id = None
    elif project_id is not None:
        _check_project(session, actor, project_id)
        saved.project_id = project_id
    saved.updated_at = utcnow()
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            msg("You already have a saved query named {name}.", name=repr(name))
        ) from None
    return saved


def delete_saved_query(session: Session, *, actor: Actor, saved_id: int) -> None:
    session.delete(get_saved_query(session, actor=actor, saved_id=saved_id))
    session.commit()
