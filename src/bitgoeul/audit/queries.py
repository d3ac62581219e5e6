"""Reading and verifying the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.audit.actions import GENESIS_HASH, canonical_payload, chain_hash
from bitgoeul.audit.models import AuditEvent
from bitgoeul.errors import NotAuthenticated
from bitgoeul.messages import msg


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the log in order; name the first entry whose link or content does not hold."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(
                    False, checked, expected_seq, msg("entry {seq} is missing", seq=expected_seq)
                )
            if event.prev_hash != prev_hash:
                return ChainReport(
                    False, checked, event.seq, msg("its link to the previous entry is broken")
                )
            payload = canonical_payload(
                seq=event.seq,
                at=event.at,
                actor_id=event.actor_id,
                actor_name=event.actor_name,
                action=event.action,
                outcome=event.outcome,
                resource_type=event.resource_type,
                resource_id=event.resource_id,
                organization_id=event.organization_id,
                detail=event.detail,
            )
            if chain_hash(prev_hash, payload) != event.hash:
                return ChainReport(False, checked, event.seq, msg("its content was changed"))
            prev_hash = event.hash
            expected_seq += 1
            checked += 1
            last_seq = event.seq


def list_events(
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
