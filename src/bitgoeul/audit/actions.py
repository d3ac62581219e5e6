"""Append to the hash-chained audit log.  The only code that writes ``audit_events``.

Each event's hash covers the previous event's hash and this event's canonical JSON, so an
edited, deleted or reordered entry breaks the chain at that point (``bitgoeul audit verify``).
Appends are serialised: on PostgreSQL by a transaction-level advisory lock; on SQLite by taking
the database's write lock (a no-op write) before the chain head is read, so two writers never
read the same head.  Both locks last until the transaction ends, so a transaction's further
appends reuse the head it wrote.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bitgoeul.audit.models import AuditAction, AuditEvent
from bitgoeul.db.base import utcnow

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x6269_7467  # "bitg"
# session.info key: (the transaction that last appended, its seq, its hash).  The lock is held
# until that transaction ends, so its next append needs neither the lock nor the head again.
_HEAD = "bitgoeul.audit.head"


def canonical_payload(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    action: str,
    outcome: str,
    resource_type: str,
    resource_id: str,
    organization_id: int | None,
    detail: dict[str, Any],
) -> str:
    return json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_name": actor_name,
            "action": action,
            "outcome": outcome,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "organization_id": organization_id,
            "detail": detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def record_event(
    session: Session,
    *,
    action: AuditAction,
    actor_id: int | None = None,
    actor_name: str = "anonymous",
    outcome: str = "ok",
    resource_type: str = "",
    resource_id: str | int = "",
    organization_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (committed with the change it records)."""
    transaction = session.get_transaction()
    held = session.info.get(_HEAD)
    if held is not None and transaction is not None and held[0] is transaction:
        # This transaction appended already: it holds the lock, and the head is its own.
        last_seq, last_hash = held[1], held[2]
    else:
        last_seq, last_hash = _lock_and_read_head(session)
    seq = last_seq + 1
    prev_hash = last_hash
    at = utcnow()
    clean_detail = json.loads(json.dumps(detail or {}, default=str, ensure_ascii=False))
    payload = canonical_payload(
        seq=seq,
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=str(resource_id),
        organization_id=organization_id,
        detail=clean_detail,
    )
    event = AuditEvent(
        seq=seq,
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=str(resource_id),
        organization_id=organization_id,
        detail=clean_detail,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, payload),
    )
    session.add(event)
    session.flush()
    session.info[_HEAD] = (session.get_transaction(), seq, event.hash)
    return event


def _lock_and_read_head(session: Session) -> tuple[int, str]:
    """Take the appenders' lock for the rest of the transaction; the chain's head."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement makes SQLite take its RESERVED lock (waiting out busy_timeout),
        # held until this transaction ends; it changes no row.
        session.execute(text("UPDATE audit_events SET seq = seq WHERE id < 0"))
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if last is None else (last.seq, last.hash)
