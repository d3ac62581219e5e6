"""Notifications: what the platform tells one person, said in the language they read it in.

Every package that notifies (governance, the door's integrity alarm, compute, the testbed)
calls :func:`notify` inside its own transaction, with a :func:`bitgoeul.messages.msg` and a
link to a *page* (never to ``/api/...``).  The row keeps the English text (for the API's older
clients and the log) and the template with its values, so :func:`notification_text` says it
again in the reader's language whenever it is shown.  Opening one and marking all read are
the reader's writes, in ``governance.actions`` (``open_notification``, ``mark_all_read``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.errors import NotAuthenticated
from bitgoeul.governance.models import Notification
from bitgoeul.governance.schemas import NotificationPublic
from bitgoeul.messages import Message, msg, translate

# A nested message inside the stored values: {"$msg": template, "values": {...}}.
_NESTED = "$msg"


def _stored(value: Any) -> Any:
    """A value as JSON keeps it: a nested message keeps its template, anything else its text
    (numbers stay numbers)."""
    if isinstance(value, Message):
        return {_NESTED: value.template, "values": {k: _stored(v) for k, v in value.values.items()}}
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def _loaded(value: Any) -> Any:
    if isinstance(value, dict) and _NESTED in value:
        return stored_message(str(value[_NESTED]), value.get("values") or {})
    return value


def stored_message(template: str, values: Mapping[str, Any]) -> Message:
    """The message a notification row stored, values (and nested messages) restored."""
    return Message(template, {name: _loaded(value) for name, value in values.items()})


def notify(
    session: Session, user_ids: Iterable[int], *, kind: str, text: Message, link: str
) -> None:
    """Tell each user ``text`` (a ``msg``), linking to the page where it is handled; added to
    the caller's transaction."""
    if link.startswith("/api/"):
        raise ValueError(f"a notification links to a page, not to the API: {link}")
    for user_id in sorted(set(user_ids)):
        session.add(
            Notification(
                user_id=user_id,
                kind=kind,
                text=str(text),
                template=text.template,
                template_values={name: _stored(v) for name, v in text.values.items()},
                link=link,
            )
        )


def notification_text(notification: Notification, lang: str) -> str:
    """The notification in ``lang``; rows written before templates were kept stay English."""
    if not notification.template:
        return notification.text
    return translate(
        stored_message(notification.template, notification.template_values or {}), lang
    )


def _public(notification: Notification, lang: str) -> NotificationPublic:
    return NotificationPublic(
        id=notification.id,
        kind=notification.kind,
        text=notification_text(notification, lang),
        link=notification.link,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


def list_notifications(
    session: Session, *, actor: Actor, lang: str = "en", unread_only: bool = False
) -> list[NotificationPublic]:
    """The actor's latest 200 notifications, newest first, in ``lang``."""
    if actor.user_id is None:
        raise NotAuthenticated(msg("Sign in to read your notifications."))
    query = select(Notification).where(Notification.user_id == actor.user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(200))
    return [_public(n, lang) for n in rows]


def total_count(session: Session, *, user_id: int) -> int:
    """How many notifications the user has, read or not."""
    count = session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == user_id)
    )
    return int(count or 0)


def unread_count(session: Session, *, user_id: int) -> int:
    """How many of the user's notifications are unread (the count in the page header)."""
    count = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)
